//! The text encoding and font metrics of the page: WinAnsiEncoding (the
//! PDF's name for Windows-1252) and the advance widths of the two standard
//! fonts the report uses, Helvetica and Helvetica-Bold.
//!
//! The standard fonts are not embedded (every PDF reader has them), so the
//! file stays a few kilobytes; the price is that a page can only show the
//! 218 characters of WinAnsiEncoding, and anything else becomes `?`. The
//! widths are Adobe's published metrics for these fonts (the same numbers
//! every reader lays the glyphs out with), needed here only to wrap lines.

/// The byte that stands for a character the encoding has no code for.
pub(crate) const REPLACEMENT: u8 = b'?';

/// The characters of codes 0x80 to 0x9F, where Windows-1252 departs from
/// Latin-1; `None` marks the five codes it leaves undefined. Every other
/// code from 0x20 up is the Unicode scalar of the same value.
const HIGH: [Option<char>; 32] = [
    Some('\u{20AC}'), // Euro
    None,
    Some('\u{201A}'), // quotesinglbase
    Some('\u{0192}'), // florin
    Some('\u{201E}'), // quotedblbase
    Some('\u{2026}'), // ellipsis
    Some('\u{2020}'), // dagger
    Some('\u{2021}'), // daggerdbl
    Some('\u{02C6}'), // circumflex
    Some('\u{2030}'), // perthousand
    Some('\u{0160}'), // Scaron
    Some('\u{2039}'), // guilsinglleft
    Some('\u{0152}'), // OE
    None,
    Some('\u{017D}'), // Zcaron
    None,
    None,
    Some('\u{2018}'), // quoteleft
    Some('\u{2019}'), // quoteright
    Some('\u{201C}'), // quotedblleft
    Some('\u{201D}'), // quotedblright
    Some('\u{2022}'), // bullet
    Some('\u{2013}'), // endash
    Some('\u{2014}'), // emdash
    Some('\u{02DC}'), // tilde
    Some('\u{2122}'), // trademark
    Some('\u{0161}'), // scaron
    Some('\u{203A}'), // guilsinglright
    Some('\u{0153}'), // oe
    None,
    Some('\u{017E}'), // zcaron
    Some('\u{0178}'), // Ydieresis
];

/// The WinAnsi code of the horizontal ellipsis, which ends a cut summary.
pub(crate) const ELLIPSIS: u8 = 0x85;

/// One of the two fonts on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Font {
    Regular,
    Bold,
}

impl Font {
    /// The resource name the content stream selects the font by.
    pub(crate) fn resource_name(self) -> &'static [u8] {
        match self {
            Font::Regular => b"F1",
            Font::Bold => b"F2",
        }
    }

    /// The PostScript name of the standard font.
    pub(crate) fn base_font(self) -> &'static [u8] {
        match self {
            Font::Regular => b"Helvetica",
            Font::Bold => b"Helvetica-Bold",
        }
    }

    /// The width of `text` set in this font at `size` points.
    pub(crate) fn width(self, text: &[u8], size: f32) -> f32 {
        let units: u32 = text.iter().map(|&b| u32::from(self.glyph_width(b))).sum();
        // Font units are thousandths of the font size.
        units as f32 * size / 1000.0
    }

    /// The advance width of one code in thousandths of the font size; codes
    /// the encoding leaves undefined (never written) count as zero.
    fn glyph_width(self, code: u8) -> u16 {
        let table = match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        };
        code.checked_sub(0x20)
            .and_then(|i| table.get(usize::from(i)))
            .copied()
            .unwrap_or(0)
    }
}

/// The WinAnsi code of `c`, or `None` when the encoding has none. Control
/// characters have none either: the page only shows printable text.
pub(crate) fn encode_char(c: char) -> Option<u8> {
    let scalar = u32::from(c);
    match scalar {
        0x20..=0x7E | 0xA0..=0xFF => u8::try_from(scalar).ok(),
        _ => HIGH
            .iter()
            .position(|&h| h == Some(c))
            .and_then(|i| u8::try_from(0x80 + i).ok()),
    }
}

/// One line of input as WinAnsi bytes: runs of whitespace (tabs and line
/// breaks included) become one space, the ends are trimmed, and every other
/// character the encoding lacks becomes `?`.
pub(crate) fn encode_line(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend(word.chars().map(|c| encode_char(c).unwrap_or(REPLACEMENT)));
    }
    out
}

/// The character a WinAnsi code stands for; U+FFFD for the undefined ones.
pub(crate) fn decode_byte(code: u8) -> char {
    match code {
        0x80..=0x9F => HIGH
            .get(usize::from(code - 0x80))
            .copied()
            .flatten()
            .unwrap_or('\u{FFFD}'),
        _ => char::from(code),
    }
}

// Advance widths of codes 0x20 to 0xFF (index = code - 0x20) in
// thousandths of the font size, from the fonts' Adobe AFM metrics; 0 for
// the codes WinAnsiEncoding leaves undefined.
#[rustfmt::skip]
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,  // 0x20
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,  // 0x30
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,  // 0x40
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,  // 0x50
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,  // 0x60
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0,  // 0x70
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,  // 0x80
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667,  // 0x90
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,  // 0xA0
    400, 584, 333, 333, 333, 578, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,  // 0xB0
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,  // 0xC0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,  // 0xD0
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,  // 0xE0
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,  // 0xF0
];
// The same for Helvetica-Bold.
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,  // 0x20
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,  // 0x30
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,  // 0x40
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,  // 0x50
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,  // 0x60
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0,  // 0x70
    556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,  // 0x80
    0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667,  // 0x90
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,  // 0xA0
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,  // 0xB0
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,  // 0xC0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,  // 0xD0
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,  // 0xE0
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,  // 0xF0
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_defined_code_round_trips() {
        for code in 0x20..=0xFFu8 {
            let c = decode_byte(code);
            if c == '\u{FFFD}' || code == 0x7F {
                continue;
            }
            assert_eq!(encode_char(c), Some(code), "code {code:#x}");
        }
    }

    #[test]
    fn characters_outside_the_encoding_become_question_marks() {
        assert_eq!(encode_line("Zoë 😀 日本 €5"), b"Zo\xEB ? ?? \x805".to_vec());
        assert_eq!(encode_line("  a\tb\n\nc  "), b"a b c".to_vec());
        assert_eq!(encode_line("a\u{7}b"), b"a?b".to_vec());
    }

    #[test]
    fn widths_match_the_helvetica_metrics() {
        assert_eq!(Font::Regular.width(b"W", 1000.0), 944.0);
        assert_eq!(Font::Regular.width(b"il", 10.0), 4.44);
        assert_eq!(Font::Bold.width(b"a", 1000.0), 556.0);
        assert_eq!(Font::Regular.width(&[ELLIPSIS], 1000.0), 1000.0);
    }
}
