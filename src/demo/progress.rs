//! Live progress while links and results appear: a bar redrawn in place on
//! a terminal, a few plain lines when the output is a file or a pipe (so a
//! log stays short), nothing in tests. Hand-drawn to keep dependencies out.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const BAR_WIDTH: usize = 30;
/// Redraw at most this often; the elapsed time still moves when nothing else does.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// `\r[#####     ] ...` on a terminal.
    Bar,
    /// A line at each quarter of the way.
    Lines,
    /// Print nothing (tests).
    Quiet,
}

impl ProgressMode {
    /// A bar when stdout is a terminal, lines otherwise.
    pub fn detect() -> Self {
        if std::io::stdout().is_terminal() {
            Self::Bar
        } else {
            Self::Lines
        }
    }
}

/// How far the run is: links visible and results posted, against the goals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub links: usize,
    pub links_goal: usize,
    pub results: usize,
    pub results_goal: usize,
}

impl Counts {
    fn done(&self) -> usize {
        self.links + self.results
    }

    fn goal(&self) -> usize {
        (self.links_goal + self.results_goal).max(1)
    }

    fn describe(&self, elapsed: Duration) -> String {
        format!(
            "links {}/{}  results {}/{}  {:.1} s",
            self.links,
            self.links_goal,
            self.results,
            self.results_goal,
            elapsed.as_secs_f64()
        )
    }
}

pub struct Progress {
    mode: ProgressMode,
    started: Instant,
    last: Option<(Counts, Instant)>,
    /// Quarters already reported in `Lines` mode.
    quarters: usize,
}

impl Progress {
    pub fn new(mode: ProgressMode) -> Self {
        Self {
            mode,
            started: Instant::now(),
            last: None,
            quarters: 0,
        }
    }

    /// A line of narration (not in `Quiet` mode).
    pub fn say(&self, line: &str) {
        if self.mode != ProgressMode::Quiet {
            println!("{line}");
        }
    }

    /// Starts the clock the progress shows.
    pub fn start(&mut self) {
        self.started = Instant::now();
    }

    pub fn update(&mut self, counts: Counts) {
        let now = Instant::now();
        match self.mode {
            ProgressMode::Quiet => {}
            ProgressMode::Bar => {
                let stale = self
                    .last
                    .is_none_or(|(c, at)| c != counts || now - at >= REDRAW_EVERY);
                if stale {
                    self.draw_bar(counts);
                }
            }
            ProgressMode::Lines => {
                let quarter = 4 * counts.done() / counts.goal();
                if quarter > self.quarters {
                    self.quarters = quarter;
                    println!("  {}", counts.describe(self.started.elapsed()));
                }
            }
        }
        self.last = Some((counts, now));
    }

    /// Ends the bar's line (the bar stays on screen, final).
    pub fn finish(&mut self) {
        if self.mode == ProgressMode::Bar
            && let Some((counts, _)) = self.last
        {
            self.draw_bar(counts);
            println!();
        }
    }

    fn draw_bar(&self, counts: Counts) {
        let filled = BAR_WIDTH * counts.done() / counts.goal();
        let bar = format!(
            "{}{}",
            "#".repeat(filled),
            " ".repeat(BAR_WIDTH.saturating_sub(filled))
        );
        let mut out = std::io::stdout().lock();
        // A broken pipe only costs the progress display.
        let _ = write!(
            out,
            "\r  [{bar}] {}  ",
            counts.describe(self.started.elapsed())
        );
        let _ = out.flush();
    }
}
