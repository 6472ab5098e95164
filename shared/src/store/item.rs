//! Small helpers for building and reading DynamoDB items, shared by every adapter.
//! Keys follow one convention in both tables: string `pk` and `sk`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The key `{pk, sk}`.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

/// A string attribute's value, if present and a string.
pub fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// A number attribute's value as an integer, if present and whole.
pub fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_builds() {
        let mut item = key("A#1", "B");
        item.insert("count".into(), n(7));
        assert_eq!(text(&item, "pk"), Some("A#1"));
        assert_eq!(number(&item, "count"), Some(7));
        assert_eq!(number(&item, "pk"), None);
        assert_eq!(text(&item, "missing"), None);
    }
}
