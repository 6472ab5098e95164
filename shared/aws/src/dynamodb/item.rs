//! Small helpers for building and reading DynamoDB items, shared by every adapter.
//! Keys follow one convention in both tables: string `pk` and `sk`.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use apptrack_core::clock::Timestamp;
use apptrack_core::store::StoreError;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// What a number attribute may hold: integers and floats. A `Timestamp` is not one (its
/// `Display` is RFC 3339, which DynamoDB would refuse as N): write it with [`millis`].
pub trait Number: std::fmt::Display {}
impl Number for i32 {}
impl Number for i64 {}
impl Number for u32 {}
impl Number for u64 {}
impl Number for usize {}
impl Number for i128 {}
impl Number for f64 {}

/// A number attribute.
pub fn n(v: impl Number) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A time as a number attribute of epoch milliseconds.
pub fn millis(t: Timestamp) -> AttributeValue {
    n(t.as_millis())
}

/// A number attribute of epoch milliseconds read as a time.
pub fn time(item: &Item, name: &str) -> Option<Timestamp> {
    number(item, name).map(Timestamp::from_millis)
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

/// Expression attribute names and values, collected while an expression is written: either
/// with placeholders the caller chooses (`name_as`, `value_as`) or numbered ones (`name`,
/// `value`, which return the placeholder to splice in). One style per expression.
#[derive(Debug, Default)]
pub struct Expr {
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub fn name_as(&mut self, placeholder: &str, attr: &str) -> &mut Self {
        self.names.insert(placeholder.into(), attr.into());
        self
    }

    pub fn value_as(&mut self, placeholder: &str, v: AttributeValue) -> &mut Self {
        self.values.insert(placeholder.into(), v);
        self
    }

    /// A numbered placeholder (`#n0`, `#n1`, ...) for `attr`.
    pub fn name(&mut self, attr: &str) -> String {
        let p = format!("#n{}", self.names.len());
        self.names.insert(p.clone(), attr.to_owned());
        p
    }

    /// A numbered placeholder (`:v0`, `:v1`, ...) for `v`.
    pub fn value(&mut self, v: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), v);
        p
    }

    /// The update of `key` in `table` as a transaction item (also usable on its own); a failed
    /// condition reports the item as it was.
    pub fn update(
        &self,
        table: &str,
        key: Item,
        update: &str,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let u = Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_string))
            // DynamoDB rejects empty maps: leave them out.
            .set_expression_attribute_names((!self.names.is_empty()).then(|| self.names.clone()))
            .set_expression_attribute_values((!self.values.is_empty()).then(|| self.values.clone()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(u).build())
    }
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

    #[test]
    fn numbered_placeholders_are_distinct() {
        let mut e = Expr::default();
        let (a, b) = (e.name("count"), e.name("rev"));
        let v = e.value(n(1));
        assert_eq!((a.as_str(), b.as_str(), v.as_str()), ("#n0", "#n1", ":v0"));
        let w = e
            .update("t", key("p", "s"), &format!("SET {a} = {v}"), None)
            .unwrap();
        let u = w.update.unwrap();
        assert_eq!(u.expression_attribute_names.unwrap().len(), 2);
        assert!(u.condition_expression.is_none());
    }
}
