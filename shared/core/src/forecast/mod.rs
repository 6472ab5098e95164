//! Capacity forecast: when a tagged alarm's metric will reach the alarm's threshold, and what
//! to do about it ahead of time.

pub mod model;
mod stats;

#[cfg(test)]
mod proptests;
