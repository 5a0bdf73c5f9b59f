//! Small Core Foundation / Core Video helpers shared by the decoder and the encoder.

use crate::api::codec::Timestamp;
use crate::api::error::{Result, VideoError};
use crate::backend::videotoolbox::status::status_error;
use crate::backend::videotoolbox::timing::to_cmtime;
use objc2_core_foundation::{CFRetained, CFString, CFType, Type};
use objc2_core_media::{CMTime, CMTimeFlags};
use objc2_core_video::{CVImageBuffer, CVPixelBuffer};
use std::ptr::NonNull;

/// `Ok` for `noErr`, else the typed error for `what`.
pub(super) fn check(what: &str, status: i32) -> Result<()> {
    if status == 0 {
        Ok(())
    } else {
        Err(status_error(what, status))
    }
}

/// A valid `CMTime` for `ts`.
pub(super) fn cm_time(ts: Timestamp) -> CMTime {
    let t = to_cmtime(ts);
    CMTime {
        value: t.value,
        timescale: t.timescale,
        flags: CMTimeFlags::Valid,
        epoch: 0,
    }
}

/// Runs a Core Foundation style create call, which hands its object out through the pointer
/// it is given, and takes ownership of that object. `what` names the call in errors.
///
/// # Safety
/// On a zero status, `call` has written a +1 reference (or null) through its pointer.
pub(super) unsafe fn created<T: Type>(
    what: &str,
    call: impl FnOnce(NonNull<*mut T>) -> i32,
) -> Result<CFRetained<T>> {
    let mut out: *mut T = std::ptr::null_mut();
    check(what, call(NonNull::from(&mut out)))?;
    let out =
        NonNull::new(out).ok_or_else(|| VideoError::backend(format!("{what} returned nothing")))?;
    // SAFETY: a +1 reference (the caller's contract), owned from here on.
    Ok(unsafe { CFRetained::from_raw(out) })
}

/// A string attachment of an image buffer, as a Rust string.
pub(super) fn string_attachment(buffer: &CVImageBuffer, key: &CFString) -> Option<String> {
    // SAFETY: `buffer` is a live image buffer; a null attachment-mode pointer is allowed.
    let value: CFRetained<CFType> = unsafe { buffer.attachment(key, std::ptr::null_mut()) }?;
    value.downcast_ref::<CFString>().map(ToString::to_string)
}

/// A retained `CVPixelBuffer` that may travel with a frame to other threads.
pub(crate) struct SendPixelBuffer(pub(crate) CFRetained<CVPixelBuffer>);

// SAFETY: Core Video pixel buffers are reference counted with atomic retain/release and
// may be used from any thread; this handle only keeps the buffer alive and never writes to it.
unsafe impl Send for SendPixelBuffer {}
// SAFETY: as above; shared references only read the (immutable) handle.
unsafe impl Sync for SendPixelBuffer {}
