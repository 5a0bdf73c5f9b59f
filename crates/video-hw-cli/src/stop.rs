//! A clean stop on SIGINT/SIGTERM: the first signal asks the command to stop reading input;
//! what is in flight is drained, the container finished and renamed to its final name, the
//! summary printed, and the command exits 130 (SIGINT) or 143 (SIGTERM). A second signal
//! ends the process at once with the same code.
//!
//! The library needs no stop API for this: the command's ingest iterator ends early
//! ([`until_stopped`]), which to the sessions and the pipeline scheduler is the end of the
//! stream.

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The flags the signal handlers set.
struct Flags {
    stop: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

static FLAGS: OnceLock<Flags> = OnceLock::new();

/// Installs the handlers. Only commands that honour [`requested`] call this; the others keep
/// the default (the process ends at the first signal).
pub fn install() -> Result<()> {
    if FLAGS.get().is_some() {
        return Ok(());
    }
    let flags = Flags {
        stop: Arc::new(AtomicBool::new(false)),
        signal: Arc::new(AtomicUsize::new(0)),
    };
    for sig in [SIGINT, SIGTERM] {
        let code = 128 + sig as u32;
        // Registered first, so that it sees the flag as the previous signal left it: the
        // second signal exits at once.
        signal_hook::flag::register_conditional_shutdown(sig, code as i32, flags.stop.clone())
            .context("installing the signal handler")?;
        signal_hook::flag::register_usize(sig, flags.signal.clone(), code as usize)
            .context("installing the signal handler")?;
        signal_hook::flag::register(sig, flags.stop.clone())
            .context("installing the signal handler")?;
    }
    let _ = FLAGS.set(flags);
    Ok(())
}

/// Whether a signal asked the command to stop.
pub fn requested() -> bool {
    FLAGS.get().is_some_and(|f| f.stop.load(Ordering::SeqCst))
}

/// The exit code for the signal that stopped the command (130 for SIGINT, 143 for SIGTERM).
pub fn exit_code() -> Option<ExitCode> {
    let f = FLAGS.get()?;
    if !f.stop.load(Ordering::SeqCst) {
        return None;
    }
    let code = f.signal.load(Ordering::SeqCst);
    Some(ExitCode::from(u8::try_from(code).unwrap_or(130)))
}

/// The name of the signal that stopped the command, for the summary.
pub fn signal_name() -> &'static str {
    match FLAGS.get().map(|f| f.signal.load(Ordering::SeqCst)) {
        Some(c) if c == 128 + SIGTERM as usize => "SIGTERM",
        _ => "SIGINT",
    }
}

/// Files an error of the run: after a stop, the input was cut (an Annex-B stream inside a
/// picture), and what the cut causes is a warning, named as such.
pub fn file_error(errors: &mut Vec<String>, warnings: &mut Vec<String>, error: String) {
    if requested() {
        warnings.push(format!("after the stop, which cut the input: {error}"));
    } else {
        errors.push(error);
    }
}

/// `items` until a stop is requested: the ingest of a command that stops cleanly.
pub fn until_stopped<I: Iterator>(items: I) -> impl Iterator<Item = I::Item> {
    items.take_while(|_| !requested())
}
