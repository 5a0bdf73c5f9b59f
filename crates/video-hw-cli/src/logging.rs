//! The command's logger: the library's `log` records (FFmpeg's and OpenH264's own messages
//! among them) on stderr, at the level `-v`/`-q` ask for.

use log::{Level, LevelFilter, Log, Metadata, Record};

/// Writes records to stderr as `video-hw: [source] level: message`.
struct StderrLog;

impl Log for StderrLog {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // `video_hw::ffmpeg` -> `ffmpeg`; the library's own records keep `video_hw`.
        let source = record
            .target()
            .rsplit("::")
            .next()
            .unwrap_or(record.target());
        let level = match record.level() {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        };
        eprintln!("video-hw: [{source}] {level}: {}", record.args());
    }

    fn flush(&self) {}
}

/// The level for `-q` and the number of `-v`: nothing with `-q`; warnings by default;
/// `-v` info (the libraries' errors), `-vv` debug, `-vvv` everything.
pub fn level(quiet: bool, verbose: u8) -> LevelFilter {
    match (quiet, verbose) {
        (true, _) => LevelFilter::Off,
        (false, 0) => LevelFilter::Warn,
        (false, 1) => LevelFilter::Info,
        (false, 2) => LevelFilter::Debug,
        (false, _) => LevelFilter::Trace,
    }
}

/// Installs the logger at `level` (once; a second call only changes the level).
pub fn init(level: LevelFilter) {
    static LOGGER: StderrLog = StderrLog;
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_silences_everything_and_each_v_shows_one_level_more() {
        assert_eq!(level(true, 3), LevelFilter::Off);
        assert_eq!(level(false, 0), LevelFilter::Warn);
        assert_eq!(level(false, 1), LevelFilter::Info);
        assert_eq!(level(false, 2), LevelFilter::Debug);
        assert_eq!(level(false, 9), LevelFilter::Trace);
    }
}
