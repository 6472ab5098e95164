//! incident-widget: the CloudWatch dashboard's custom widget. The dashboard calls it with the
//! widget's parameters; it answers HTML: the incidents being worked on, newest first, or one
//! incident's details. Read-only: it queries the incidents table's status index and gets items.
//!
//! One file per role: `settings`, `error`, `outcome`, the `handler` (decode, read, render with
//! `core::view`) and the production `wiring`.

mod error;
pub mod handler;
mod outcome;
mod settings;
mod wiring;

pub use wiring::Deployed;

#[cfg(test)]
mod tests;
