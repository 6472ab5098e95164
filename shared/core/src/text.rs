//! Cutting text to a size without splitting a character: the one place that walks back to a
//! char boundary, for every bound on a log line, a sample, a title or a fuzzed input.

/// The longest prefix of `s` that is at most `max` bytes and ends on a char boundary.
pub fn prefix_within(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    &s[..s.floor_char_boundary(max)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn never_splits_a_character() {
        assert_eq!(prefix_within("héllo", 2), "h");
        assert_eq!(prefix_within("héllo", 3), "hé");
        assert_eq!(prefix_within("abc", 10), "abc");
    }

    proptest! {
        #[test]
        fn is_a_prefix_within_the_bound(s in ".{0,40}", max in 0usize..60) {
            let p = prefix_within(&s, max);
            prop_assert!(p.len() <= max || p == s);
            prop_assert!(s.starts_with(p));
        }
    }
}
