//! Text Postgres cannot hold. `text` and `jsonb` both refuse the NUL character
//! (U+0000), so a NUL anywhere in a request would otherwise surface as a
//! database error (a 500). Requests are checked for it at the edge instead:
//! JSON bodies, webhook bodies, paths and query strings.

use serde_json::Value;

/// Why a value is refused, for error messages.
pub const NUL_REASON: &str = "holds a NUL character (\\u0000), which cannot be stored";

/// Whether JSON text holds a NUL: escaped (`\u0000`) in a string or a key, or
/// raw (which no valid JSON has). An escaped backslash (`\\u0000`) is text,
/// not a NUL, so escapes are walked one by one.
pub fn json_has_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            0 => return true,
            b'\\' => {
                if json.get(i + 1) == Some(&b'u') && json.get(i + 2..i + 6) == Some(b"0000") {
                    return true;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

/// Where the first NUL in a parsed JSON value is: `name`, `ats_jobs[2]`,
/// `stage.name`, or `(key) x` for an object key.
pub fn nul_path(value: &Value) -> Option<String> {
    find(value, String::new())
}

fn find(value: &Value, at: String) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(display(at)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find(v, format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if k.contains('\0') {
                return Some(format!("a key in {}", display(at.clone())));
            }
            find(v, here)
        }),
        _ => None,
    }
}

fn display(at: String) -> String {
    if at.is_empty() { "the body".into() } else { at }
}

/// Whether a percent-encoded URL part decodes to text with a NUL (`%00`).
pub fn url_part_has_nul(part: &str) -> bool {
    part.as_bytes().windows(3).any(|w| w == b"%00") || part.contains('\0')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_escaped_nuls_only() {
        assert!(json_has_nul(br#"{"a":"x\u0000y"}"#));
        assert!(json_has_nul(br#"{"a\u0000":1}"#));
        assert!(json_has_nul(br#"{"a":"\\\u0000"}"#));
        assert!(!json_has_nul(br#"{"a":"\\u0000"}"#));
        assert!(!json_has_nul(br#"{"a":"\u0001 \n \"u0000"}"#));
        assert!(!json_has_nul(b"{}"));
    }

    #[test]
    fn names_the_field() {
        let v: Value = serde_json::from_str(r#"{"a":{"b":["x","y\u0000"]}}"#).unwrap();
        assert_eq!(nul_path(&v).as_deref(), Some("a.b[1]"));
        let v: Value = serde_json::from_str(r#""\u0000""#).unwrap();
        assert_eq!(nul_path(&v).as_deref(), Some("the body"));
        assert_eq!(nul_path(&serde_json::json!({"a": ["b"]})), None);
    }

    #[test]
    fn url_parts() {
        assert!(url_part_has_nul("opportunity_id=%00"));
        assert!(!url_part_has_nul("a=%2500"));
    }
}
