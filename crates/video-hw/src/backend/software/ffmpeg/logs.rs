//! FFmpeg's own messages through the `log` facade (target `video_hw::ffmpeg`).
//!
//! FFmpeg prints to stderr unless a log callback is installed. Its messages are diagnostics:
//! what they mean for the job reaches the caller as typed errors and summary counts, so they
//! go one level down in `log` (an FFmpeg error is `info`, a warning `debug`; panic and fatal
//! stay `warn`). Nothing shows at the default level; `-v` shows FFmpeg's errors.

use ffmpeg_next as ff;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};

/// The `log` target of FFmpeg's messages.
pub(crate) const TARGET: &str = "video_hw::ffmpeg";

/// The `log` level of an FFmpeg log level (`AV_LOG_*`).
fn level_of(av: c_int) -> log::Level {
    match av {
        l if l <= ff::ffi::AV_LOG_FATAL => log::Level::Warn,
        l if l <= ff::ffi::AV_LOG_ERROR => log::Level::Info,
        l if l <= ff::ffi::AV_LOG_VERBOSE => log::Level::Debug,
        _ => log::Level::Trace,
    }
}

/// The most detailed FFmpeg level whose messages `log` would keep now (FFmpeg formats
/// nothing above it).
fn wanted_level() -> c_int {
    [
        ff::ffi::AV_LOG_TRACE,
        ff::ffi::AV_LOG_VERBOSE,
        ff::ffi::AV_LOG_ERROR,
        ff::ffi::AV_LOG_FATAL,
    ]
    .into_iter()
    .find(|&l| log::log_enabled!(target: TARGET, level_of(l)))
    .unwrap_or(ff::ffi::AV_LOG_QUIET)
}

/// `av_log_format_line2` with its `va_list` parameter type erased (that type differs between
/// platforms; [`install`] learns it from the bindings).
static FORMAT_LINE: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

/// The signature of `av_log_format_line2` for a `va_list` passed as `V`.
type FormatLine<V> = unsafe extern "C" fn(
    *mut c_void,
    c_int,
    *const c_char,
    V,
    *mut c_char,
    c_int,
    *mut c_int,
) -> c_int;

/// FFmpeg's log callback: formats the message as FFmpeg would and forwards it to `log`.
unsafe extern "C" fn forward<V>(avcl: *mut c_void, level: c_int, fmt: *const c_char, vl: V) {
    let log_level = level_of(level);
    if !log::log_enabled!(target: TARGET, log_level) {
        return;
    }
    let ptr = FORMAT_LINE.load(Ordering::Acquire);
    if ptr.is_null() || fmt.is_null() {
        return;
    }
    // SAFETY: `install::<V>` stored exactly a `FormatLine<V>` (this `V`) in FORMAT_LINE, and
    // function pointers round-trip through `*mut ()`.
    let format_line: FormatLine<V> = unsafe { std::mem::transmute_copy(&ptr) };
    let mut line = [0 as c_char; 1024];
    let mut prefix = 1;
    // SAFETY: FFmpeg hands the callback a valid format and argument list for one use, which
    // av_log_format_line2 consumes; `line` is writable for its length and NUL-terminated by
    // it; `prefix` is a valid int.
    unsafe {
        format_line(
            avcl,
            level,
            fmt,
            vl,
            line.as_mut_ptr(),
            line.len() as c_int,
            &mut prefix,
        );
    }
    // SAFETY: av_log_format_line2 always NUL-terminates within the buffer.
    let text = unsafe { CStr::from_ptr(line.as_ptr()) }.to_string_lossy();
    let text = text.trim_end();
    if !text.is_empty() {
        log::log!(target: TARGET, log_level, "{text}");
    }
}

/// Installs [`forward`] for the `va_list` type `V` the bindings use on this platform.
fn install<V>(
    set_callback: unsafe extern "C" fn(
        Option<unsafe extern "C" fn(*mut c_void, c_int, *const c_char, V)>,
    ),
    format_line: FormatLine<V>,
) {
    FORMAT_LINE.store(format_line as *mut (), Ordering::Release);
    // SAFETY: av_log_set_callback takes any function of this signature; `forward::<V>` is
    // one, and it is safe to call from any thread (FFmpeg's frame threads log).
    unsafe { set_callback(Some(forward::<V>)) };
}

/// Routes FFmpeg's logging into `log` at the level `log` keeps now (once per process;
/// called when FFmpeg is first used).
pub(crate) fn forward_ffmpeg_log() {
    install(ff::ffi::av_log_set_callback, ff::ffi::av_log_format_line2);
    // SAFETY: av_log_set_level only stores an int.
    unsafe { ff::ffi::av_log_set_level(wanted_level()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpeg_errors_are_info_warnings_debug_and_fatal_warn_in_log() {
        assert_eq!(level_of(ff::ffi::AV_LOG_PANIC), log::Level::Warn);
        assert_eq!(level_of(ff::ffi::AV_LOG_ERROR), log::Level::Info);
        assert_eq!(level_of(ff::ffi::AV_LOG_WARNING), log::Level::Debug);
        assert_eq!(level_of(ff::ffi::AV_LOG_DEBUG), log::Level::Trace);
    }
}
