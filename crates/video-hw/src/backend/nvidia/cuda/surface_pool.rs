//! Pooled device buffers for GPU-resident frames: a frame's keepalive returns its buffer to
//! the pool when the caller drops the frame.

use super::{Context, DeviceBuffer};
use crate::api::error::Result;
use std::sync::{Arc, Mutex};

/// Buffers kept for reuse at most (frames the caller holds are not counted). Generous on
/// purpose: frames come back in bursts (a reaper drains the session's output queue at once),
/// and freeing a buffer only to allocate it again costs a `cuMemFree` + `cuMemAlloc` pair,
/// both of which serialise with every other session on the device.
const MAX_IDLE: usize = 64;

/// Device buffers of one size.
pub(crate) struct SurfacePool {
    ctx: Arc<Context>,
    len: usize,
    idle: Mutex<Vec<DeviceBuffer>>,
}

impl SurfacePool {
    /// A pool of buffers of `len` bytes.
    pub fn new(ctx: Arc<Context>, len: usize) -> Arc<Self> {
        Arc::new(Self {
            ctx,
            len,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Size of every buffer.
    pub fn buffer_len(&self) -> usize {
        self.len
    }

    /// An idle buffer, or a new one.
    pub fn take(self: &Arc<Self>) -> Result<PooledBuffer> {
        let reused = self.idle.lock().ok().and_then(|mut v| v.pop());
        let buffer = match reused {
            Some(b) => b,
            None => DeviceBuffer::new(self.ctx.clone(), self.len)?,
        };
        Ok(PooledBuffer {
            buffer: Some(buffer),
            pool: self.clone(),
        })
    }
}

/// A buffer lent by a [`SurfacePool`]; dropping it gives it back (or frees it when the pool
/// already holds enough idle buffers).
pub(crate) struct PooledBuffer {
    buffer: Option<DeviceBuffer>,
    pool: Arc<SurfacePool>,
}

impl PooledBuffer {
    /// The device address.
    pub fn ptr(&self) -> u64 {
        self.buffer.as_ref().map_or(0, |b| b.ptr)
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take()
            && let Ok(mut idle) = self.pool.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(b);
        }
    }
}
