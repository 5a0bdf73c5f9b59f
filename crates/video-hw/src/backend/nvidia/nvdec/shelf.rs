//! Idle NVDEC decoders kept for the next session of the process.
//!
//! Creating a decoder takes 36-58 ms alone and 100-170 ms when several are created at once;
//! destroying one takes 80-300 ms, and the driver serialises both with the other sessions'
//! creations (`docs/performance.md`). A program that decodes file after file of one format
//! (a data loader, a Python decoder's passes, a server) paid both for every file. Now a
//! session that ends cleanly (its last call a flush, nothing left in flight) puts its decoder
//! on the shelf instead of destroying it, and a later session whose stream needs a decoder of
//! exactly that format ([`DecoderKey`]) takes it instead of creating one: the same reuse a
//! session already makes of its own decoder after a flush.
//!
//! - [`Shelf`] is the logic (matching, capacity, expiry), with no CUDA in it, so that it is
//!   tested here and the NVDEC double can hold one.
//! - The process-wide shelf ([`keep`], [`take`], [`release_idle`]) holds decoders of primary
//!   contexts only, [`CAPACITY`] at most, each for [`KEEP_FOR`]: a thread of its own destroys
//!   what nobody took in time (with its context current), and exits when the shelf is empty.
//!   A shelved decoder holds a reference on its context. Decoders still shelved when the
//!   process exits are freed by the driver with the context.
//! - [`crate::NvidiaOptions::keep_idle_decoders`] (`VIDEO_HW_NV_KEEP_DECODERS=0`) turns it
//!   off: each session then destroys its decoder as it closes.

use super::calls::{LibraryCalls, NvdecCalls, library};
use super::ffi::{CUvideodecoder, cudaVideoChromaFormat};
use crate::api::codec::Codec;
use crate::backend::nvidia::cuda::Context;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Idle decoders the process keeps at most (all GPUs and formats together).
pub(crate) const CAPACITY: usize = 16;

/// How long an idle decoder waits to be taken before it is destroyed.
pub(crate) const KEEP_FOR: Duration = Duration::from_secs(2);

/// What a decoder was created for: a session takes only a decoder whose key equals the one
/// its stream needs, so a decoder taken is the decoder it would have created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DecoderKey {
    /// The device (`DecoderConfig::gpu`).
    pub gpu: u32,
    pub codec: Codec,
    pub chroma_format: cudaVideoChromaFormat,
    pub bit_depth: u8,
    /// Coded size (also the maximum it may be reconfigured to).
    pub width: u32,
    pub height: u32,
    /// Decode surfaces.
    pub surfaces: u32,
}

struct Item<T> {
    key: DecoderKey,
    since: Instant,
    value: T,
}

/// Idle values (decoders) by key, the most recently kept taken first, the oldest pushed out
/// when full.
pub(crate) struct Shelf<T> {
    items: Vec<Item<T>>,
    capacity: usize,
}

impl<T> Shelf<T> {
    /// An empty shelf that holds `capacity` values at most.
    pub const fn new(capacity: usize) -> Self {
        Self {
            items: Vec::new(),
            capacity,
        }
    }

    /// Values on the shelf.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Takes the most recently kept value for `key`.
    pub fn take(&mut self, key: &DecoderKey) -> Option<T> {
        let at = self.items.iter().rposition(|i| i.key == *key)?;
        Some(self.items.remove(at).value)
    }

    /// Keeps `value` for `key` from `now`. Returns what no longer fits: the oldest value when
    /// the shelf was full, or `value` itself on a shelf of no capacity.
    pub fn put(&mut self, key: DecoderKey, value: T, now: Instant) -> Option<T> {
        if self.capacity == 0 {
            return Some(value);
        }
        let out = (self.items.len() >= self.capacity).then(|| self.items.remove(0).value);
        self.items.push(Item {
            key,
            since: now,
            value,
        });
        out
    }

    /// Removes and returns every value kept for `keep_for` or longer at `now`.
    pub fn expired(&mut self, now: Instant, keep_for: Duration) -> Vec<T> {
        let (old, young): (Vec<_>, Vec<_>) = std::mem::take(&mut self.items)
            .into_iter()
            .partition(|i| now.saturating_duration_since(i.since) >= keep_for);
        self.items = young;
        old.into_iter().map(|i| i.value).collect()
    }

    /// When the next value expires, if any is kept.
    pub fn next_expiry(&self, keep_for: Duration) -> Option<Instant> {
        self.items.iter().map(|i| i.since + keep_for).min()
    }

    /// Removes and returns every value.
    pub fn drain(&mut self) -> Vec<T> {
        std::mem::take(&mut self.items)
            .into_iter()
            .map(|i| i.value)
            .collect()
    }
}

/// A decoder on the process-wide shelf, with the context it was made in; destroyed on drop
/// unless taken.
struct IdleDecoder {
    handle: Option<CUvideodecoder>,
    calls: LibraryCalls,
    ctx: Arc<Context>,
}

// SAFETY: a decoder handle may be used from any thread with its context current (`Drop` makes
// it current); while shelved, nothing else holds the handle.
unsafe impl Send for IdleDecoder {}

impl Drop for IdleDecoder {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take()
            && self.ctx.make_current().is_ok()
        {
            self.calls.destroy_decoder(handle);
        }
    }
}

/// The process-wide shelf, and whether its thread runs.
struct Keeper {
    state: Mutex<(Shelf<IdleDecoder>, bool)>,
    wake: Condvar,
}

fn keeper() -> &'static Keeper {
    static KEEPER: OnceLock<Keeper> = OnceLock::new();
    KEEPER.get_or_init(|| Keeper {
        state: Mutex::new((Shelf::new(CAPACITY), false)),
        wake: Condvar::new(),
    })
}

/// Takes an idle decoder made for `key` in `ctx` (a primary context), if one is shelved.
pub(crate) fn take(key: &DecoderKey, ctx: &Arc<Context>) -> Option<CUvideodecoder> {
    if !ctx.is_primary() || key.gpu != ctx.gpu() {
        return None;
    }
    let mut idle = keeper().state.lock().ok()?.0.take(key)?;
    idle.handle.take()
}

/// Shelves `handle`, made for `key` in `ctx` and idle (no surface mapped, no picture anyone
/// waits for). Hands it back when it is not kept (a context of a session's own, or no thread
/// to expire it): the caller destroys it.
pub(crate) fn keep(
    key: DecoderKey,
    handle: CUvideodecoder,
    ctx: &Arc<Context>,
) -> Option<CUvideodecoder> {
    let Ok(lib) = library() else {
        return Some(handle);
    };
    if !ctx.is_primary() || key.gpu != ctx.gpu() {
        return Some(handle);
    }
    let k = keeper();
    let Ok(mut state) = k.state.lock() else {
        return Some(handle);
    };
    if !state.1 {
        let spawned = std::thread::Builder::new()
            .name("video-hw-nvdec-shelf".into())
            .spawn(expire_idle);
        if spawned.is_err() {
            return Some(handle);
        }
        state.1 = true;
    }
    let idle = IdleDecoder {
        handle: Some(handle),
        calls: LibraryCalls::new(lib),
        ctx: ctx.clone(),
    };
    let pushed_out = state.0.put(key, idle, Instant::now());
    drop(state);
    // Destroyed here, outside the lock.
    drop(pushed_out);
    None
}

/// The shelf's thread: destroys decoders idle for [`KEEP_FOR`]; exits once the shelf is empty.
fn expire_idle() {
    let k = keeper();
    let Ok(mut state) = k.state.lock() else {
        return;
    };
    loop {
        let now = Instant::now();
        let expired = state.0.expired(now, KEEP_FOR);
        if !expired.is_empty() {
            drop(state);
            drop(expired);
            let Ok(s) = k.state.lock() else {
                return;
            };
            state = s;
            continue;
        }
        let Some(next) = state.0.next_expiry(KEEP_FOR) else {
            state.1 = false;
            return;
        };
        let Ok((s, _)) = k
            .wake
            .wait_timeout(state, next.saturating_duration_since(now))
        else {
            return;
        };
        state = s;
    }
}

/// Destroys every shelved decoder now.
pub(crate) fn release_idle() {
    let drained = keeper()
        .state
        .lock()
        .map(|mut s| s.0.drain())
        .unwrap_or_default();
    drop(drained);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(width: u32) -> DecoderKey {
        DecoderKey {
            gpu: 0,
            codec: Codec::Hevc,
            chroma_format: 1,
            bit_depth: 8,
            width,
            height: 1088,
            surfaces: 10,
        }
    }

    #[test]
    fn a_shelf_hands_out_only_what_was_kept_for_the_same_key() {
        let t = Instant::now();
        let mut shelf = Shelf::new(4);
        assert!(shelf.put(key(1920), "a", t).is_none());
        assert_eq!(shelf.take(&key(1280)), None);
        let other_surfaces = DecoderKey {
            surfaces: 11,
            ..key(1920)
        };
        assert_eq!(shelf.take(&other_surfaces), None);
        let other_gpu = DecoderKey {
            gpu: 1,
            ..key(1920)
        };
        assert_eq!(shelf.take(&other_gpu), None);
        assert_eq!(shelf.take(&key(1920)), Some("a"));
        assert_eq!(shelf.take(&key(1920)), None);
    }

    #[test]
    fn a_shelf_hands_out_the_most_recently_kept_first() {
        let t = Instant::now();
        let mut shelf = Shelf::new(4);
        shelf.put(key(1920), 1, t);
        shelf.put(key(1280), 2, t);
        shelf.put(key(1920), 3, t);
        assert_eq!(shelf.take(&key(1920)), Some(3));
        assert_eq!(shelf.take(&key(1920)), Some(1));
        assert_eq!(shelf.len(), 1);
    }

    #[test]
    fn a_full_shelf_pushes_out_the_oldest_and_one_of_no_capacity_keeps_nothing() {
        let t = Instant::now();
        let mut shelf = Shelf::new(2);
        assert_eq!(shelf.put(key(1), 1, t), None);
        assert_eq!(shelf.put(key(2), 2, t), None);
        assert_eq!(shelf.put(key(3), 3, t), Some(1));
        assert_eq!(shelf.len(), 2);
        let mut none = Shelf::new(0);
        assert_eq!(none.put(key(1), 1, t), Some(1));
        assert_eq!(none.len(), 0);
    }

    #[test]
    fn values_expire_after_the_keep_time_and_not_before() {
        let t = Instant::now();
        let keep = Duration::from_secs(2);
        let mut shelf = Shelf::new(4);
        shelf.put(key(1), 1, t);
        shelf.put(key(2), 2, t + Duration::from_secs(1));
        assert_eq!(shelf.next_expiry(keep), Some(t + keep));
        assert!(
            shelf
                .expired(t + Duration::from_millis(1999), keep)
                .is_empty()
        );
        assert_eq!(shelf.expired(t + keep, keep), vec![1]);
        assert_eq!(shelf.next_expiry(keep), Some(t + Duration::from_secs(3)));
        assert_eq!(shelf.drain(), vec![2]);
        assert_eq!(shelf.next_expiry(keep), None);
    }
}
