//! Latency samples with percentiles, and the PASS/FAIL lines a benchmark prints.

use std::time::Duration;

/// Durations collected during a run.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    values: Vec<Duration>,
}

impl Samples {
    pub fn push(&mut self, d: Duration) {
        self.values.push(d);
    }

    pub fn values(&self) -> &[Duration] {
        &self.values
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The `p`-th percentile (0..=100), nearest rank; zero when empty.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.values.is_empty() {
            return Duration::ZERO;
        }
        let mut v = self.values.clone();
        v.sort_unstable();
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    }

    pub fn max(&self) -> Duration {
        self.values.iter().copied().max().unwrap_or_default()
    }

    /// `n=.. p50=.. p95=.. p99=.. max=..` in milliseconds.
    pub fn summary(&self) -> String {
        format!(
            "n={} p50={:.2} ms p95={:.2} ms p99={:.2} ms max={:.2} ms",
            self.len(),
            ms(self.percentile(50.0)),
            ms(self.percentile(95.0)),
            ms(self.percentile(99.0)),
            ms(self.max())
        )
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The targets of one benchmark and whether each was met.
#[derive(Debug, Default)]
pub struct Verdicts {
    all: Vec<(String, bool)>,
}

impl Verdicts {
    /// Records and prints one target: `PASS|FAIL  id  what (measured vs target)`.
    pub fn check(&mut self, id: &str, what: &str, measured: String, target: String, ok: bool) {
        let word = if ok { "PASS" } else { "FAIL" };
        println!("{word}  {id}  {what}: {measured} (target {target})");
        self.all.push((format!("{id} {what}"), ok));
    }

    pub fn all_passed(&self) -> bool {
        self.all.iter().all(|(_, ok)| *ok)
    }

    /// Prints the closing line and returns whether everything passed.
    pub fn finish(&self, bench: &str) -> bool {
        let failed = self.all.iter().filter(|(_, ok)| !ok).count();
        println!(
            "{bench}: {} of {} targets met",
            self.all.len() - failed,
            self.all.len()
        );
        self.all_passed()
    }
}
