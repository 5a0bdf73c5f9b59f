//! OpenH264's own messages through the `log` facade (target `video_hw::openh264`).
//!
//! OpenH264 prints to stderr unless a trace callback is installed. Its messages are
//! diagnostics: what they mean for the job reaches the caller as typed errors and summary
//! counts, so they go one level down in `log` (an OpenH264 error is `info`, a warning
//! `debug`). Nothing shows at the default level; `-v` shows OpenH264's errors.

use openh264::decoder::Decoder;
use openh264::encoder::Encoder;
use openh264_sys2::{
    DECODER_OPTION_TRACE_CALLBACK, DECODER_OPTION_TRACE_LEVEL, ENCODER_OPTION_TRACE_CALLBACK,
    ENCODER_OPTION_TRACE_LEVEL, WELS_LOG_DEBUG, WELS_LOG_DETAIL, WELS_LOG_ERROR, WELS_LOG_INFO,
    WELS_LOG_QUIET, WELS_LOG_WARNING, WelsTraceCallback,
};
use std::ffi::{CStr, c_char, c_int, c_void};

/// The `log` target of OpenH264's messages.
pub(crate) const TARGET: &str = "video_hw::openh264";

/// The `log` level of an OpenH264 trace level.
fn level_of(wels: c_int) -> log::Level {
    match wels as u32 {
        l if l <= WELS_LOG_ERROR as u32 => log::Level::Info,
        l if l <= WELS_LOG_INFO as u32 => log::Level::Debug,
        _ => log::Level::Trace,
    }
}

/// The most detailed OpenH264 trace level whose messages `log` would keep now.
pub(crate) fn wanted_level() -> u32 {
    [
        WELS_LOG_DETAIL,
        WELS_LOG_DEBUG,
        WELS_LOG_INFO,
        WELS_LOG_WARNING,
        WELS_LOG_ERROR,
    ]
    .into_iter()
    .map(|l| l as u32)
    .find(|&l| log::log_enabled!(target: TARGET, level_of(l as c_int)))
    .unwrap_or(WELS_LOG_QUIET as u32)
}

/// A message without OpenH264's `[OpenH264] this = 0x..., ` prefix.
fn strip_prefix(message: &str) -> &str {
    let rest = message.strip_prefix("[OpenH264] ").unwrap_or(message);
    match rest.strip_prefix("this = ") {
        Some(tail) => tail.split_once(", ").map_or(tail, |(_, m)| m),
        None => rest,
    }
}

/// OpenH264's trace callback: forwards one formatted message to `log`.
unsafe extern "C" fn forward(_ctx: *mut c_void, level: c_int, message: *const c_char) {
    if message.is_null() {
        return;
    }
    // SAFETY: OpenH264 passes a NUL-terminated buffer it formatted (welsCodecTrace.cpp,
    // CodecTrace), valid for the duration of the call.
    let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
    log::log!(target: TARGET, level_of(level), "{}", strip_prefix(text.trim_end()));
}

/// The callback as OpenH264's option takes it (a pointer to the function pointer).
fn callback() -> WelsTraceCallback {
    Some(forward)
}

/// Sends a decoder's messages to `log` at the level `log` keeps now.
pub(crate) fn forward_decoder_log(decoder: &mut Decoder) {
    let mut cb = callback();
    let mut level = wanted_level();
    // SAFETY: both options take a pointer to one value of the type given (a callback, an
    // int); OpenH264 copies it (welsDecoderExt.cpp SetOption). The callback is a plain
    // function that lives for the whole program.
    unsafe {
        let api = decoder.raw_api();
        api.set_option(DECODER_OPTION_TRACE_CALLBACK, (&raw mut cb).cast());
        api.set_option(DECODER_OPTION_TRACE_LEVEL, (&raw mut level).cast());
    }
}

/// Sends an encoder's messages to `log` at the level `log` keeps now. Called before the
/// first picture (OpenH264 initialises the encoder then and warns about its parameters)
/// and again after it (the `openh264` crate sets its own level while initialising).
pub(crate) fn forward_encoder_log(encoder: &mut Encoder) {
    let mut cb = callback();
    let mut level = wanted_level();
    // SAFETY: as for the decoder: each option takes a pointer to one value of its type and
    // OpenH264 copies it (welsEncoderExt.cpp SetOption); the callback lives for the program.
    unsafe {
        let api = encoder.raw_api();
        api.set_option(ENCODER_OPTION_TRACE_CALLBACK, (&raw mut cb).cast());
        api.set_option(ENCODER_OPTION_TRACE_LEVEL, (&raw mut level).cast());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openh264_prefix_is_stripped_from_forwarded_messages() {
        assert_eq!(
            strip_prefix(
                "[OpenH264] this = 0x0x55d0c1, Warning:bEnableFrameSkip = 0,bitrate can't be controlled"
            ),
            "Warning:bEnableFrameSkip = 0,bitrate can't be controlled"
        );
        assert_eq!(strip_prefix("plain text"), "plain text");
    }

    #[test]
    fn openh264_errors_are_info_and_warnings_debug_in_log() {
        assert_eq!(level_of(WELS_LOG_ERROR as c_int), log::Level::Info);
        assert_eq!(level_of(WELS_LOG_WARNING as c_int), log::Level::Debug);
        assert_eq!(level_of(WELS_LOG_DETAIL as c_int), log::Level::Trace);
    }
}
