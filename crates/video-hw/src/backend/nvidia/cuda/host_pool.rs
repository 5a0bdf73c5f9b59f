//! Host planes lent to frames and recycled: `Arc<[u8]>` buffers that the pool reuses once
//! every frame holding them has been dropped, page-locked with `cuMemHostRegister` where the
//! driver allows, so that the copy from the device lands in them directly (no staging copy,
//! no fresh allocation and page faults per frame).
//!
//! A buffer is free when the pool holds the only reference (`Arc::get_mut` succeeds): the
//! caller's frames keep their planes alive as long as they like, and a plane outliving the
//! session stays valid (it is merely no longer page-locked).

use super::{Context, check};
use crate::api::error::Result;
use crate::backend::nvidia::stats::{self, COUNTERS};
use cudarc::driver::sys;
use std::sync::Arc;

/// Buffers smaller than this are not page-locked: their copies are short anyway, and small
/// allocations share pages with other heap data, which the driver cannot lock twice (a
/// refused registration only costs speed: the copy goes through the driver's staging).
const PIN_MIN_BYTES: usize = 64 << 10;

/// Sizes not asked for during this many acquisitions have their free buffers released.
const STALE_AFTER: u64 = 256;

/// One pooled buffer.
struct Buffer {
    data: Arc<[u8]>,
    /// Registered with the driver (unregistered when the pool lets the buffer go).
    pinned: bool,
}

/// The buffers of one size.
struct Class {
    len: usize,
    buffers: Vec<Buffer>,
    last_used: u64,
}

/// A buffer handed out by [`HostPool::acquire`]: write through `ptr` (until the frame is
/// built), then hand `data` to the frame.
pub(crate) struct Lease {
    /// The start of the buffer, writable: nothing else holds the buffer until `data` is cloned
    /// out of this lease.
    pub ptr: *mut u8,
    /// The buffer itself (the frame's plane).
    pub data: Arc<[u8]>,
}

/// What the pool has done, for the counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolStats {
    /// Buffers allocated (pooled or not).
    pub allocated: u64,
    /// Acquisitions served by a recycled buffer.
    pub reused: u64,
    /// Buffers page-locked.
    pub pinned: u64,
    /// Buffers that could not be page-locked (copies into them are slower).
    pub pin_failures: u64,
}

/// Recycled host buffers of one session.
pub(crate) struct HostPool {
    ctx: Option<Arc<Context>>,
    classes: Vec<Class>,
    /// Buffers kept per size at most; beyond, buffers are allocated for one frame only.
    limit: usize,
    /// Buffers page-locked per size at most (the first ones made, which steady decoding
    /// reuses); the others, made for bursts such as a flush, stay pageable.
    pin_limit: usize,
    clock: u64,
    stats: PoolStats,
}

impl HostPool {
    /// A pool that page-locks its buffers in `ctx` (none: plain memory, for tests) and keeps
    /// at most `limit` buffers of each size.
    pub fn new(ctx: Option<Arc<Context>>, limit: usize) -> Self {
        Self {
            ctx,
            classes: Vec::new(),
            limit: limit.max(1),
            pin_limit: usize::MAX,
            clock: 0,
            stats: PoolStats::default(),
        }
    }

    /// Page-locks at most `n` buffers of each size.
    pub fn with_pin_limit(mut self, n: usize) -> Self {
        self.pin_limit = n;
        self
    }

    /// What the pool has done so far.
    #[cfg(test)]
    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    /// Buffers held (free or lent).
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.classes.iter().map(|c| c.buffers.len()).sum()
    }

    /// A buffer of exactly `len` bytes that nothing else references.
    pub fn acquire(&mut self, len: usize) -> Result<Lease> {
        self.clock += 1;
        let now = self.clock;
        self.release_stale(now);
        let idx = match self.classes.iter().position(|c| c.len == len) {
            Some(i) => i,
            None => {
                self.classes.push(Class {
                    len,
                    buffers: Vec::new(),
                    last_used: now,
                });
                self.classes.len() - 1
            }
        };
        let class = &mut self.classes[idx];
        class.last_used = now;
        for b in &mut class.buffers {
            if let Some(bytes) = Arc::get_mut(&mut b.data) {
                let ptr = bytes.as_mut_ptr();
                self.stats.reused += 1;
                stats::add(&COUNTERS.host_buffers_reused, 1);
                return Ok(Lease {
                    ptr,
                    data: b.data.clone(),
                });
            }
        }
        let mut data: Arc<[u8]> = std::iter::repeat_n(0u8, len).collect();
        self.stats.allocated += 1;
        stats::add(&COUNTERS.host_buffers_allocated, 1);
        let ptr = Arc::get_mut(&mut data)
            .expect("a new Arc is unique")
            .as_mut_ptr();
        let keep = class.buffers.len() < self.limit;
        let try_pin = keep
            && len >= PIN_MIN_BYTES
            && self.ctx.is_some()
            && class.buffers.iter().filter(|b| b.pinned).count() < self.pin_limit;
        let pinned = try_pin && self.ctx.as_ref().is_some_and(|c| pin(c, ptr, len));
        if try_pin {
            if pinned {
                self.stats.pinned += 1;
                stats::add(&COUNTERS.host_buffers_pinned, 1);
            } else {
                self.stats.pin_failures += 1;
                stats::add(&COUNTERS.host_pin_failures, 1);
            }
        }
        if keep {
            let class = &mut self.classes[idx];
            class.buffers.push(Buffer {
                data: data.clone(),
                pinned,
            });
        }
        Ok(Lease { ptr, data })
    }

    /// Lets go of the free buffers of sizes not asked for lately (a resolution change).
    fn release_stale(&mut self, now: u64) {
        let ctx = self.ctx.clone();
        for class in &mut self.classes {
            if now - class.last_used > STALE_AFTER {
                class.buffers.retain_mut(|b| {
                    if Arc::get_mut(&mut b.data).is_none() {
                        return true;
                    }
                    unpin(ctx.as_deref(), b);
                    false
                });
            }
        }
        self.classes
            .retain(|c| !c.buffers.is_empty() || c.last_used == now);
    }
}

impl Drop for HostPool {
    fn drop(&mut self) {
        let ctx = self.ctx.clone();
        for class in &mut self.classes {
            for b in &mut class.buffers {
                unpin(ctx.as_deref(), b);
            }
        }
    }
}

/// Page-locks `len` bytes at `ptr`; whether the driver agreed.
fn pin(ctx: &Context, ptr: *mut u8, len: usize) -> bool {
    if ctx.make_current().is_err() {
        return false;
    }
    // SAFETY: `ptr` addresses `len` bytes of a live allocation that the pool keeps until it
    // unregisters them (`unpin`); registration does not move or change the memory.
    let res = unsafe { sys::cuMemHostRegister_v2(ptr.cast(), len, 0) };
    check(res, "cuMemHostRegister").is_ok()
}

/// Undoes `pin` for a buffer the pool lets go (frames may still hold it: it stays valid).
fn unpin(ctx: Option<&Context>, b: &mut Buffer) {
    if let (true, Some(ctx)) = (b.pinned, ctx) {
        let _ = ctx.make_current();
        // SAFETY: the address was registered by `pin` and is unregistered once; the buffer
        // is still alive (the pool holds a reference).
        let _ = unsafe { sys::cuMemHostUnregister(b.data.as_ptr().cast_mut().cast()) };
        b.pinned = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_once_every_frame_holding_it_is_dropped() {
        let mut pool = HostPool::new(None, 4);
        let first = pool.acquire(4096).unwrap();
        let first_ptr = first.ptr;
        let held = first.data;
        // Still held by a frame: a second buffer is made.
        let second = pool.acquire(4096).unwrap();
        assert_ne!(second.ptr, first_ptr);
        drop(second);
        drop(held);
        let again = pool.acquire(4096).unwrap();
        assert_eq!(again.ptr, first_ptr, "the first free buffer is reused");
        assert_eq!(pool.stats().allocated, 2);
        assert_eq!(pool.stats().reused, 1);
    }

    #[test]
    fn a_lent_buffer_is_exactly_the_size_asked_and_never_shared() {
        let mut pool = HostPool::new(None, 8);
        let leases: Vec<Lease> = (0..5).map(|_| pool.acquire(1000).unwrap()).collect();
        let mut ptrs: Vec<_> = leases.iter().map(|l| l.ptr as usize).collect();
        ptrs.sort_unstable();
        ptrs.dedup();
        assert_eq!(ptrs.len(), 5, "frames alive at once never share a buffer");
        assert!(leases.iter().all(|l| l.data.len() == 1000));
    }

    #[test]
    fn beyond_the_limit_buffers_are_made_for_one_frame_and_not_kept() {
        let mut pool = HostPool::new(None, 2);
        let held: Vec<Arc<[u8]>> = (0..5).map(|_| pool.acquire(64).unwrap().data).collect();
        assert_eq!(pool.held(), 2);
        drop(held);
        assert_eq!(pool.held(), 2);
        assert_eq!(pool.stats().allocated, 5);
    }

    #[test]
    fn sizes_no_longer_asked_for_are_released() {
        let mut pool = HostPool::new(None, 4);
        drop(pool.acquire(100).unwrap());
        for _ in 0..=STALE_AFTER {
            drop(pool.acquire(200).unwrap());
        }
        assert_eq!(pool.held(), 1, "only the 200-byte buffer is left");
    }

    #[test]
    fn a_plane_outlives_the_pool() {
        let mut pool = HostPool::new(None, 4);
        let lease = pool.acquire(16).unwrap();
        // SAFETY: the lease is the only holder; 16 bytes were asked for.
        unsafe { std::ptr::write_bytes(lease.ptr, 7, 16) };
        let plane = lease.data;
        drop(pool);
        assert!(plane.iter().all(|&b| b == 7));
    }
}
