//! Progress lines on stderr for long runs.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Prints `what: N frames, F fps` now and then: every 0.5 s on a terminal (rewriting the
/// line), every 5 s otherwise; nothing when quiet.
pub struct Progress {
    what: &'static str,
    quiet: bool,
    tty: bool,
    start: Instant,
    last: Instant,
    shown: bool,
}

impl Progress {
    /// A reporter for a command.
    pub fn new(what: &'static str, quiet: bool) -> Self {
        let now = Instant::now();
        Self {
            what,
            quiet,
            tty: std::io::stderr().is_terminal(),
            start: now,
            last: now,
            shown: false,
        }
    }

    /// Seconds since start.
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Reports `frames` done so far, if it is time to.
    pub fn tick(&mut self, frames: u64) {
        if self.quiet {
            return;
        }
        let every = if self.tty {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(5)
        };
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        let fps = frames as f64 / self.elapsed().max(1e-9);
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r{}: {frames} frames, {fps:.1} fps   ", self.what);
        } else {
            let _ = writeln!(err, "{}: {frames} frames, {fps:.1} fps", self.what);
        }
        self.shown = true;
    }

    /// Ends the progress line.
    pub fn finish(&mut self) {
        if self.shown && self.tty && !self.quiet {
            eprintln!();
        }
        self.shown = false;
    }
}
