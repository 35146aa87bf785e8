//! The report as text: one table of what Lever shows per candidate, then
//! latency, Lever calls, health and the verdict. Sized for one screen: a
//! line per candidate plus about a dozen, under 100 columns.

use std::fmt::Write as _;

use super::report::{Report, Row};

/// The prefix every tag of the integration shares, left out of the table.
const TAG_PREFIX: &str = "Arkiter Live: ";
/// Failures listed before "and N more".
const SHOWN_FAILURES: usize = 10;

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nWhat Lever shows now, read back from the simulator (tags without \"{}\"):",
        TAG_PREFIX.trim_end()
    );
    let header = [
        "Candidate",
        "Stage",
        "Tags",
        "Link",
        "Note",
        "Role (rule that chose it)",
    ];
    let cells: Vec<[String; 6]> = r.rows.iter().map(cells).collect();
    let widths = widths(&header, &cells);
    let _ = writeln!(out, "  {}", line(&header.map(str::to_owned), &widths));
    for (row, c) in r.rows.iter().zip(&cells) {
        let mark = if bad(r, row) { "✗ " } else { "  " };
        let _ = writeln!(out, "{mark}{}", line(c, &widths));
    }
    out.push('\n');
    footer(&mut out, r);
    out
}

fn cells(row: &Row) -> [String; 6] {
    let tags: Vec<&str> = row
        .tags
        .iter()
        .map(|t| t.strip_prefix(TAG_PREFIX).unwrap_or(t))
        .collect();
    let role = row.interview.as_ref().map_or("-".to_owned(), |iv| {
        format!(
            "{} ({})",
            iv.role_name.as_deref().unwrap_or("no role"),
            iv.rule
        )
    });
    let note = match row.notes {
        0 => "no".to_owned(),
        1 => "yes".to_owned(),
        n => format!("{n}!"),
    };
    [
        row.candidate.clone(),
        row.stage.clone(),
        if tags.is_empty() {
            "-".to_owned()
        } else {
            tags.join(", ")
        },
        links(&row.links),
        note,
        role,
    ]
}

/// `/live/AbCd…`, plus how many more links there are.
fn links(all: &[String]) -> String {
    let Some(first) = all.first() else {
        return "-".to_owned();
    };
    let path = url::Url::parse(first).map_or(first.clone(), |u| u.path().to_owned());
    let short = match path.rsplit_once('/') {
        Some((dir, token)) if token.chars().count() > 6 => {
            let head: String = token.chars().take(6).collect();
            format!("{dir}/{head}…")
        }
        _ => path,
    };
    match all.len() {
        1 => short,
        n => format!("{short} +{}", n - 1),
    }
}

fn widths(header: &[&str; 6], cells: &[[String; 6]]) -> [usize; 6] {
    let mut w = header.map(|h| h.chars().count());
    for row in cells {
        for (i, c) in row.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    w
}

fn line(cells: &[String; 6], widths: &[usize; 6]) -> String {
    let padded: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(c, w)| format!("{c:<w$}"))
        .collect();
    padded.join("  ").trim_end().to_owned()
}

fn bad(r: &Report, row: &Row) -> bool {
    let prefix = format!("{}: ", row.candidate);
    r.failures.iter().any(|f| f.starts_with(&prefix))
}

fn footer(out: &mut String, r: &Report) {
    let ms = |v: Option<i64>| match v {
        None => "-".to_owned(),
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) => format!("{:.1} s", ms as f64 / 1000.0),
    };
    let _ = writeln!(
        out,
        "Link latency   p50 {}, p95 {}  ({})",
        ms(r.latency.p50_ms),
        ms(r.latency.p95_ms),
        r.latency.source
    );
    let pace = r.rate_per_sec.map_or(String::new(), |rate| {
        format!(
            " (Lever allows {rate} calls/s, which paces {} moves at once)",
            r.rows.len()
        )
    });
    let _ = writeln!(
        out,
        "Lever calls    {} by the service, {} answered 429{pace}",
        r.lever_calls, r.throttled
    );
    let _ = writeln!(out, "Health         {}", r.health_status);
    for p in &r.problems {
        let _ = writeln!(out, "  - {p}");
    }
    verdict(out, r);
}

fn verdict(out: &mut String, r: &Report) {
    let moved = r.rows.len();
    let completed = r.rows.iter().filter(|row| row.completed).count();
    if r.ok() {
        let _ = writeln!(
            out,
            "\nOK: {} one link and one tag; {} the results link, \
             the completed tag and one note ({:.1} s after the move).",
            plural(moved, "the candidate shows", "all {n} candidates show"),
            plural(
                completed,
                "the completed one shows",
                "the {n} completed ones show"
            ),
            r.elapsed.as_secs_f64()
        );
        return;
    }
    let _ = writeln!(
        out,
        "\nFAILED: {} problem(s) after {:.1} s:",
        r.failures.len(),
        r.elapsed.as_secs_f64()
    );
    for f in r.failures.iter().take(SHOWN_FAILURES) {
        let _ = writeln!(out, "  - {f}");
    }
    if r.failures.len() > SHOWN_FAILURES {
        let _ = writeln!(out, "  … and {} more", r.failures.len() - SHOWN_FAILURES);
    }
}

/// `one` for 1, else `many` with `{n}` replaced by the number.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        one.to_owned()
    } else {
        many.replace("{n}", &n.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::links;

    #[test]
    fn links_are_shortened_to_their_path() {
        let one = vec!["http://127.0.0.1:8080/live/AbCdEfGhIjKl".to_owned()];
        assert_eq!(links(&one), "/live/AbCdEf…");
        let two = vec![one[0].clone(), "http://x/results/Zz".to_owned()];
        assert_eq!(links(&two), "/live/AbCdEf… +1");
        assert_eq!(links(&[]), "-");
    }
}
