//! Views of incidents for people: the dashboard widget's HTML, the CLI's sparklines and the
//! weekly HTML report. Pure rendering over incidents read elsewhere; nothing here does I/O.
//!
//! Every text that comes from an incident (titles, services, evidence, timeline details) is
//! escaped by `html::escape` before it reaches a page; the pages load nothing from the
//! network (inline CSS and SVG only), so they render the same offline and in the console.

pub mod board;
pub mod html;
pub mod report;
pub mod request;
pub mod series;

pub use board::{BoardOptions, render_board, render_detail};
pub use report::{ReportRange, render_report};
pub use request::{WidgetRequest, WidgetRequestError};
pub use series::{Glyphs, Series, sparkline};
