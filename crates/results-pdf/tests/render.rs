//! The report as a caller sees it: rendered, then read back with `text_of`
//! and checked at the byte level for the guarantees the crate makes.
#![allow(clippy::unwrap_used)]

use results_pdf::{Report, render, text_of};

const URL: &str = "https://arkiter.example/results/7f3c9a";

fn typical() -> Report<'static> {
    Report {
        role: "Senior Backend Engineer",
        score: Some(82.0),
        recommendation: Some("Hire"),
        summary: Some(
            "Clear reasoning about trade-offs and a strong grasp of databases. \
             Explained indexing, isolation levels and when to denormalise, \
             with examples from production work.\n\n\
             Could go deeper on observability.",
        ),
        results_url: URL,
        completed_at: "2025-03-04T10:15:00Z",
    }
}

/// The number of page objects: `/Type /Page` but not `/Type /Pages`.
fn page_count(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    pdf.windows(needle.len() + 1)
        .filter(|w| w.starts_with(needle) && w[needle.len()] != b's')
        .count()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn shows_every_field_under_the_title() {
    let pdf = render(&typical());
    let text = text_of(&pdf);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Arkiter Live interview report");
    assert_eq!(lines[1], "Role: Senior Backend Engineer");
    assert_eq!(lines[2], "Score: 82/100");
    assert_eq!(lines[3], "Recommendation: Hire");
    assert_eq!(lines[4], "Summary");
    assert!(text.contains("Could go deeper on observability."));
    assert!(text.contains(&format!("Results: {URL}")));
    assert!(text.ends_with("Completed: 2025-03-04T10:15:00Z"));
    assert!(!text.contains("Full summary"));
    assert_eq!(page_count(&pdf), 1);
}

#[test]
fn is_a_well_formed_pdf_file() {
    let pdf = render(&typical());
    assert!(pdf.starts_with(b"%PDF-1.7"));
    assert!(pdf.ends_with(b"%%EOF") || pdf.ends_with(b"%%EOF\n"));
    assert!(contains(&pdf, b"/BaseFont /Helvetica"));
    assert!(contains(&pdf, b"/BaseFont /Helvetica-Bold"));
    assert!(contains(&pdf, b"/Encoding /WinAnsiEncoding"));
    assert!(contains(&pdf, b"/MediaBox [0 0 595 842]"));
    // The content stream is stored as is.
    assert!(!contains(&pdf, b"/Filter"));
    // The link is clickable.
    assert!(contains(&pdf, format!("/URI ({URL})").as_bytes()));
}

#[test]
fn is_byte_stable() {
    let first = render(&typical());
    for _ in 0..3 {
        assert_eq!(render(&typical()), first);
    }
    // Nothing time- or randomness-based, which would differ run to run.
    assert!(!contains(&first, b"/CreationDate"));
    assert!(!contains(&first, b"/ID"));
}

#[test]
fn missing_values_show_as_not_given() {
    let report = Report {
        score: None,
        recommendation: None,
        summary: None,
        ..typical()
    };
    let text = text_of(&render(&report));
    assert!(text.contains("Score: not given"));
    assert!(text.contains("Recommendation: not given"));
    assert!(text.contains("Summary: not given"));
}

#[test]
fn scores_keep_one_decimal() {
    let report = Report {
        score: Some(67.25),
        ..typical()
    };
    assert!(text_of(&render(&report)).contains("Score: 67.3/100"));
}

#[test]
fn a_long_summary_is_cut_to_one_page() {
    let sentence = "The candidate explained the design step by step. ";
    let mut summary = sentence.repeat(20_000 / sentence.len() + 1);
    summary.truncate(20_000);
    let report = Report {
        summary: Some(&summary),
        ..typical()
    };
    let pdf = render(&report);
    assert_eq!(page_count(&pdf), 1);
    let text = text_of(&pdf);
    assert!(text.contains(&format!("Full summary: {URL}")), "{text}");
    assert!(text.contains(&format!("Results: {URL}")));
    assert!(text.contains("Completed: 2025-03-04T10:15:00Z"));

    // Cut at a word: the line with the ellipsis ends in a whole word.
    let cut = text.lines().find(|l| l.ends_with('…')).unwrap();
    let last_word = cut.trim_end_matches('…').rsplit(' ').next().unwrap();
    assert!(sentence.split(' ').any(|w| w == last_word), "{cut}");
    assert!(text.len() < summary.len());
    // Still a small file.
    assert!(pdf.len() < 10_000, "{} bytes", pdf.len());
}

#[test]
fn parentheses_and_backslashes_round_trip() {
    let role = r"Engineer (Platform) \ SRE ((nested)) :) \\n";
    let summary = r"Used f(x) = (a \ b) and ) unbalanced ( too";
    let report = Report {
        role,
        summary: Some(summary),
        recommendation: Some(r"C:\path\"),
        ..typical()
    };
    let text = text_of(&render(&report));
    assert!(text.contains(&format!("Role: {role}")), "{text}");
    assert!(text.contains(summary), "{text}");
    assert!(text.contains(r"Recommendation: C:\path\"), "{text}");
}

#[test]
fn winansi_characters_round_trip_and_others_become_question_marks() {
    let report = Report {
        role: "Développeuse — Zürich",
        summary: Some("Great “quotes” and 5€. 日本語 😀 \u{0}\u{7}done"),
        ..typical()
    };
    let pdf = render(&report);
    let text = text_of(&pdf);
    assert!(text.contains("Role: Développeuse — Zürich"), "{text}");
    assert!(
        text.contains("Great “quotes” and 5€. ??? ? ??done"),
        "{text}"
    );
    assert_eq!(page_count(&pdf), 1);
}

#[test]
fn odd_input_does_not_panic() {
    let long = "ø".repeat(30_000);
    let report = Report {
        role: "",
        score: Some(f64::INFINITY),
        recommendation: Some("\n\n"),
        summary: Some(&long),
        results_url: &long,
        completed_at: "\t",
    };
    let pdf = render(&report);
    assert_eq!(page_count(&pdf), 1);
    let text = text_of(&pdf);
    assert!(text.contains("Role: not given"));
    assert!(text.contains("Score: not given"));
    assert!(text.contains("Full summary: øøø"));
}

#[test]
fn shows_nothing_but_its_inputs() {
    let pdf = render(&typical());
    let text = text_of(&pdf);
    let fixed = [
        "Arkiter Live interview report",
        "Role: ",
        "Score: ",
        "/100",
        "Recommendation: ",
        "Summary",
        "Results: ",
        "Completed: ",
    ];
    let mut rest = text.clone();
    for piece in fixed {
        rest = rest.replace(piece, "");
    }
    let inputs = typical();
    for piece in [
        inputs.role,
        "82",
        inputs.recommendation.unwrap(),
        inputs.results_url,
        inputs.completed_at,
    ] {
        rest = rest.replace(piece, "");
    }
    // What is left is the summary's words, wrapped.
    let summary_words: Vec<&str> = inputs.summary.unwrap().split_whitespace().collect();
    assert!(
        rest.split_whitespace().all(|w| summary_words.contains(&w)),
        "{rest}"
    );
}

#[test]
fn text_of_other_bytes_is_empty() {
    assert_eq!(text_of(b""), "");
    assert_eq!(text_of(b"not a pdf"), "");
}
