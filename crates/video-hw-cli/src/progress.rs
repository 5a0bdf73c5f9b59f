//! Progress lines on stderr for long runs: frames, fps and elapsed time; percent and ETA when
//! the total is known; speed against real time when the frame rate is known.
//!
//! Written by hand rather than with a progress-bar crate: one line, rewritten in place on a
//! terminal, is all the commands need. Never a rewritten line on a pipe: when stderr is not a
//! terminal, a plain line every 5 s (a log; `VIDEO_HW_PROGRESS_SECS` sets the interval),
//! nothing with `-q`.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use video_hw::Rational;

/// Prints `what: N frames, F fps, elapsed ...` now and then: every 0.5 s on a terminal
/// (rewriting the line), every 5 s otherwise; nothing when quiet.
pub struct Progress {
    what: &'static str,
    quiet: bool,
    tty: bool,
    start: Instant,
    last: Instant,
    shown: bool,
    total: Option<u64>,
    bytes: Option<(Arc<AtomicU64>, u64)>,
    rate: Option<f64>,
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
            total: None,
            bytes: None,
            rate: None,
        }
    }

    /// The number of frames the run will reach, when known: percent and ETA.
    pub fn set_total(&mut self, total: Option<u64>) {
        self.total = total.filter(|t| *t > 0);
    }

    /// The size of the input and a counter of the bytes read so far: percent and ETA for an
    /// input whose frame count is not known up front (Annex-B).
    pub fn set_total_bytes(&mut self, read: Arc<AtomicU64>, total: u64) {
        self.bytes = (total > 0).then_some((read, total));
    }

    /// The frame rate of the media: speed against real time (`2.5x`).
    pub fn set_rate(&mut self, fps: Rational) {
        self.rate = Some(f64::from(fps.num) / f64::from(fps.den.max(1))).filter(|r| *r > 0.0);
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
            log_interval()
        };
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        let line = self.line(frames, self.elapsed());
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r{line}\x1b[K");
        } else {
            let _ = writeln!(err, "{line}");
        }
        self.shown = true;
    }

    /// The progress line for `frames` after `elapsed` seconds.
    fn line(&self, frames: u64, elapsed: f64) -> String {
        let fps = frames as f64 / elapsed.max(1e-9);
        let mut line = format!(
            "{}: {frames} frames, {fps:.1} fps, {}",
            self.what,
            clock(elapsed)
        );
        let fraction = match (&self.total, &self.bytes) {
            (Some(total), _) => Some(frames.min(*total) as f64 / *total as f64),
            (None, Some((read, total))) => {
                Some((read.load(Ordering::Relaxed) as f64 / *total as f64).min(1.0))
            }
            (None, None) => None,
        };
        if let Some(f) = fraction {
            line.push_str(&format!(", {:.0}%", 100.0 * f));
            if f > 0.0 && f < 1.0 {
                line.push_str(&format!(", ETA {}", clock(elapsed * (1.0 - f) / f)));
            }
        }
        if let Some(rate) = self.rate {
            line.push_str(&format!(", {:.2}x", fps / rate));
        }
        line
    }

    /// Ends the progress line.
    pub fn finish(&mut self) {
        if self.shown && self.tty && !self.quiet {
            eprintln!();
        }
        self.shown = false;
    }
}

/// For an input whose frame count is not known up front (Annex-B): a counter of the stream
/// bytes handed on (add it to the ingest with `inspect`) and the input file's size, for
/// [`Progress::set_total_bytes`]. `None` for stdin or a container with a frame count.
pub fn byte_counter(path: &std::path::Path, frames: Option<u64>) -> Option<(Arc<AtomicU64>, u64)> {
    if frames.is_some() || path.as_os_str() == "-" {
        return None;
    }
    let size = std::fs::metadata(path).ok()?.len();
    Some((Arc::new(AtomicU64::new(0)), size))
}

/// Adds the bytes of one Annex-B input to `read`.
pub fn count_input(read: &AtomicU64, input: &anyhow::Result<video_hw::DecodeInput>) {
    if let Ok(video_hw::DecodeInput::AnnexB { data, .. }) = input {
        read.fetch_add(data.len() as u64, Ordering::Relaxed);
    }
}

/// How often a progress line goes to a log (stderr not a terminal): `VIDEO_HW_PROGRESS_SECS`,
/// default 5 s.
fn log_interval() -> Duration {
    std::env::var("VIDEO_HW_PROGRESS_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(5), Duration::from_secs_f64)
}

/// `m:ss` (or `h:mm:ss`).
fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_percent_eta_and_speed_when_known() {
        let mut p = Progress::new("transcode", true);
        p.set_total(Some(600));
        p.set_rate(Rational { num: 30, den: 1 });
        // 150 frames in 2.5 s: 60 fps, a quarter done, three times as long to go.
        assert_eq!(
            p.line(150, 2.5),
            "transcode: 150 frames, 60.0 fps, 0:03, 25%, ETA 0:08, 2.00x"
        );
    }

    #[test]
    fn line_shows_percent_of_bytes_read_when_frames_are_not_counted() {
        let mut p = Progress::new("decode", true);
        let read = Arc::new(AtomicU64::new(500));
        p.set_total_bytes(read.clone(), 1000);
        assert_eq!(
            p.line(20, 10.0),
            "decode: 20 frames, 2.0 fps, 0:10, 50%, ETA 0:10"
        );
        read.store(1000, Ordering::Relaxed);
        assert_eq!(p.line(40, 20.0), "decode: 40 frames, 2.0 fps, 0:20, 100%");
    }

    #[test]
    fn line_without_total_or_rate_shows_frames_fps_and_elapsed() {
        let p = Progress::new("decode", true);
        assert_eq!(p.line(10, 65.0), "decode: 10 frames, 0.2 fps, 1:05");
    }
}
