//! What an incident-widget invocation returns: the text the dashboard shows.

use serde::Serialize;

/// HTML for the list or a popup, or the Markdown documentation the console asks for with
/// `describe`. Lambda returns it as a JSON string, which is what a custom widget expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Shown(pub String);
