//! Incremental Annex-B splitting.
//!
//! The splitter keeps only the bytes of the NAL unit being cut (plus at most three bytes of
//! look-behind before the first start code), scans new bytes with `memchr` for the `0x01` of a
//! start code, and never looks at a byte twice. Its output does not depend on how the stream is
//! chunked: every decision is taken on stream positions, not chunk positions.

/// One NAL unit cut out of a byte stream: header included, start code and trailing zero
/// bytes removed, emulation-prevention bytes kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nal {
    /// The NAL unit bytes.
    pub data: Vec<u8>,
    /// Offset in the whole stream of the first byte of this NAL's start code (the `zero_byte`
    /// of a 4-byte start code).
    pub offset: u64,
}

/// Splits an Annex-B byte stream fed in chunks of any size into NAL units.
#[derive(Debug, Default)]
pub struct AnnexBSplitter {
    /// Pending bytes: the current NAL unit's payload so far (from `payload`), or before the
    /// first start code, the last few bytes seen.
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    buf_offset: u64,
    /// Positions of `buf` below this have been checked for the `0x01` of a start code.
    scanned: usize,
    /// Index in `buf` of the current NAL unit's first byte and stream offset of its start code.
    current: Option<(usize, u64)>,
    /// Stream offset of the first start code, once seen.
    first_start: Option<u64>,
}

impl AnnexBSplitter {
    /// A splitter at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes before the first start code (all bytes seen so far while none was found; after
    /// [`finish`](Self::finish) without any start code, the whole stream).
    pub fn skipped_bytes(&self) -> u64 {
        self.first_start.unwrap_or(self.buf_offset)
    }

    /// Feeds the next chunk; every NAL unit completed by it is appended to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Nal>) {
        if chunk.is_empty() {
            return;
        }
        self.buf.extend_from_slice(chunk);
        let mut i = self.scanned;
        // Positions inside `buf` (below its length, so no sum overflows), and the
        // subtractions only run where `j >= floor + 2` / `start > floor` were checked: the
        // saturating operations are exact.
        while let Some(rel) = memchr::memchr(1, &self.buf[i..]) {
            let j = i.saturating_add(rel);
            i = j.saturating_add(1);
            // The earliest position a start code's `0x00 0x00` may take.
            let floor = self.current.map_or(0, |(p, _)| p);
            if j < floor.saturating_add(2)
                || self.buf[j.saturating_sub(1)] != 0
                || self.buf[j.saturating_sub(2)] != 0
            {
                continue;
            }
            let mut start = j.saturating_sub(2);
            if start > floor && self.buf[start.saturating_sub(1)] == 0 {
                start = start.saturating_sub(1); // zero_byte of a 4-byte start code
            }
            let start_offset = self.buf_offset.saturating_add(start as u64);
            if let Some((p, offset)) = self.current {
                emit(&self.buf[p..start], offset, out);
            }
            self.first_start.get_or_insert(start_offset);
            self.current = Some((j.saturating_add(1), start_offset));
        }
        self.scanned = self.buf.len();
        self.compact();
    }

    /// Ends the stream: the last NAL unit, if any, is appended to `out`. The splitter is then
    /// ready for a new stream whose offsets continue after this one.
    pub fn finish(&mut self, out: &mut Vec<Nal>) {
        if let Some((p, offset)) = self.current.take() {
            emit(&self.buf[p..], offset, out);
        }
        self.buf_offset = self.buf_offset.saturating_add(self.buf.len() as u64);
        self.buf.clear();
        self.scanned = 0;
        if self.first_start.is_none() {
            self.first_start = Some(self.buf_offset);
        }
    }

    /// Drops bytes no longer needed: those before the current NAL unit, or before the first
    /// start code all but the last three (a start code may straddle chunks).
    fn compact(&mut self) {
        let keep_from = match self.current {
            Some((p, _)) => p,
            None => self.buf.len().saturating_sub(3),
        };
        if keep_from == 0 {
            return;
        }
        // Avoid moving a long pending NAL over and over: only shift when it pays.
        if self.current.is_some() && keep_from < self.buf.len() / 2 && keep_from < 4096 {
            return;
        }
        self.buf.drain(..keep_from);
        // `scanned` is the old length and `p` is `keep_from` or beyond: both exact.
        self.buf_offset = self.buf_offset.saturating_add(keep_from as u64);
        self.scanned = self.scanned.saturating_sub(keep_from);
        if let Some((p, _)) = &mut self.current {
            *p = p.saturating_sub(keep_from);
        }
    }
}

/// Appends `bytes` minus trailing zero bytes as a NAL unit, unless nothing is left.
fn emit(bytes: &[u8], offset: u64, out: &mut Vec<Nal>) {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i.saturating_add(1));
    if end > 0 {
        out.push(Nal {
            data: bytes[..end].to_vec(),
            offset,
        });
    }
}

/// Splits a whole Annex-B buffer into NAL units (a convenience over [`AnnexBSplitter`]).
pub fn split_annexb(data: &[u8]) -> Vec<Nal> {
    let mut splitter = AnnexBSplitter::new();
    let mut out = Vec::new();
    splitter.push(data, &mut out);
    splitter.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split_chunked(data: &[u8], sizes: &[usize]) -> (Vec<Nal>, u64) {
        let mut s = AnnexBSplitter::new();
        let mut out = Vec::new();
        let mut rest = data;
        let mut k = 0;
        while !rest.is_empty() {
            let n = sizes
                .get(k % sizes.len().max(1))
                .copied()
                .unwrap_or(1)
                .clamp(1, rest.len());
            k += 1;
            s.push(&rest[..n], &mut out);
            rest = &rest[n..];
        }
        s.finish(&mut out);
        (out, s.skipped_bytes())
    }

    #[test]
    fn three_and_four_byte_start_codes_give_offsets_of_the_start_code() {
        let data = [
            0xAA, 0xBB, 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4, 0, 0,
        ];
        let nals = split_annexb(&data);
        assert_eq!(
            nals,
            vec![
                Nal {
                    data: vec![0x67, 1, 2],
                    offset: 2
                },
                Nal {
                    data: vec![0x68, 3],
                    offset: 9
                },
                Nal {
                    data: vec![0x65, 4],
                    offset: 15
                },
            ]
        );
    }

    #[test]
    fn bytes_before_the_first_start_code_are_counted_as_skipped() {
        let (nals, skipped) = split_chunked(&[9, 9, 9, 0, 0, 1, 0x09, 0xF0], &[1]);
        assert_eq!(nals.len(), 1);
        assert_eq!(skipped, 3);
        let (nals, skipped) = split_chunked(&[9, 0, 0, 9, 0, 0], &[2]);
        assert!(nals.is_empty());
        assert_eq!(skipped, 6);
    }

    #[test]
    fn emulation_prevention_bytes_are_kept() {
        let nals = split_annexb(&[0, 0, 1, 0x06, 0, 0, 3, 1, 0x80]);
        assert_eq!(nals[0].data, vec![0x06, 0, 0, 3, 1, 0x80]);
    }

    #[test]
    fn one_byte_chunks_split_a_start_code_like_whole_input() {
        let data = [
            0, 0, 0, 1, 0x67, 0, 0, 0, 1, 0x68, 0xCE, 0, 0, 1, 0x65, 0x88,
        ];
        assert_eq!(split_chunked(&data, &[1]).0, split_annexb(&data));
        assert_eq!(split_annexb(&data).len(), 3);
    }

    #[test]
    fn long_nal_units_survive_compaction() {
        let mut data = vec![0, 0, 1, 0x65];
        data.extend((0..20_000u32).map(|i| (i % 200 + 2) as u8));
        data.extend([0, 0, 1, 0x41, 7]);
        let nals = split_chunked(&data, &[333, 1, 4097]).0;
        assert_eq!(nals.len(), 2);
        assert_eq!(nals[0].data.len(), 20_001);
        assert_eq!(nals[1].offset, 20_004);
    }

    proptest! {
        #[test]
        fn chunking_never_changes_the_output(
            data in proptest::collection::vec(prop_oneof![Just(0u8), Just(1u8), Just(3u8), any::<u8>()], 0..400),
            sizes in proptest::collection::vec(1usize..20, 1..8),
        ) {
            let whole = split_chunked(&data, &[data.len().max(1)]);
            prop_assert_eq!(split_chunked(&data, &sizes), whole);
        }
    }
}
