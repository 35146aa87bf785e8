//! Made-up data: candidate names and interview results. Deterministic, so
//! two runs look alike, and obviously fictional (no personal data).

const FIRST: [&str; 20] = [
    "Ada", "Bruno", "Chen", "Dara", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas", "Kiri",
    "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tala",
];

const LAST: [&str; 13] = [
    "Moreno",
    "Okafor",
    "Lindqvist",
    "Tanaka",
    "Novak",
    "Haddad",
    "Ferreira",
    "Kowalski",
    "Mensah",
    "Rossi",
    "Varga",
    "Dubois",
    "Sato",
];

/// The `i`-th candidate's name (distinct for the first 260).
pub fn name(i: usize) -> String {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i + i / FIRST.len()) % LAST.len()];
    format!("{first} {last}")
}

/// An address at example.com, a domain reserved for examples.
pub fn email(i: usize) -> String {
    format!("candidate{}@example.com", i + 1)
}

const SUMMARIES: [&str; 4] = [
    "Clear reasoning under time pressure; tests written before the fix.",
    "Solid fundamentals, needed hints on the concurrency part.",
    "Good communication, solution correct but slow on large inputs.",
    "Struggled with the data modelling task; strong debugging instincts.",
];

/// The `i`-th completion as Arkiter Live would send it.
pub fn result(i: usize) -> serde_json::Value {
    let score = 52 + (i * 17) % 46;
    let recommendation = match score {
        85.. => "strong hire",
        70..85 => "hire",
        60..70 => "lean hire",
        _ => "no hire",
    };
    serde_json::json!({
        "score": score,
        "recommendation": recommendation,
        "summary": SUMMARIES[i % SUMMARIES.len()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_for_a_demo_sized_batch() {
        let names: std::collections::HashSet<_> = (0..200).map(name).collect();
        assert_eq!(names.len(), 200);
    }

    #[test]
    fn results_are_valid_completions() {
        for i in 0..50 {
            let score = result(i)["score"].as_u64().unwrap_or(999);
            assert!((0..=100).contains(&score));
        }
    }
}
