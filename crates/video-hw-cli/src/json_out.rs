//! Where `--json` goes, and the JSON document of an error.
//!
//! `--json` prints one JSON document: the command's summary, or `{"error": {"class": ...,
//! "message": ...}}` when it fails (the exit code is the same as without `--json`). It goes
//! to stdout, unless stdout carries media (`-o -`): then to stderr. `--json-file F` writes it
//! to `F` instead.

use crate::Common;
use crate::output_file::{self, Refused};
use anyhow::Result;
use serde::Serialize;
use std::io::Write;

/// Prints `value` as the command's JSON document, if `--json` or `--json-file` asked for it.
pub fn emit(common: &Common, media_on_stdout: bool, value: &impl Serialize) -> Result<()> {
    if !common.wants_json() {
        return Ok(());
    }
    let text = format!("{}\n", serde_json::to_string_pretty(value)?);
    write(common, media_on_stdout, &text)
}

fn write(common: &Common, media_on_stdout: bool, text: &str) -> Result<()> {
    if let Some(path) = &common.json_file {
        return output_file::write_whole(path, text.as_bytes());
    }
    if media_on_stdout {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
    Ok(())
}

/// A command line the command refuses after clap accepted it (a value out of range, options
/// that exclude each other): class `usage`, as clap's own refusals.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// Returns early with a [`Usage`] error made from a format string.
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err($crate::json_out::Usage(format!($($arg)*)).into())
    };
}
pub(crate) use usage;

#[derive(Serialize)]
struct ErrorDoc<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    class: &'a str,
    message: String,
}

/// The class of an error: `refused` (an output the command will not write), `not_found`,
/// `io`, `usage`, or the library's error kind (`unsupported`, `invalid_input`,
/// `invalid_bitstream`, `device_lost`, `backend`); `error` otherwise.
pub fn class_of(e: &anyhow::Error) -> &'static str {
    for cause in e.chain() {
        if cause.is::<Refused>() {
            return "refused";
        }
        if cause.is::<Usage>() {
            return "usage";
        }
        if let Some(v) = cause.downcast_ref::<video_hw::VideoError>() {
            return match v.kind() {
                video_hw::ErrorKind::Unsupported => "unsupported",
                video_hw::ErrorKind::InvalidInput => "invalid_input",
                video_hw::ErrorKind::InvalidBitstream => "invalid_bitstream",
                video_hw::ErrorKind::Backpressure => "backpressure",
                video_hw::ErrorKind::DeviceLost => "device_lost",
                video_hw::ErrorKind::Backend => "backend",
            };
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::NotFound => "not_found",
                _ => "io",
            };
        }
    }
    "error"
}

/// Prints the error document for `message` of `class`, if JSON was asked for. Failing to
/// write it changes nothing: the message is on stderr already. An existing `--json-file` is
/// left as it is under `-n` or when the run was refused (the refusal may be about that very
/// file): a good report is never replaced by the error of a run that did nothing.
pub fn emit_error(common: &Common, media_on_stdout: bool, class: &str, message: String) {
    if !common.wants_json() {
        return;
    }
    if let Some(path) = &common.json_file
        && path.exists()
        && (class == "refused" || common.overwrite_policy() == output_file::Overwrite::No)
    {
        eprintln!(
            "video-hw: {} exists and was left as it is: the error is above",
            path.display()
        );
        return;
    }
    let doc = ErrorDoc {
        error: ErrorBody { class, message },
    };
    if let Ok(text) = serde_json::to_string_pretty(&doc) {
        let _ = write(common, media_on_stdout, &format!("{text}\n"));
    }
}
