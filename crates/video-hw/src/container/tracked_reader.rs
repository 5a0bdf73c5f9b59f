//! A reader for demuxing crates that own their reader and seek a lot: it knows its position
//! (so that their errors can name the byte offset), buffers reads so that seeks are free, and
//! serves at most a budget of bytes so that a crate looping on a damaged file stops.
//!
//! The Matroska crate seeks to every block's header and to the end of the file for each frame
//! (a `BufReader` would drop its buffer each time), and on some damaged files re-reads the
//! same bytes forever (a CRC-32 element opening the Segment). The budget is
//! [`BUDGET_PER_BYTE`] times the file's length plus [`BUDGET_BASE`]: a reader that reads each
//! byte about once never comes near it.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Bytes read from the inner reader at a time.
const CHUNK: usize = 64 * 1024;
/// Bytes served per byte of the file before the reader stops.
pub(crate) const BUDGET_PER_BYTE: u64 = 8;
/// Bytes served on top of the per-byte budget.
pub(crate) const BUDGET_BASE: u64 = 1 << 20;

/// Wraps a reader; a [`Position`] handle reads the offset of its next byte.
#[derive(Debug)]
pub(crate) struct TrackedReader<R> {
    inner: R,
    /// File offset of `buf[0]`.
    buf_start: u64,
    buf: Vec<u8>,
    len: u64,
    budget: u64,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    position: AtomicU64,
    exhausted: AtomicBool,
}

/// The position of a [`TrackedReader`], readable while the reader is owned elsewhere.
#[derive(Debug, Clone)]
pub(crate) struct Position(Arc<Shared>);

impl Position {
    /// Offset of the next byte the reader reads.
    pub(crate) fn get(&self) -> u64 {
        self.0.position.load(Ordering::Relaxed)
    }

    /// Whether the reader stopped because its budget ran out.
    pub(crate) fn exhausted(&self) -> bool {
        self.0.exhausted.load(Ordering::Relaxed)
    }
}

impl<R: Read + Seek> TrackedReader<R> {
    /// Wraps `inner` (its length is taken by seeking to the end) at offset 0.
    pub(crate) fn new(mut inner: R) -> std::io::Result<(Self, Position)> {
        let len = inner.seek(SeekFrom::End(0))?;
        inner.seek(SeekFrom::Start(0))?;
        let shared = Arc::new(Shared::default());
        let budget = len
            .saturating_mul(BUDGET_PER_BYTE)
            .saturating_add(BUDGET_BASE);
        Ok((
            Self {
                inner,
                buf_start: 0,
                buf: Vec::new(),
                len,
                budget,
                shared: Arc::clone(&shared),
            },
            Position(shared),
        ))
    }

    fn position(&self) -> u64 {
        self.shared.position.load(Ordering::Relaxed)
    }

    /// Fills the buffer from `at` on.
    fn refill(&mut self, at: u64) -> std::io::Result<()> {
        self.inner.seek(SeekFrom::Start(at))?;
        self.buf.clear();
        self.buf_start = at;
        (&mut self.inner)
            .take(CHUNK as u64)
            .read_to_end(&mut self.buf)?;
        Ok(())
    }
}

impl<R: Read + Seek> Read for TrackedReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let at = self.position();
        let end = self.buf_start.saturating_add(self.buf.len() as u64);
        if at < self.buf_start || at >= end {
            if at >= self.len {
                return Ok(0);
            }
            self.refill(at)?;
        }
        let from = usize::try_from(at.saturating_sub(self.buf_start)).unwrap_or(usize::MAX);
        let available = self.buf.get(from..).unwrap_or_default();
        let n = available.len().min(out.len());
        if n as u64 > self.budget {
            self.shared.exhausted.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other(
                "read budget exhausted: the file makes the reader go round in circles",
            ));
        }
        self.budget = self.budget.saturating_sub(n as u64);
        out[..n].copy_from_slice(&available[..n]);
        self.shared
            .position
            .store(at.saturating_add(n as u64), Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for TrackedReader<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.position().checked_add_signed(d),
        }
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        self.shared.position.store(target, Ordering::Relaxed);
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn position_follows_reads_and_seeks_and_reads_are_exact() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let (mut r, pos) = TrackedReader::new(Cursor::new(data.clone())).unwrap();
        let mut buf = [0u8; 10];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(pos.get(), 10);
        assert_eq!(buf[..], data[..10]);
        assert_eq!(r.seek(SeekFrom::Start(150_000)).unwrap(), 150_000);
        r.read_exact(&mut buf).unwrap();
        assert_eq!(buf[..], data[150_000..150_010]);
        assert_eq!(r.seek(SeekFrom::Current(-5)).unwrap(), 150_005);
        assert_eq!(r.seek(SeekFrom::End(-4)).unwrap(), 199_996);
        let mut tail = Vec::new();
        r.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, data[199_996..]);
        assert!(r.seek(SeekFrom::Current(-300_000)).is_err());
        assert!(!pos.exhausted());
    }

    #[test]
    fn re_reading_the_same_bytes_forever_runs_out_of_budget() {
        let (mut r, pos) = TrackedReader::new(Cursor::new(vec![7u8; 100])).unwrap();
        let mut byte = [0u8];
        let mut rounds = 0u64;
        let err = loop {
            r.seek(SeekFrom::Start(3)).unwrap();
            if let Err(e) = r.read_exact(&mut byte) {
                break e;
            }
            rounds += 1;
        };
        assert!(err.to_string().contains("budget"), "{err}");
        assert!(pos.exhausted());
        assert_eq!(rounds, 100 * BUDGET_PER_BYTE + BUDGET_BASE);
    }
}
