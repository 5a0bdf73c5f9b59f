//! Pooled device buffers for GPU-resident frames: a frame's keepalive returns its buffer to
//! the pool when the caller drops the frame.
//!
//! Buffers in a device's primary context are pooled process-wide, per GPU and size
//! ([`SurfacePool::shared`]): the buffers of frames one session handed out serve the next
//! session, so a decode after the first allocates nothing, and no buffer is freed while
//! sessions decode. Both matter with several sessions: `cuMemAlloc` serialises them, and
//! `cuMemFree` waits for the whole device. Idle buffers are kept, all GPUs and sizes together,
//! up to an eighth of the largest GPU's memory and at least [`MIN_CACHE_BYTES`] (what one
//! parallel decode's waiting frames may hold, `crate::pipeline::AUTO_MEMORY_BUDGET`), for the
//! life of the process or until [`release_idle`]. Sessions in contexts of their own keep a
//! small pool of their own.

use super::{Context, DeviceBuffer};
use crate::api::error::Result;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Buffers a session's own pool keeps for reuse at most (frames the caller holds are not
/// counted). Generous on purpose: frames come back in bursts (a reaper drains the session's
/// output queue at once), and freeing a buffer only to allocate it again costs a `cuMemFree`
/// + `cuMemAlloc` pair, both of which serialise with every other session on the device.
const MAX_IDLE: usize = 64;

/// Idle bytes the process-wide pools keep at least, whatever the GPU's memory.
pub(crate) const MIN_CACHE_BYTES: usize = 4 << 30;

/// Idle bytes the process-wide pools keep at most: an eighth of the memory of the largest
/// GPU a pool was made for, at least [`MIN_CACHE_BYTES`].
static CACHE_BYTES: AtomicUsize = AtomicUsize::new(MIN_CACHE_BYTES);

/// Idle bytes in the process-wide pools now.
static IDLE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// The process-wide pools, one per GPU and buffer size.
fn registry() -> &'static Mutex<Vec<Arc<SurfacePool>>> {
    static POOLS: OnceLock<Mutex<Vec<Arc<SurfacePool>>>> = OnceLock::new();
    POOLS.get_or_init(Default::default)
}

/// Device buffers of one size.
pub(crate) struct SurfacePool {
    ctx: Arc<Context>,
    len: usize,
    idle: Mutex<Vec<DeviceBuffer>>,
    /// Process-wide (idle bytes counted in [`IDLE_BYTES`]) rather than a session's own.
    shared: bool,
}

impl SurfacePool {
    /// A session's own pool of buffers of `len` bytes.
    pub fn new(ctx: Arc<Context>, len: usize) -> Arc<Self> {
        Arc::new(Self {
            ctx,
            len,
            idle: Mutex::new(Vec::new()),
            shared: false,
        })
    }

    /// The pool of buffers of `len` bytes for sessions in `ctx`: process-wide for a primary
    /// context (one per GPU and size), else a new pool of the session's own.
    pub fn shared(ctx: &Arc<Context>, len: usize) -> Arc<Self> {
        if !ctx.is_primary() {
            return Self::new(ctx.clone(), len);
        }
        let Ok(mut pools) = registry().lock() else {
            return Self::new(ctx.clone(), len);
        };
        if let Some(p) = pools
            .iter()
            .find(|p| p.ctx.gpu() == ctx.gpu() && p.len == len)
        {
            return p.clone();
        }
        if let Ok((_, memory)) = super::device_facts(ctx.gpu()) {
            let eighth = usize::try_from(memory / 8).unwrap_or(usize::MAX);
            CACHE_BYTES.fetch_max(eighth, Ordering::Relaxed);
        }
        let pool = Arc::new(Self {
            ctx: ctx.clone(),
            len,
            idle: Mutex::new(Vec::new()),
            shared: true,
        });
        pools.push(pool.clone());
        pool
    }

    /// Size of every buffer.
    pub fn buffer_len(&self) -> usize {
        self.len
    }

    /// An idle buffer, or a new one.
    pub fn take(self: &Arc<Self>) -> Result<PooledBuffer> {
        let reused = self.idle.lock().ok().and_then(|mut v| v.pop());
        let buffer = match reused {
            Some(b) => {
                if self.shared {
                    IDLE_BYTES.fetch_sub(self.len, Ordering::Relaxed);
                }
                b
            }
            None => DeviceBuffer::new(self.ctx.clone(), self.len)?,
        };
        Ok(PooledBuffer {
            buffer: Some(buffer),
            pool: self.clone(),
        })
    }

    /// Takes `b` back as idle, or says no (the caller frees it).
    fn give_back(&self, b: DeviceBuffer) -> Option<DeviceBuffer> {
        let Ok(mut idle) = self.idle.lock() else {
            return Some(b);
        };
        let room = if self.shared {
            IDLE_BYTES
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    (n + self.len <= CACHE_BYTES.load(Ordering::Relaxed)).then_some(n + self.len)
                })
                .is_ok()
        } else {
            idle.len() < MAX_IDLE
        };
        if !room {
            return Some(b);
        }
        idle.push(b);
        None
    }
}

/// Frees every idle buffer of the process-wide pools (buffers of frames still held return
/// to their pool when dropped, and are kept again).
pub(crate) fn release_idle() {
    let pools: Vec<Arc<SurfacePool>> = registry().lock().map(|p| p.clone()).unwrap_or_default();
    for pool in pools {
        let freed: Vec<DeviceBuffer> = pool
            .idle
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        IDLE_BYTES.fetch_sub(freed.len() * pool.len, Ordering::Relaxed);
        drop(freed);
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
        if let Some(b) = self.buffer.take() {
            // Freed here when the pool has no room (DeviceBuffer's own Drop).
            drop(self.pool.give_back(b));
        }
    }
}
