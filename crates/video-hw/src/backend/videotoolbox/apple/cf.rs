//! Small Core Foundation / Core Video helpers shared by the decoder and the encoder.

use crate::api::error::Result;
use crate::backend::videotoolbox::status::status_error;
use objc2_core_foundation::{CFRetained, CFString, CFType};
use objc2_core_video::{CVImageBuffer, CVPixelBuffer};

/// `Ok` for `noErr`, else the typed error for `what`.
pub(super) fn check(what: &str, status: i32) -> Result<()> {
    if status == 0 {
        Ok(())
    } else {
        Err(status_error(what, status))
    }
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
