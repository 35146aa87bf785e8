//! A strict reader of `multipart/form-data` bodies (RFC 7578 over RFC
//! 2046's framing), for file uploads: the boundary from the request's
//! `Content-Type`, then each part's headers (its `Content-Disposition`
//! name and filename, its `Content-Type`) and its bytes, borrowed from the
//! body. A body that does not frame exactly (no opening or closing
//! delimiter, a part without its blank line) is an error, not a guess.

/// Why a body is not the `multipart/form-data` it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MultipartError {
    #[error("Content-Type must be multipart/form-data")]
    NotMultipart,
    #[error("the multipart/form-data Content-Type has no valid boundary")]
    NoBoundary,
    #[error("the body does not start with the multipart boundary")]
    NoOpening,
    #[error("the multipart body is not closed by its final boundary")]
    NotClosed,
    #[error("a multipart delimiter is not followed by a line break")]
    BadDelimiter,
    #[error("a multipart part has no blank line after its headers")]
    NoHeaderEnd,
    #[error("a multipart part header is not `Name: value`")]
    BadHeader,
    #[error("a multipart part has no form-data Content-Disposition with a name")]
    NoDisposition,
}

/// One part of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part<'a> {
    /// The form field name (`Content-Disposition: form-data; name=...`).
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub body: &'a [u8],
}

/// The boundary of a `multipart/form-data` Content-Type header value.
pub(crate) fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let mut pieces = split_params(content_type).into_iter();
    let media = pieces.next().unwrap_or_default();
    if !media.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::NotMultipart);
    }
    let found = pieces
        .filter_map(|p| param(&p))
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .ok_or(MultipartError::NoBoundary)?;
    // RFC 2046: 1 to 70 characters, not ending in a space.
    if found.is_empty() || found.len() > 70 || found.ends_with(' ') {
        return Err(MultipartError::NoBoundary);
    }
    Ok(found)
}

/// The parts of `body`, framed by `boundary`, in order.
pub(crate) fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, MultipartError> {
    let dash = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    // The preamble (usually empty) ends at the first delimiter, which
    // starts the body or a line.
    let mut at = if body.starts_with(dash.as_bytes()) {
        dash.len()
    } else {
        find(body, delimiter.as_bytes(), 0).ok_or(MultipartError::NoOpening)? + delimiter.len()
    };
    let mut parts = Vec::new();
    loop {
        let rest = body.get(at..).unwrap_or_default();
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        at += line_break_after_delimiter(rest)?;
        let next = find(body, delimiter.as_bytes(), at).ok_or(MultipartError::NotClosed)?;
        let (headers, content) = split_part(body.get(at..next).unwrap_or_default())?;
        parts.push(part(headers, content)?);
        at = next + delimiter.len();
    }
}

/// A part's header block and its content, split at the blank line (a part
/// with no headers starts with it).
fn split_part(section: &[u8]) -> Result<(&[u8], &[u8]), MultipartError> {
    if let Some(content) = section.strip_prefix(b"\r\n") {
        return Ok((&[], content));
    }
    let end = find(section, b"\r\n\r\n", 0).ok_or(MultipartError::NoHeaderEnd)?;
    Ok((
        section.get(..end).unwrap_or_default(),
        section.get(end + 4..).unwrap_or_default(),
    ))
}

/// The length of the transport padding and CRLF that end a delimiter line.
fn line_break_after_delimiter(rest: &[u8]) -> Result<usize, MultipartError> {
    let padding = rest
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count();
    if rest.get(padding..).unwrap_or_default().starts_with(b"\r\n") {
        Ok(padding + 2)
    } else if rest.len() <= padding {
        Err(MultipartError::NotClosed)
    } else {
        Err(MultipartError::BadDelimiter)
    }
}

fn part<'a>(headers: &[u8], body: &'a [u8]) -> Result<Part<'a>, MultipartError> {
    let text = std::str::from_utf8(headers).map_err(|_| MultipartError::BadHeader)?;
    let mut disposition = None;
    let mut content_type = None;
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':').ok_or(MultipartError::BadHeader)?;
        if name.eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value.trim().to_owned());
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned());
        }
    }
    let disposition = disposition.ok_or(MultipartError::NoDisposition)?;
    let mut pieces = split_params(&disposition).into_iter();
    if !pieces
        .next()
        .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("form-data"))
    {
        return Err(MultipartError::NoDisposition);
    }
    let params: Vec<(String, String)> = pieces.filter_map(|p| param(&p)).collect();
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    let name = get("name").ok_or(MultipartError::NoDisposition)?;
    // RFC 5987's `filename*=UTF-8''...` wins over a plain `filename`.
    let filename = get("filename*")
        .and_then(|v| extended_value(&v))
        .or_else(|| get("filename"));
    Ok(Part {
        name,
        filename,
        content_type,
        body,
    })
}

/// Splits a header value at the `;`s outside quoted strings.
fn split_params(value: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                pieces.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = pieces.last_mut() {
            last.push(c);
        }
    }
    pieces
}

/// `key=value` or `key="quoted \" value"`, unquoted.
fn param(piece: &str) -> Option<(String, String)> {
    let (key, value) = piece.split_once('=')?;
    let value = value.trim();
    let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => unescape(inner),
        None => value.to_owned(),
    };
    Some((key.trim().to_owned(), value))
}

fn unescape(quoted: &str) -> String {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            _ => out.push(c),
        }
    }
    out
}

/// An RFC 5987 value in UTF-8: `UTF-8'lang'percent-encoded`.
fn extended_value(value: &str) -> Option<String> {
    let (charset, rest) = value.split_once('\'')?;
    let (_, encoded) = rest.split_once('\'')?;
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    let bytes: Vec<u8> =
        url::form_urlencoded::parse(format!("x={}", encoded.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned().into_bytes())?;
    String::from_utf8(bytes).ok()
}

/// The first index of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn body(parts: &[&str]) -> Vec<u8> {
        let mut out = String::new();
        for p in parts {
            out.push_str("--XyZ\r\n");
            out.push_str(p);
            out.push_str("\r\n");
        }
        out.push_str("--XyZ--\r\n");
        out.into_bytes()
    }

    #[test]
    fn the_boundary_comes_from_the_content_type() {
        assert_eq!(boundary(CT), Ok("XyZ".to_owned()));
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b;c\""),
            Ok("a b;c".to_owned())
        );
        assert_eq!(
            boundary("application/json"),
            Err(MultipartError::NotMultipart)
        );
        assert_eq!(
            boundary("multipart/mixed; boundary=x"),
            Err(MultipartError::NotMultipart)
        );
        assert_eq!(
            boundary("multipart/form-data"),
            Err(MultipartError::NoBoundary)
        );
        assert_eq!(
            boundary("multipart/form-data; boundary="),
            Err(MultipartError::NoBoundary)
        );
        let long = format!("multipart/form-data; boundary={}", "a".repeat(71));
        assert_eq!(boundary(&long), Err(MultipartError::NoBoundary));
    }

    #[test]
    fn a_file_part_and_a_field() {
        let raw = body(&[
            "Content-Disposition: form-data; name=\"file\"; filename=\"result.pdf\"\r\n\
             Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\nbinary\r\n--not-the-boundary",
            "content-disposition: form-data; name=note\r\n\r\nhello",
        ]);
        let parts = parse(&raw, "XyZ").expect("parses");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "file");
        assert_eq!(parts[0].filename.as_deref(), Some("result.pdf"));
        assert_eq!(parts[0].content_type.as_deref(), Some("application/pdf"));
        assert_eq!(parts[0].body, b"%PDF-1.4\r\nbinary\r\n--not-the-boundary");
        assert_eq!(parts[1].name, "note");
        assert_eq!(parts[1].filename, None);
        assert_eq!(parts[1].content_type, None);
        assert_eq!(parts[1].body, b"hello");
    }

    #[test]
    fn binary_content_is_kept_byte_for_byte() {
        let content: Vec<u8> = (0..=255u8).chain([b'\r', b'\n', b'-', b'-']).collect();
        let mut raw = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            .to_vec();
        raw.extend_from_slice(&content);
        raw.extend_from_slice(b"\r\n--XyZ--");
        let parts = parse(&raw, "XyZ").expect("parses");
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].body, content.as_slice());
    }

    #[test]
    fn an_empty_part_and_transport_padding() {
        let raw = b"--XyZ  \r\nContent-Disposition: form-data; name=\"file\"; filename=\"e.txt\"\r\n\r\n\r\n--XyZ--";
        let parts = parse(raw, "XyZ").expect("parses");
        assert_eq!(parts[0].body, b"");
        assert_eq!(parts[0].filename.as_deref(), Some("e.txt"));
    }

    #[test]
    fn quoted_and_extended_filenames() {
        let raw = body(&[
            "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\"; c.pdf\"\r\n\r\nx",
            "Content-Disposition: form-data; name=\"f2\"; filename=\"plain.pdf\"; \
             filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\r\ny",
        ]);
        let parts = parse(&raw, "XyZ").expect("parses");
        assert_eq!(parts[0].filename.as_deref(), Some("a \"b\"; c.pdf"));
        assert_eq!(parts[1].filename.as_deref(), Some("résumé.pdf"));
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let disposition = "Content-Disposition: form-data; name=\"file\"";
        assert_eq!(parse(b"", "XyZ"), Err(MultipartError::NoOpening));
        assert_eq!(
            parse(b"no boundary here", "XyZ"),
            Err(MultipartError::NoOpening)
        );
        let unclosed = format!("--XyZ\r\n{disposition}\r\n\r\ndata");
        assert_eq!(
            parse(unclosed.as_bytes(), "XyZ"),
            Err(MultipartError::NotClosed)
        );
        assert_eq!(parse(b"--XyZ", "XyZ"), Err(MultipartError::NotClosed));
        let glued = format!("--XyZx\r\n{disposition}\r\n\r\ndata\r\n--XyZ--");
        assert_eq!(
            parse(glued.as_bytes(), "XyZ"),
            Err(MultipartError::BadDelimiter)
        );
        let no_blank = format!("--XyZ\r\n{disposition}\r\n--XyZ--");
        assert_eq!(
            parse(no_blank.as_bytes(), "XyZ"),
            Err(MultipartError::NoHeaderEnd)
        );
        let bad_header = "--XyZ\r\nnot a header\r\n\r\nx\r\n--XyZ--";
        assert_eq!(
            parse(bad_header.as_bytes(), "XyZ"),
            Err(MultipartError::BadHeader)
        );
        let no_name = "--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--";
        assert_eq!(
            parse(no_name.as_bytes(), "XyZ"),
            Err(MultipartError::NoDisposition)
        );
        let attachment =
            "--XyZ\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\nx\r\n--XyZ--";
        assert_eq!(
            parse(attachment.as_bytes(), "XyZ"),
            Err(MultipartError::NoDisposition)
        );
        let headerless = "--XyZ\r\n\r\nx\r\n--XyZ--";
        assert_eq!(
            parse(headerless.as_bytes(), "XyZ"),
            Err(MultipartError::NoDisposition)
        );
    }

    #[test]
    fn no_parts_at_all() {
        assert_eq!(parse(b"--XyZ--\r\n", "XyZ"), Ok(Vec::new()));
    }
}
