//! The decoder's frame planes, reused once every holder has dropped them: a fresh 3 MB buffer
//! per 1080p plane costs page faults on every frame (about 0.3 s of system time per 600
//! frames, measured against the `ffmpeg` command), a reused one none.

use std::sync::Arc;

/// Buffers handed out, kept to be reused when their frames are gone.
#[derive(Default)]
pub(super) struct PlanePool {
    kept: Vec<Arc<[u8]>>,
}

/// Most buffers kept (three planes of six frames): frames held longer by their consumer are
/// not waited for; a new buffer is allocated instead.
const KEEP: usize = 18;

impl PlanePool {
    /// A buffer of `len` bytes filled by `fill`, reused when one of that size is free (its
    /// content is overwritten by `fill` whole), else new.
    pub(super) fn filled(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) -> Arc<[u8]> {
        let free = self
            .kept
            .iter()
            .position(|b| b.len() == len && Arc::strong_count(b) == 1 && Arc::weak_count(b) == 0);
        let mut buf = match free {
            Some(i) => self.kept.swap_remove(i),
            None => Arc::from(vec![0u8; len]),
        };
        let buf = match Arc::get_mut(&mut buf) {
            Some(bytes) => {
                fill(bytes);
                buf
            }
            // Not reachable (the buffer was free), but never write into a shared one.
            None => {
                let mut fresh = vec![0u8; len];
                fill(&mut fresh);
                Arc::from(fresh)
            }
        };
        if self.kept.len() >= KEEP {
            // Forget the oldest kept buffer (its frame, if alive, keeps it).
            self.kept.remove(0);
        }
        self.kept.push(buf.clone());
        buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_comes_back_only_once_its_frame_is_gone() {
        let mut pool = PlanePool::default();
        let a = pool.filled(4, |b| b.copy_from_slice(&[1, 2, 3, 4]));
        let held = pool.filled(4, |b| b.copy_from_slice(&[5, 6, 7, 8]));
        assert!(!Arc::ptr_eq(&a, &held), "a held buffer is never reused");
        let a_ptr = Arc::as_ptr(&a);
        drop(a);
        let again = pool.filled(4, |b| b.copy_from_slice(&[9, 9, 9, 9]));
        assert_eq!(Arc::as_ptr(&again), a_ptr, "the freed buffer is reused");
        assert_eq!(&again[..], &[9, 9, 9, 9]);
        assert_eq!(&held[..], &[5, 6, 7, 8], "the held frame is untouched");
    }

    #[test]
    fn the_pool_keeps_a_bounded_number_of_buffers() {
        let mut pool = PlanePool::default();
        let held: Vec<_> = (0..KEEP + 5).map(|_| pool.filled(2, |_| {})).collect();
        assert_eq!(pool.kept.len(), KEEP);
        drop(held);
    }
}
