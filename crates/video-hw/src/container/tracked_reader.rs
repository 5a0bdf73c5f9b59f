//! A reader that remembers where it is, so that an error of a demuxing crate that owns the
//! reader can still name the byte offset it happened at.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Wraps a reader; [`Position`] handles read the offset of its next byte.
#[derive(Debug)]
pub(crate) struct TrackedReader<R> {
    inner: R,
    position: Arc<AtomicU64>,
}

/// The position of a [`TrackedReader`], readable while the reader is owned elsewhere.
#[derive(Debug, Clone)]
pub(crate) struct Position(Arc<AtomicU64>);

impl Position {
    /// Offset of the next byte the reader reads.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl<R> TrackedReader<R> {
    /// Wraps `inner`, which is at offset `start`.
    pub(crate) fn new(inner: R, start: u64) -> (Self, Position) {
        let position = Arc::new(AtomicU64::new(start));
        (
            Self {
                inner,
                position: Arc::clone(&position),
            },
            Position(position),
        )
    }
}

impl<R: Read> Read for TrackedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.position.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Seek> Seek for TrackedReader<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let at = self.inner.seek(pos)?;
        self.position.store(at, Ordering::Relaxed);
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_follows_reads_and_seeks() {
        let (mut r, pos) = TrackedReader::new(std::io::Cursor::new(vec![0u8; 100]), 0);
        let mut buf = [0u8; 10];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(pos.get(), 10);
        r.seek(SeekFrom::Start(70)).unwrap();
        assert_eq!(pos.get(), 70);
        r.seek(SeekFrom::Current(-5)).unwrap();
        assert_eq!(pos.get(), 65);
    }
}
