//! The hand-over from a VideoToolbox output callback (on VideoToolbox's thread) to the adapter
//! (on the session's worker thread), shared by the decoder and the encoder: the callback only
//! retains what it is handed and enqueues it; the worker drains the queue.

use crate::api::error::{Result, VideoError};
use objc2_core_foundation::{CFRetained, Type};
use std::collections::VecDeque;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

/// The queue an output callback fills with deliveries `D`.
pub(super) struct CallbackQueue<D> {
    deliveries: Mutex<VecDeque<D>>,
}

impl<D> CallbackQueue<D> {
    /// An empty queue, shared by the adapter and (through [`CallbackQueue::refcon`]) its
    /// session's callback.
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            deliveries: Mutex::new(VecDeque::new()),
        })
    }

    /// The refcon to register with the session; the callback hands it to [`deliver`].
    pub(super) fn refcon(queue: &Arc<Self>) -> *mut c_void {
        Arc::as_ptr(queue) as *mut c_void
    }

    /// Enqueues one delivery (dropped only if a panic poisoned the queue).
    fn push(&self, delivery: D) {
        if let Ok(mut q) = self.deliveries.lock() {
            q.push_back(delivery);
        }
    }

    /// Every delivery so far, oldest first; `adapter` names the adapter in the error.
    pub(super) fn take(&self, adapter: &str) -> Result<Vec<D>> {
        match self.deliveries.lock() {
            Ok(mut q) => Ok(q.drain(..).collect()),
            Err(_) => Err(VideoError::backend(format!(
                "{adapter} callback queue poisoned"
            ))),
        }
    }
}

/// What an output callback does: retains the buffer it was handed (`None` for null), makes
/// the delivery of it and enqueues that on the adapter's queue behind `refcon`.
///
/// # Safety
/// `refcon` comes from [`CallbackQueue::refcon`] of a `CallbackQueue<D>` that is still alive
/// (the adapter keeps its `Arc` until its session is invalidated, after which no callback
/// runs), and `buffer` is null or a valid Core Foundation object for the callback's duration.
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
