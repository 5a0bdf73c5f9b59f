//! The parser's three callbacks. The parser calls them on the decoding thread, inside
//! [`NvdecCalls::parse`], with the [`State`] registered as `pUserData`.

use super::calls::NvdecCalls;
use super::ffi::{CUVIDEOFORMAT, CUVIDPARSERDISPINFO, CUVIDPICPARAMS};
use super::output::Output;
use super::state::State;
use crate::api::error::VideoError;
use crate::backend::nvidia::stats::{self, COUNTERS};
use std::ffi::{c_int, c_void};

/// *Sequence*: sets up the decoder; returns the decode surface count (0 on failure, which
/// the parser reports as an error of the parse call).
pub(super) unsafe extern "system" fn on_sequence<C: NvdecCalls, O: Output>(
    user: *mut c_void,
    format: *mut CUVIDEOFORMAT,
) -> c_int {
    // SAFETY: `user` is the boxed State registered with the parser, alive and not otherwise
    // borrowed during the parse call; `format` is valid for the call.
    let (state, format) = unsafe { (&mut *user.cast::<State<C, O>>(), &*format) };
    match state.on_sequence(format) {
        Ok(n) => n as c_int,
        Err(e) => {
            state.errors.push(e);
            0
        }
    }
}

/// *Decode*: queues the picture on the engine.
pub(super) unsafe extern "system" fn on_decode<C: NvdecCalls, O: Output>(
    user: *mut c_void,
    pic: *mut CUVIDPICPARAMS,
) -> c_int {
    // SAFETY: as in `on_sequence`; `pic` is valid and not otherwise referenced for the call.
    let (state, pic) = unsafe { (&mut *user.cast::<State<C, O>>(), &mut *pic) };
    let Some(handle) = state.decoder.as_ref().map(|d| d.handle) else {
        state.errors.push(VideoError::invalid_bitstream(
            "NVDEC parser produced a picture before any sequence header",
        ));
        return 0;
    };
    if let Some(slot) = usize::try_from(pic.CurrPicIdx)
        .ok()
        .and_then(|i| state.intra.get_mut(i))
    {
        *slot = pic.intra_pic_flag != 0;
    }
    match state.calls.decode_picture(handle, pic) {
        Ok(()) => {
            stats::add(&COUNTERS.pictures_decoded, 1);
            1
        }
        Err(e) => {
            state
                .errors
                .push(VideoError::invalid_bitstream(e.context().to_string()));
            0
        }
    }
}

/// *Display*: the picture joins the display queue; it is copied out after the parse call.
pub(super) unsafe extern "system" fn on_display<C: NvdecCalls, O: Output>(
    user: *mut c_void,
    info: *mut CUVIDPARSERDISPINFO,
) -> c_int {
    // SAFETY: as in `on_sequence`.
    let state = unsafe { &mut *user.cast::<State<C, O>>() };
    if !info.is_null() {
        // SAFETY: non-null and valid for the call.
        state.queue.push_back(unsafe { *info });
    }
    1
}
