//! VP9 superframes (VP9 bitstream specification, Annex B): several frames in one chunk (one
//! container packet), with an index of their sizes at the end.

use crate::api::error::{Result, VideoError};

/// The frames of one chunk: the frames a superframe index lists, or the whole chunk when it
/// has no index. A chunk whose index does not add up is `InvalidBitstream`.
pub fn split_superframe(chunk: &[u8]) -> Result<Vec<&[u8]>> {
    let Some(&last) = chunk.last() else {
        return Err(VideoError::invalid_bitstream("VP9: empty frame"));
    };
    if last & 0xe0 != 0xc0 {
        return Ok(vec![chunk]);
    }
    // Both at most 4 and 8, so the index is at most 2 + 4 * 8 bytes.
    let size_bytes = usize::from((last >> 3) & 0x3).saturating_add(1);
    let frames = usize::from(last & 0x7).saturating_add(1);
    let index_len = size_bytes.saturating_mul(frames).saturating_add(2);
    let Some(index_start) = chunk.len().checked_sub(index_len) else {
        return Ok(vec![chunk]);
    };
    if chunk.get(index_start) != Some(&last) {
        // Not an index: the last byte of a frame that happens to look like a marker.
        return Ok(vec![chunk]);
    }
    // The index starts and ends with the marker byte; the sizes lie between.
    let sizes = chunk
        .get(index_start..)
        .and_then(|index| index.get(1..index.len().saturating_sub(1)))
        .unwrap_or(&[]);
    let mut out = Vec::with_capacity(frames);
    let mut at = 0usize;
    for size in sizes.chunks_exact(size_bytes) {
        let len = size
            .iter()
            .rev()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let end = at
            .checked_add(len)
            .filter(|end| *end <= index_start)
            .ok_or_else(|| {
                VideoError::invalid_bitstream(format!(
                    "VP9 superframe index: frame sizes add up to more than the {index_start} bytes before the index"
                ))
            })?;
        // A zero-sized entry is allowed by libvpx's writer for skipped frames: no frame.
        if len > 0 {
            out.push(&chunk[at..end]);
        }
        at = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn superframe(frames: &[&[u8]], size_bytes: usize) -> Vec<u8> {
        let mut out: Vec<u8> = frames.concat();
        let marker = 0xc0 | (((size_bytes - 1) as u8) << 3) | (frames.len() as u8 - 1);
        out.push(marker);
        for f in frames {
            out.extend_from_slice(&f.len().to_le_bytes()[..size_bytes]);
        }
        out.push(marker);
        out
    }

    #[test]
    fn a_chunk_without_index_is_one_frame() {
        let f = [0x82u8, 0x49, 0x83, 0x42, 0x00];
        assert_eq!(split_superframe(&f).unwrap(), vec![&f[..]]);
    }

    #[test]
    fn a_superframe_splits_into_its_frames() {
        let a = [0x86u8, 1, 2, 3];
        let b = [0x88u8];
        let sf = superframe(&[&a, &b], 2);
        assert_eq!(split_superframe(&sf).unwrap(), vec![&a[..], &b[..]]);
    }

    #[test]
    fn an_index_larger_than_its_chunk_is_invalid_bitstream() {
        let mut sf = superframe(&[&[0x86u8, 1, 2, 3]], 1);
        sf[4 + 1] = 200;
        assert!(split_superframe(&sf).is_err());
        assert!(split_superframe(&[]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn superframes_round_trip(frames in proptest::collection::vec(proptest::collection::vec(0u8..0xc0, 1..300), 1..8), size_bytes in 2usize..=4) {
            let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
            let sf = superframe(&refs, size_bytes);
            proptest::prop_assert_eq!(split_superframe(&sf).unwrap(), refs);
        }

        #[test]
        fn any_chunk_splits_or_fails_without_panicking(data in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            if let Ok(frames) = split_superframe(&data) {
                proptest::prop_assert!(frames.iter().map(|f| f.len()).sum::<usize>() <= data.len());
            }
        }
    }
}
