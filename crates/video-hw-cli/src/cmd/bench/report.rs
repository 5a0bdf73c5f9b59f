//! The bench report: one JSON layout and one Markdown rendering for every backend.

use super::stats::TimingStats;
use serde::Serialize;
use std::fmt::Write as _;
use video_hw::metrics::MetricsReport;

/// Version of the JSON layout; raised when a key changes meaning or goes away.
pub const BENCH_SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// [`BENCH_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the run started, `YYYY-MM-DDTHH:MM:SSZ`.
    pub date_utc: String,
    /// The command line that produced the report.
    pub command: String,
    /// Where it ran.
    pub machine: Machine,
    /// The backend asked for (`auto`, `software`, ...).
    pub backend_requested: String,
    /// The backend that served the run.
    pub backend: String,
    /// The implementation inside it (e.g. `openh264`).
    pub implementation: String,
    /// Codec of the workloads.
    pub codec: String,
    /// Picture size of generated input and of encodes.
    pub size: String,
    /// Frame rate given to encoders.
    pub fps: String,
    /// Concurrent sessions (processes on the whole-process side) per run.
    pub sessions: usize,
    /// Untimed runs before the timed ones.
    pub warmup: usize,
    /// Timed runs.
    pub repeat: usize,
    /// Whether encoders on both sides read the same raw file.
    pub equal_raw_input: bool,
    /// The FFmpeg that was compared against.
    pub ffmpeg: FfmpegInfo,
    /// One entry per workload, decode first.
    pub workloads: Vec<Workload>,
    /// Whether verification ran.
    pub verified: bool,
    /// Whether every verify line passed (`true` when verification did not run).
    pub all_verify_passed: bool,
    /// The internal metrics of the in-process loops (every timed and warm-up run).
    pub metrics: MetricsReport,
}

/// The machine.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// `linux`, `macos`, ...
    pub os: String,
    /// `x86_64`, `aarch64`, ...
    pub arch: String,
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// CPU model name, where the OS says it.
    pub cpu_model: Option<String>,
}

impl Machine {
    /// This machine.
    pub fn here() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        });
        Self {
            os: std::env::consts::OS.to_owned(),
            arch: std::env::consts::ARCH.to_owned(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
        }
    }
}

/// The FFmpeg side's settings.
#[derive(Debug, Serialize)]
pub struct FfmpegInfo {
    /// Program path.
    pub path: String,
    /// First line of `ffmpeg -version`.
    pub version: String,
    /// `-threads` given (0: FFmpeg's default, i.e. automatic).
    pub threads: usize,
    /// libx264/libx265 preset.
    pub preset: String,
}

/// One workload (decode or encode) compared on both sides.
#[derive(Debug, Serialize)]
pub struct Workload {
    /// `decode` or `encode`.
    pub name: String,
    /// The stream decoded, or the raw input encoded (`pattern` when generated in-process).
    pub input: String,
    /// video-hw.
    pub video_hw: Side,
    /// FFmpeg.
    pub ffmpeg: Side,
    /// video-hw whole-process fps / FFmpeg whole-process fps.
    pub ratio_process: Option<f64>,
    /// video-hw in-process steady-state fps / FFmpeg whole-process fps.
    pub ratio_steady_state: Option<f64>,
    /// Verification lines (empty without `--verify`).
    pub verify: Vec<VerifyLine>,
}

/// One side of a workload.
#[derive(Debug, Serialize)]
pub struct Side {
    /// The command timed as a whole process (one per session).
    pub command: String,
    /// Whole-process timings.
    pub process: TimingStats,
    /// In-process steady state (sessions opened before the clock starts); video-hw only.
    pub steady_state: Option<TimingStats>,
    /// Decoder (NVDEC) and GPU utilisation during the timed whole-process runs, through NVML
    /// (decode workloads where the NVIDIA backend may run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utilization: Option<video_hw::metrics::UtilizationReport>,
}

/// One verification result.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyLine {
    /// What was checked (`video-hw output`, `input stream`, ...).
    pub subject: String,
    /// The check (`ffprobe`, `ffmpeg -v error decode`, `psnr`, `md5 vs ffmpeg`).
    pub check: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was seen.
    pub detail: String,
}

impl BenchReport {
    /// The report as Markdown: settings, one table per workload, verification, metrics.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# video-hw bench: {} on {}\n", self.codec, self.backend);
        let _ = writeln!(s, "- Date: {}", self.date_utc);
        let _ = writeln!(
            s,
            "- Machine: {} {}, {} CPUs{}",
            self.machine.os,
            self.machine.arch,
            self.machine.cpus,
            self.machine
                .cpu_model
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        );
        let _ = writeln!(
            s,
            "- video-hw: backend {} (asked: {}), implementation {}",
            self.backend, self.backend_requested, self.implementation
        );
        let _ = writeln!(
            s,
            "- FFmpeg: {} (`{}`), threads {}, preset {}",
            self.ffmpeg.version,
            self.ffmpeg.path,
            if self.ffmpeg.threads == 0 {
                "auto".to_owned()
            } else {
                self.ffmpeg.threads.to_string()
            },
            self.ffmpeg.preset
        );
        let _ = writeln!(
            s,
            "- Settings: {} at {} fps, {} session(s), {} warm-up + {} timed runs, equal raw input: {}",
            self.size, self.fps, self.sessions, self.warmup, self.repeat, self.equal_raw_input
        );
        let _ = writeln!(s, "- Command: `{}`\n", self.command);
        for w in &self.workloads {
            let _ = writeln!(s, "## {} (input: `{}`)\n", w.name, w.input);
            let _ = writeln!(
                s,
                "| side | runs | frames | mean s | median s | p95 s | CV | fps | ratio vs FFmpeg |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|");
            row(
                &mut s,
                "video-hw (process)",
                &w.video_hw.process,
                w.ratio_process,
            );
            if let Some(st) = &w.video_hw.steady_state {
                row(
                    &mut s,
                    "video-hw (in-process steady state)",
                    st,
                    w.ratio_steady_state,
                );
            }
            row(&mut s, "FFmpeg (process)", &w.ffmpeg.process, Some(1.0));
            for (side, u) in [
                ("video-hw", &w.video_hw.utilization),
                ("FFmpeg", &w.ffmpeg.utilization),
            ] {
                if let Some(u) = u {
                    let _ = writeln!(s, "\nUtilisation during {side}'s timed runs: {u}");
                }
            }
            let _ = writeln!(s, "\nCommands:\n");
            let _ = writeln!(s, "- video-hw: `{}`", w.video_hw.command);
            let _ = writeln!(s, "- FFmpeg: `{}`\n", w.ffmpeg.command);
            if !w.verify.is_empty() {
                let _ = writeln!(s, "Verification:\n");
                let _ = writeln!(s, "| subject | check | result | detail |");
                let _ = writeln!(s, "|---|---|---|---|");
                for v in &w.verify {
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} | {} |",
                        v.subject,
                        v.check,
                        if v.passed { "pass" } else { "FAIL" },
                        v.detail.replace('|', "\\|").replace('\n', " ")
                    );
                }
                let _ = writeln!(s);
            }
        }
        let _ = writeln!(s, "## Internal metrics (in-process runs)\n");
        let _ = writeln!(s, "```text\n{}```", self.metrics);
        s
    }
}

fn row(s: &mut String, side: &str, t: &TimingStats, ratio: Option<f64>) {
    let _ = writeln!(
        s,
        "| {side} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} | {} |",
        t.runs,
        t.frames,
        t.mean_s,
        t.median_s,
        t.p95_s,
        t.cv,
        t.fps,
        ratio.map_or("n/a".to_owned(), |r| format!("{r:.2}x"))
    );
}

/// Now as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc_from_unix(secs)
}

/// `secs` since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian calendar).
pub fn utc_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_format_as_utc_dates() {
        assert_eq!(utc_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_from_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_from_unix(1_795_000_000 + 3_661), "2026-11-18T12:07:41Z");
    }
}
