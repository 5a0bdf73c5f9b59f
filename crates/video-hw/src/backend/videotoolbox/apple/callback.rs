//! The output callbacks' side of the hand-over to the adapter (shared by the decoder and the
//! encoder): retain what the callback is handed and enqueue it on the adapter's
//! [`CallbackQueue`]; the worker thread drains the queue.

use crate::backend::videotoolbox::callback_queue::CallbackQueue;
use objc2_core_foundation::{CFRetained, Type};
use std::ffi::c_void;
use std::ptr::NonNull;

/// What an output callback does: retains the buffer it was handed (`None` for null), makes
/// the delivery of it and enqueues that on the adapter's queue behind `refcon`.
///
/// # Safety
/// `refcon` is `Arc::as_ptr` of a `CallbackQueue<D>` that is still alive (the adapter keeps
/// its `Arc` until its session is invalidated, after which no callback runs), and `buffer` is
/// null or a valid Core Foundation object for the callback's duration.
pub(super) unsafe fn deliver<T: Type, D>(
    refcon: *mut c_void,
    buffer: *mut T,
    delivery: impl FnOnce(Option<CFRetained<T>>) -> D,
) {
    // SAFETY: `refcon` points at a live `CallbackQueue<D>` (the caller's contract).
    let queue = unsafe { &*(refcon as *const CallbackQueue<D>) };
    // SAFETY: non-null and valid for the callback (the caller's contract); retaining keeps it
    // alive after the callback returns.
    let retained = NonNull::new(buffer).map(|p| unsafe { CFRetained::retain(p) });
    queue.push(delivery(retained));
}
