//! Where every piece of text goes on the page: the report's fields turned
//! into lines that fit the text width, with a vertical budget that keeps the
//! whole report on one page. Only the summary may be long; it gets the space
//! the other lines leave and is cut at a word when it needs more.

use crate::Report;
use crate::winansi::{ELLIPSIS, Font, encode_line};

/// A4 portrait, in points.
pub(crate) const PAGE_WIDTH: f32 = 595.0;
pub(crate) const PAGE_HEIGHT: f32 = 842.0;
/// The left edge of every line; the right margin is the same.
pub(crate) const MARGIN_LEFT: f32 = 56.0;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_LEFT;
/// The baseline of the title.
pub(crate) const FIRST_BASELINE: f32 = PAGE_HEIGHT - 72.0;
/// No baseline goes below this, so descenders stay inside the margin.
pub(crate) const LOWEST_BASELINE: f32 = 56.0;

const TITLE: &str = "Arkiter Live interview report";
const TITLE_SIZE: f32 = 18.0;
pub(crate) const BODY_SIZE: f32 = 11.0;
/// The distance between two baselines of body text.
const LEADING: f32 = 15.0;
/// From the title's baseline to the first field's.
const AFTER_TITLE: f32 = 30.0;
/// Before a new block (the summary, the link): a line and a bit.
const BLOCK_GAP: f32 = LEADING + 8.0;

/// How many lines a field other than the summary may take. Nothing but the
/// summary is expected to wrap at all; the caps only keep absurd input from
/// pushing the page past its bottom.
const SHORT_FIELD_LINES: usize = 3;
const LINK_LINES: usize = 4;
const DATE_LINES: usize = 2;

/// What a field shows when it was not given.
const NOT_GIVEN: &str = "not given";

/// A piece of one line in one font.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Span {
    pub(crate) font: Font,
    pub(crate) text: Vec<u8>,
}

/// One line of the page. `text` is WinAnsi-encoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    /// How far below the previous baseline this one sits (for the first
    /// line, below [`FIRST_BASELINE`]).
    pub(crate) advance: f32,
    pub(crate) size: f32,
    pub(crate) spans: Vec<Span>,
    /// Whether the last span is (part of) the results link, so the writer
    /// can make it clickable.
    pub(crate) is_link: bool,
}

/// The whole page, top to bottom.
pub(crate) fn lay_out(report: &Report) -> Vec<Line> {
    let mut head = vec![title()];
    head.extend(field("Role", report.role, SHORT_FIELD_LINES, AFTER_TITLE));
    head.extend(field("Score", &score_text(report.score), 1, LEADING));
    let recommendation = report.recommendation.unwrap_or(NOT_GIVEN);
    head.extend(field(
        "Recommendation",
        recommendation,
        SHORT_FIELD_LINES,
        LEADING,
    ));

    let mut tail = link_field("Results", report.results_url, BLOCK_GAP);
    tail.extend(field("Completed", report.completed_at, DATE_LINES, LEADING));

    let summary = summary_block(report, lines_height(&head) + lines_height(&tail));
    head.extend(summary);
    head.extend(tail);
    head
}

/// "82/100", "82.5/100", or "not given" (also for a NaN or infinite score,
/// which no scorer means to send).
fn score_text(score: Option<f64>) -> String {
    match score {
        Some(s) if s.is_finite() => {
            // One decimal at most; `+ 0.0` turns a rounded -0 into 0.
            let rounded = (s * 10.0).round() / 10.0 + 0.0;
            if rounded.fract() == 0.0 {
                format!("{rounded:.0}/100")
            } else {
                format!("{rounded:.1}/100")
            }
        }
        _ => NOT_GIVEN.to_owned(),
    }
}

fn title() -> Line {
    Line {
        advance: 0.0,
        size: TITLE_SIZE,
        spans: vec![Span {
            font: Font::Bold,
            text: encode_line(TITLE),
        }],
        is_link: false,
    }
}

/// A bold "label: " followed by its value, wrapped under the label's line and
/// cut to `max_lines`. An empty value shows as "not given".
fn field(label: &str, value: &str, max_lines: usize, advance: f32) -> Vec<Line> {
    let mut value = encode_line(value);
    if value.is_empty() {
        value = encode_line(NOT_GIVEN);
    }
    let label = [encode_line(label).as_slice(), b": "].concat();
    let first_width = TEXT_WIDTH - Font::Bold.width(&label, BODY_SIZE);
    let mut rows = wrap(&value, first_width);
    cut(&mut rows, max_lines, first_width);
    rows.into_iter()
        .enumerate()
        .map(|(i, text)| match i {
            0 => field_line(Some(&label), text, advance),
            _ => field_line(None, text, LEADING),
        })
        .collect()
}

/// One line of a field: the bold label on the first, the value after it.
fn field_line(label: Option<&[u8]>, value: Vec<u8>, advance: f32) -> Line {
    let label = label.map(|text| Span {
        font: Font::Bold,
        text: text.to_vec(),
    });
    let value = Span {
        font: Font::Regular,
        text: value,
    };
    Line {
        advance,
        size: BODY_SIZE,
        spans: label.into_iter().chain([value]).collect(),
        is_link: false,
    }
}

/// A field whose value is the results link: the same, marked clickable.
fn link_field(label: &str, url: &str, advance: f32) -> Vec<Line> {
    let mut lines = field(label, url, LINK_LINES, advance);
    if !url.trim().is_empty() {
        for line in &mut lines {
            line.is_link = true;
        }
    }
    lines
}

/// The summary's heading and paragraphs, given how much height the rest of
/// the page takes. When the text needs more lines than are left it is cut at
/// a word, ends in an ellipsis, and a `Full summary: <link>` line follows.
fn summary_block(report: &Report, used: f32) -> Vec<Line> {
    let text = match report.summary.map(paragraph_rows) {
        Some(rows) if !rows.is_empty() => rows,
        _ => return field("Summary", NOT_GIVEN, 1, BLOCK_GAP),
    };
    let mut lines = vec![heading("Summary", BLOCK_GAP)];
    let room = FIRST_BASELINE - LOWEST_BASELINE - used - lines_height(&lines);
    let fits = (room / LEADING).floor().max(0.0) as usize;
    if text.len() <= fits {
        lines.extend(body_lines(text));
        return lines;
    }
    let pointer = link_field("Full summary", report.results_url, LEADING);
    let keep = fits.saturating_sub(pointer.len()).max(1);
    let mut text = text;
    cut(&mut text, keep, TEXT_WIDTH);
    lines.extend(body_lines(text));
    lines.extend(pointer);
    lines
}

fn heading(text: &str, advance: f32) -> Line {
    Line {
        advance,
        size: BODY_SIZE,
        spans: vec![Span {
            font: Font::Bold,
            text: encode_line(text),
        }],
        is_link: false,
    }
}

fn body_lines(rows: Vec<Vec<u8>>) -> impl Iterator<Item = Line> {
    rows.into_iter().map(|text| Line {
        advance: LEADING,
        size: BODY_SIZE,
        spans: vec![Span {
            font: Font::Regular,
            text,
        }],
        is_link: false,
    })
}

/// The summary as wrapped rows: each input line is a paragraph, and a run of
/// blank input lines becomes one empty row between paragraphs.
fn paragraph_rows(summary: &str) -> Vec<Vec<u8>> {
    let mut rows: Vec<Vec<u8>> = Vec::new();
    let mut blank_pending = false;
    for paragraph in summary.lines().map(encode_line) {
        if paragraph.is_empty() {
            blank_pending = !rows.is_empty();
            continue;
        }
        if blank_pending {
            rows.push(Vec::new());
            blank_pending = false;
        }
        rows.extend(wrap(&paragraph, TEXT_WIDTH));
    }
    rows
}

fn lines_height(lines: &[Line]) -> f32 {
    lines.iter().map(|l| l.advance).sum()
}

/// Greedy wrapping of one paragraph in the regular body font: the first row
/// is `first_width` wide, the others the full text width. A word wider than
/// a row is broken between characters (a long link has no spaces).
fn wrap(text: &[u8], first_width: f32) -> Vec<Vec<u8>> {
    let mut rows = Vec::new();
    let mut row: Vec<u8> = Vec::new();
    for word in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let limit = if rows.is_empty() {
            first_width
        } else {
            TEXT_WIDTH
        };
        let candidate = if row.is_empty() {
            word.to_vec()
        } else {
            [row.as_slice(), b" ", word].concat()
        };
        if body_width(&candidate) <= limit {
            row = candidate;
            continue;
        }
        if !row.is_empty() {
            rows.push(std::mem::take(&mut row));
        }
        row = break_long_word(word, &mut rows, first_width);
    }
    if !row.is_empty() || rows.is_empty() {
        rows.push(row);
    }
    rows
}

/// Puts the full rows of a word too wide for one row into `rows` and
/// returns what is left of it, to start the next row.
fn break_long_word(word: &[u8], rows: &mut Vec<Vec<u8>>, first_width: f32) -> Vec<u8> {
    let mut row = Vec::new();
    for &byte in word {
        let limit = if rows.is_empty() {
            first_width
        } else {
            TEXT_WIDTH
        };
        row.push(byte);
        if row.len() > 1 && body_width(&row) > limit {
            row.pop();
            rows.push(std::mem::replace(&mut row, vec![byte]));
        }
    }
    row
}

/// Keeps at most `max` rows; when some are dropped, the last kept one loses
/// words until an ellipsis fits after it. `first_width` is the width of the
/// first row (narrower when a label precedes it).
fn cut(rows: &mut Vec<Vec<u8>>, max: usize, first_width: f32) {
    if rows.len() <= max {
        return;
    }
    rows.truncate(max.max(1));
    // Don't end on the blank row between two paragraphs.
    while rows.len() > 1 && rows.last().is_some_and(|r| r.is_empty()) {
        rows.pop();
    }
    let limit = if rows.len() == 1 {
        first_width
    } else {
        TEXT_WIDTH
    };
    if let Some(last) = rows.last_mut() {
        end_with_ellipsis(last, limit);
    }
}

/// Drops trailing words (or, in a row that is one broken word, characters)
/// until the row and an ellipsis fit in `limit`, then appends the ellipsis.
fn end_with_ellipsis(row: &mut Vec<u8>, limit: f32) {
    loop {
        let with = [row.as_slice(), &[ELLIPSIS]].concat();
        if row.is_empty() || body_width(&with) <= limit {
            break;
        }
        match row.iter().rposition(|&b| b == b' ') {
            Some(space) => row.truncate(space),
            None => {
                row.pop();
            }
        }
    }
    row.push(ELLIPSIS);
}

fn body_width(text: &[u8]) -> f32 {
    Font::Regular.width(text, BODY_SIZE)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn report(summary: Option<&str>) -> Report<'_> {
        Report {
            role: "Backend Engineer",
            score: Some(82.0),
            recommendation: Some("Hire"),
            summary,
            results_url: "https://example.invalid/results/1",
            completed_at: "2025-01-02T03:04:05Z",
        }
    }

    fn lowest_baseline(lines: &[Line]) -> f32 {
        FIRST_BASELINE - lines_height(lines)
    }

    #[test]
    fn scores_print_as_out_of_100() {
        assert_eq!(score_text(Some(82.0)), "82/100");
        assert_eq!(score_text(Some(82.46)), "82.5/100");
        assert_eq!(score_text(Some(-0.01)), "0/100");
        assert_eq!(score_text(None), "not given");
        assert_eq!(score_text(Some(f64::NAN)), "not given");
    }

    #[test]
    fn rows_fit_the_text_width() {
        let text = encode_line(&"lorem ipsum dolor ".repeat(100));
        let rows = wrap(&text, TEXT_WIDTH);
        assert!(rows.len() > 5);
        assert!(rows.iter().all(|r| body_width(r) <= TEXT_WIDTH));
        // Words are kept whole: every row starts and ends with one.
        assert!(
            rows.iter()
                .all(|r| r.first() != Some(&b' ') && r.last() != Some(&b' '))
        );
    }

    #[test]
    fn a_long_word_is_broken_between_characters() {
        let word = vec![b'x'; 500];
        let rows = wrap(&word, 100.0);
        assert!(body_width(&rows[0]) <= 100.0);
        assert!(rows[1..].iter().all(|r| body_width(r) <= TEXT_WIDTH));
        assert_eq!(rows.concat(), word);
    }

    #[test]
    fn a_cut_ends_on_a_whole_word_and_an_ellipsis() {
        let mut rows = wrap(&encode_line(&"abc defgh ".repeat(300)), TEXT_WIDTH);
        cut(&mut rows, 3, TEXT_WIDTH);
        assert_eq!(rows.len(), 3);
        let last = rows.last().unwrap();
        assert_eq!(last.last(), Some(&ELLIPSIS));
        let before = &last[last.len() - 4..last.len() - 1];
        assert!(before == b"abc" || before == b"fgh", "{before:?}");
        assert!(body_width(last) <= TEXT_WIDTH);
    }

    #[test]
    fn any_summary_stays_on_the_page() {
        for words in [0, 10, 400, 450, 500, 5000] {
            let summary = "word ".repeat(words);
            let lines = lay_out(&report(Some(&summary)));
            assert!(lowest_baseline(&lines) >= LOWEST_BASELINE, "{words} words");
        }
    }

    #[test]
    fn absurd_fields_stay_on_the_page() {
        let long = "x".repeat(20_000);
        let words = "y ".repeat(20_000);
        let r = Report {
            role: &long,
            score: Some(1e300),
            recommendation: Some(&words),
            summary: Some(&words),
            results_url: &long,
            completed_at: &long,
        };
        let lines = lay_out(&r);
        assert!(lowest_baseline(&lines) >= LOWEST_BASELINE);
        for line in &lines {
            let width: f32 = line
                .spans
                .iter()
                .map(|s| s.font.width(&s.text, line.size))
                .sum();
            assert!(width <= TEXT_WIDTH + 0.01, "{width}");
        }
    }

    #[test]
    fn blank_lines_separate_paragraphs_once() {
        let rows = paragraph_rows("\n\nOne.\n\n\n\nTwo.\r\nThree.\n\n");
        assert_eq!(
            rows,
            vec![
                b"One.".to_vec(),
                vec![],
                b"Two.".to_vec(),
                b"Three.".to_vec()
            ]
        );
    }
}
