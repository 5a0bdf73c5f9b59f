//! The hand-over from a VideoToolbox output callback (on VideoToolbox's thread) to the adapter
//! (on the session's worker thread), shared by the decoder and the encoder: the callback only
//! retains what it is handed and enqueues it; the worker drains the queue.

use crate::api::error::{Result, VideoError};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The queue an output callback fills with deliveries `D`.
pub(crate) struct CallbackQueue<D> {
    deliveries: Mutex<VecDeque<D>>,
}

impl<D> CallbackQueue<D> {
    /// An empty queue, shared by the adapter and its session's callback.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            deliveries: Mutex::new(VecDeque::new()),
        })
    }

    /// Enqueues one delivery (dropped only if a panic poisoned the queue).
    pub(crate) fn push(&self, delivery: D) {
        if let Ok(mut q) = self.deliveries.lock() {
            q.push_back(delivery);
        }
    }

    /// Every delivery so far, oldest first; `adapter` names the adapter in the error.
    pub(crate) fn take(&self, adapter: &str) -> Result<Vec<D>> {
        match self.deliveries.lock() {
            Ok(mut q) => Ok(q.drain(..).collect()),
            Err(_) => Err(VideoError::backend(format!(
                "{adapter} callback queue poisoned"
            ))),
        }
    }
}
