//! A one-page PDF report of an Arkiter Live interview, for attaching to the
//! candidate's profile in Lever: the role, the score, the recommendation,
//! the summary, the link to the full results and when the interview was
//! completed, under the title "Arkiter Live interview report".
//!
//! [`render`] makes the file; [`text_of`] reads its text back, for tests and
//! for checking a file before it is sent.
//!
//! What the file guarantees:
//! - **One page**, A4, whatever the input: a summary too long for it is cut
//!   at a word, ends in "…", and is followed by a line
//!   `Full summary: <results link>`; the other fields are capped at a few
//!   lines each.
//! - **Byte-stable**: the same [`Report`] gives the same bytes — no creation
//!   date, no document ID, fixed object numbers, nothing from the clock or
//!   a random source.
//! - **No personal data beyond the inputs**: the page shows the fields of
//!   [`Report`] and fixed labels, nothing else. [`Report`] deliberately has
//!   no field for the candidate's name or email, so neither can end up in
//!   the file; a caller must not put them in the other fields either.
//! - **Small and self-contained**: the standard Helvetica fonts (not
//!   embedded) in WinAnsiEncoding, where characters the encoding lacks show
//!   as `?`; the content stream is not compressed. A typical report is
//!   about 2 KB.
//!
//! ```
//! let report = results_pdf::Report {
//!     role: "Senior Backend Engineer",
//!     score: Some(82.0),
//!     recommendation: Some("Hire"),
//!     summary: Some("Clear reasoning about trade-offs; strong on databases."),
//!     results_url: "/results/7f3c",
//!     completed_at: "2025-03-04T10:15:00Z",
//! };
//! let pdf = results_pdf::render(&report);
//! assert!(pdf.starts_with(b"%PDF-"));
//! assert!(results_pdf::text_of(&pdf).contains("Score: 82/100"));
//! ```

mod layout;
mod read;
mod winansi;
mod write;

/// What the report shows. Every field is shown as given (after the encoding
/// replaces characters it lacks); there is intentionally no field for the
/// candidate's name or email.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report<'a> {
    /// The job the interview was for, e.g. "Senior Backend Engineer".
    pub role: &'a str,
    /// Out of 100; shown with at most one decimal, or "not given" when
    /// `None` (or not a finite number).
    pub score: Option<f64>,
    /// The interviewer's recommendation, e.g. "Hire"; "not given" when `None`.
    pub recommendation: Option<&'a str>,
    /// Free text; each line of it is a paragraph. Cut to fit the page.
    pub summary: Option<&'a str>,
    /// Where the full results are; shown in full (up to a few lines) and
    /// clickable.
    pub results_url: &'a str,
    /// When the interview was completed, already formatted (e.g. RFC 3339
    /// in UTC): shown as given.
    pub completed_at: &'a str,
}

/// The report as a complete one-page PDF file. The same `report` always
/// gives the same bytes.
pub fn render(report: &Report) -> Vec<u8> {
    let lines = layout::lay_out(report);
    write::pdf(&lines, report.results_url.trim())
}

/// The text shown on the page of a file made by [`render`], one line of
/// output per line of text on the page (a label and its value on the same
/// line; the blank line between paragraphs is left out).
///
/// It reads this crate's own output only: the uncompressed content stream
/// and its text-showing operators (`Tj`, `TJ`, `'`, `"`) with their literal
/// and hex strings, decoded from WinAnsiEncoding. It is no general PDF text
/// extractor; other files give partial or empty text (never a panic).
pub fn text_of(pdf: &[u8]) -> String {
    read::text_of(pdf)
}
