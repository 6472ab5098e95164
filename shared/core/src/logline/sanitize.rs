//! Makes a log sample safe to store and display in an incident: control characters escaped, size capped.
//! Samples end up in DynamoDB, terminals and chat messages, where raw control bytes do harm.

const ELLIPSIS: &str = "…";

/// Escapes control characters (`\n`, `\t`, `\r`, others as `\u{..}`) and bidi overrides,
/// and caps the result at `max_len` bytes (ellipsis included) on a char boundary.
pub fn sanitize_sample(s: &str, max_len: usize) -> String {
    let budget = max_len.saturating_sub(ELLIPSIS.len());
    let mut out = String::with_capacity(s.len().min(max_len));
    // Last length at which the ellipsis would still fit, always on a piece boundary
    // so an escape sequence is never cut in half.
    let mut cut = 0;
    let mut escape = String::new();
    let mut utf8 = [0u8; 4];
    for c in s.chars() {
        let piece: &str = match c {
            '\n' => "\\n",
            '\t' => "\\t",
            '\r' => "\\r",
            // Bidi overrides are not control characters, but they let a sample display
            // differently from what it contains.
            c if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                use std::fmt::Write as _;
                escape.clear();
                let _ = write!(escape, "\\u{{{:x}}}", c as u32);
                &escape
            }
            c => c.encode_utf8(&mut utf8),
        };
        if out.len() + piece.len() > max_len {
            out.truncate(cut);
            if out.len() + ELLIPSIS.len() <= max_len {
                out.push_str(ELLIPSIS);
            }
            return out;
        }
        out.push_str(piece);
        if out.len() <= budget {
            cut = out.len();
        }
    }
    out
}
