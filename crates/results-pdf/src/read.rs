//! Reading the text back out of a report, for tests and for checks by the
//! service: a deliberately small reader that understands this crate's own
//! output only — uncompressed content streams, literal and hex strings,
//! and the text operators `render` writes — not PDF files in general.

use crate::winansi::decode_byte;

/// The text of every content stream in `pdf`, one output line per line on
/// the page. Bytes that are not such a file give an empty or partial
/// string, never a panic.
pub(crate) fn text_of(pdf: &[u8]) -> String {
    let mut text = TextSink::default();
    for stream in streams(pdf) {
        read_content(stream, &mut text);
    }
    text.out
}

/// The data of each stream, found by the `/Length` of the dictionary in
/// front of it (the writer stores lengths directly, not as references).
fn streams(pdf: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    let mut rest = pdf;
    while let Some(at) = find(rest, b"/Length ") {
        rest = &rest[at + b"/Length ".len()..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let length: Option<usize> = std::str::from_utf8(&rest[..digits])
            .ok()
            .and_then(|d| d.parse().ok());
        let Some(start) = find(rest, b"stream").map(|s| s + b"stream".len()) else {
            break;
        };
        // The keyword is followed by CRLF or LF, then the data.
        let start = match rest.get(start..) {
            Some([b'\r', b'\n', ..]) => start + 2,
            Some([b'\n', ..]) => start + 1,
            _ => start,
        };
        if let Some(data) = length.and_then(|n| rest.get(start..start.checked_add(n)?)) {
            found.push(data);
            rest = &rest[start + data.len()..];
        }
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The text collected so far, and whether the next shown string starts a
/// new line (after a text-positioning operator).
#[derive(Default)]
struct TextSink {
    out: String,
    new_line: bool,
}

impl TextSink {
    fn show(&mut self, bytes: &[u8]) {
        if self.new_line && !self.out.is_empty() {
            self.out.push('\n');
        }
        self.new_line = false;
        self.out.extend(bytes.iter().map(|&b| decode_byte(b)));
    }
}

/// One token of a content stream that matters here.
enum Token<'a> {
    String(Vec<u8>),
    ArrayStart,
    ArrayEnd,
    Operator(&'a [u8]),
    /// A number or a name: an operand whose value the reader ignores.
    Other,
}

/// Runs the content stream's operators, showing the strings of `Tj`, `TJ`,
/// `'` and `"`; the positioning operators only mark where lines break.
fn read_content(content: &[u8], text: &mut TextSink) {
    let mut operands: Vec<Vec<u8>> = Vec::new();
    let mut in_array = false;
    let mut array: Vec<u8> = Vec::new();
    let mut pos = 0;
    while let Some(token) = next_token(content, &mut pos) {
        match token {
            Token::String(s) if in_array => array.extend(s),
            Token::String(s) => operands.push(s),
            Token::ArrayStart => {
                in_array = true;
                array.clear();
            }
            Token::ArrayEnd => {
                in_array = false;
                operands.push(std::mem::take(&mut array));
            }
            Token::Operator(op) => {
                run_operator(op, operands.last(), text);
                operands.clear();
            }
            Token::Other => {}
        }
    }
}

fn run_operator(op: &[u8], last_string: Option<&Vec<u8>>, text: &mut TextSink) {
    match op {
        b"Tj" | b"TJ" => text.show(last_string.map_or(&[][..], |s| s)),
        b"'" | b"\"" => {
            text.new_line = true;
            text.show(last_string.map_or(&[][..], |s| s));
        }
        b"BT" | b"Td" | b"TD" | b"Tm" | b"T*" => text.new_line = true,
        _ => {}
    }
}

/// The token starting at or after `pos`, moving `pos` past it.
fn next_token<'a>(content: &'a [u8], pos: &mut usize) -> Option<Token<'a>> {
    skip_space_and_comments(content, pos);
    let first = *content.get(*pos)?;
    Some(match first {
        b'(' => Token::String(literal_string(content, pos)),
        b'<' if content.get(*pos + 1) == Some(&b'<') => {
            *pos += 2;
            Token::Other
        }
        b'<' => Token::String(hex_string(content, pos)),
        b'[' => {
            *pos += 1;
            Token::ArrayStart
        }
        b']' => {
            *pos += 1;
            Token::ArrayEnd
        }
        _ => regular(content, pos),
    })
}

fn skip_space_and_comments(content: &[u8], pos: &mut usize) {
    while let Some(&b) = content.get(*pos) {
        if b == b'%' {
            while content.get(*pos).is_some_and(|&c| c != b'\n' && c != b'\r') {
                *pos += 1;
            }
        } else if is_space(b) {
            *pos += 1;
        } else {
            break;
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'\0')
}

fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

/// A run of regular characters: an operator, or a number or name operand.
fn regular<'a>(content: &'a [u8], pos: &mut usize) -> Token<'a> {
    let start = *pos;
    // A name's leading slash is part of it.
    *pos += 1;
    while content
        .get(*pos)
        .is_some_and(|&b| !is_space(b) && !is_delimiter(b))
    {
        *pos += 1;
    }
    let word = &content[start..*pos];
    match word.first() {
        Some(b'/' | b'+' | b'-' | b'.' | b'0'..=b'9') => Token::Other,
        Some(b')' | b'>' | b'{' | b'}') => Token::Other,
        _ => Token::Operator(word),
    }
}

/// A `(…)` string with its escapes resolved; `pos` is on the `(`.
fn literal_string(content: &[u8], pos: &mut usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    while let Some(&b) = content.get(*pos) {
        *pos += 1;
        match b {
            b'(' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            b'\\' => {
                escape(content, pos, &mut out);
                continue;
            }
            _ => {}
        }
        out.push(b);
    }
    out
}

/// The escape after a backslash in a literal string; `pos` is just after
/// the backslash.
fn escape(content: &[u8], pos: &mut usize, out: &mut Vec<u8>) {
    let Some(&b) = content.get(*pos) else {
        return;
    };
    *pos += 1;
    match b {
        b'n' => out.push(b'\n'),
        b'r' => out.push(b'\r'),
        b't' => out.push(b'\t'),
        b'b' => out.push(0x08),
        b'f' => out.push(0x0c),
        b'0'..=b'7' => out.push(octal(content, pos, b)),
        // A backslash before a line break continues the string.
        b'\r' => {
            if content.get(*pos) == Some(&b'\n') {
                *pos += 1;
            }
        }
        b'\n' => {}
        // `\(`, `\)`, `\\`, and any other character stands for itself.
        _ => out.push(b),
    }
}

/// Up to three octal digits, the first already read.
fn octal(content: &[u8], pos: &mut usize, first: u8) -> u8 {
    let mut value = u32::from(first - b'0');
    for _ in 0..2 {
        match content.get(*pos) {
            Some(&d @ b'0'..=b'7') => {
                value = value * 8 + u32::from(d - b'0');
                *pos += 1;
            }
            _ => break,
        }
    }
    // High-order overflow is ignored, as the PDF specification says.
    (value & 0xFF) as u8
}

/// A `<…>` string of hex digits; `pos` is on the `<`.
fn hex_string(content: &[u8], pos: &mut usize) -> Vec<u8> {
    *pos += 1;
    let mut digits = Vec::new();
    while let Some(&b) = content.get(*pos) {
        *pos += 1;
        if b == b'>' {
            break;
        }
        if let Some(d) = char::from(b).to_digit(16) {
            digits.push(d as u8);
        }
    }
    // An odd last digit is followed by an implied 0.
    digits
        .chunks(2)
        .map(|pair| pair[0] << 4 | pair.get(1).copied().unwrap_or(0))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn text(content: &[u8]) -> String {
        let mut sink = TextSink::default();
        read_content(content, &mut sink);
        sink.out
    }

    #[test]
    fn reads_the_text_operators() {
        let content = b"BT /F1 11 Tf 1 0 0 1 56 700 Tm (Hello) Tj ( world) Tj\n\
            56 -15 Td [(A) -20 (B)] TJ (next) ' 1 2 (quoted) \" ET";
        assert_eq!(text(content), "Hello world\nAB\nnext\nquoted");
    }

    #[test]
    fn resolves_string_escapes() {
        assert_eq!(text(br"BT (a\(b\)c\\d) Tj ET"), r"a(b)c\d");
        assert_eq!(
            text(b"BT (nested (balanced) parens) Tj ET"),
            "nested (balanced) parens"
        );
        assert_eq!(text(br"BT (caf\351 \205 \101\0612) Tj ET"), "café … A12");
        assert_eq!(text(b"BT <636166E9> Tj <41 4> Tj ET"), "caféA@");
    }

    #[test]
    fn garbage_does_not_panic() {
        for bytes in [
            &b"(((("[..],
            b"\\",
            b"<zz",
            b"] ] [",
            b"/Length 99999 stream\n",
        ] {
            let _ = text(bytes);
            let _ = text_of(bytes);
        }
    }
}
