//! How a handler's failure is reported to Lambda: a stable `errorType` that says whether a
//! retry can help, so alarms and on-failure queues can tell the two apart.

/// `Retryable.<kind>` when the same event may succeed later, `Permanent.<kind>` otherwise.
pub fn error_type(retryable: bool, kind: &str) -> String {
    let class = if retryable { "Retryable" } else { "Permanent" };
    format!("{class}.{kind}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_class_and_kind() {
        assert_eq!(super::error_type(true, "Store"), "Retryable.Store");
        assert_eq!(
            super::error_type(false, "BadPayload"),
            "Permanent.BadPayload"
        );
    }
}
