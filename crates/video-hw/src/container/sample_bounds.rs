//! Sample counts checked against the bytes of the file before anything is allocated for them.
//!
//! An MP4 file states how many samples it has (`stts`, `trun`), and the MP4 crate allocates
//! per claimed sample. A claim is only believed when the file could hold that many samples:
//! every sample of an H.264/HEVC track holds at least [`MIN_SAMPLE_BYTES`] bytes, so a track
//! has at most `file length / MIN_SAMPLE_BYTES` samples. With this the sample index (and the
//! MP4 crate's per-sample tables) grows with the file, never with what the file claims; the
//! bound is documented in `docs/memory-bounds.md`.

use crate::api::error::{Result, VideoError};

/// The smallest sample that can hold a picture: a length prefix of at least one byte and a
/// slice NAL unit of at least three (H.264: one header byte and the first slice-header
/// fields; HEVC: two header bytes and one).
pub(crate) const MIN_SAMPLE_BYTES: u64 = 4;

/// `InvalidBitstream` unless `claimed` samples fit in a file of `file_len` bytes.
pub(crate) fn check_sample_count(what: &str, claimed: u64, file_len: u64) -> Result<()> {
    check_sample_count_of(what, claimed, file_len, MIN_SAMPLE_BYTES)
}

/// The smallest audio sample counted: two bytes (16-bit mono PCM, one sample per MP4
/// sample; a compressed frame is larger). Only [`super::Mp4AudioReader`] indexes audio.
pub(crate) const MIN_AUDIO_SAMPLE_BYTES: u64 = 2;

/// `InvalidBitstream` unless `claimed` samples of at least `min_bytes` each fit in a file
/// of `file_len` bytes.
pub(crate) fn check_sample_count_of(
    what: &str,
    claimed: u64,
    file_len: u64,
    min_bytes: u64,
) -> Result<()> {
    let max = file_len.checked_div(min_bytes).unwrap_or(file_len);
    if claimed > max {
        return Err(VideoError::invalid_bitstream(format!(
            "{what}: sample_count = {claimed} is out of range (a file of {file_len} bytes holds \
             at most {max} samples of {min_bytes} bytes or more)"
        )));
    }
    Ok(())
}

/// One box header: type, header length, and total size (`None`: to the end of `bytes`).
fn box_header(bytes: &[u8]) -> Option<([u8; 4], usize, Option<u64>)> {
    let size32 = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    let kind: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
    match size32 {
        0 => Some((kind, 8, None)),
        1 => {
            let large = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
            Some((kind, 16, Some(large)))
        }
        n => Some((kind, 8, Some(u64::from(n)))),
    }
}

/// The child boxes of a container's payload, as (type, payload); stops at the first box
/// that does not fit (the MP4 crate reports that one).
fn children(mut payload: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    std::iter::from_fn(move || {
        let (kind, header_len, size) = box_header(payload)?;
        let size = match size {
            Some(n) => usize::try_from(n).ok()?,
            None => payload.len(),
        };
        let body = payload.get(header_len..size)?;
        payload = payload.get(size..)?;
        Some((kind, body))
    })
}

/// The samples the `trun` boxes of a `moof` box claim (all tracks), when `bytes` starts with
/// a whole `moof`; `None` for any other bytes.
pub(crate) fn moof_claimed_samples(bytes: &[u8]) -> Option<u64> {
    let (kind, header_len, size) = box_header(bytes)?;
    if &kind != b"moof" {
        return None;
    }
    let end = match size {
        Some(n) => usize::try_from(n).ok()?,
        None => bytes.len(),
    };
    let payload = bytes.get(header_len..end)?;
    let mut claimed = 0u64;
    for (_, traf) in children(payload).filter(|(k, _)| k == b"traf") {
        for (_, trun) in children(traf).filter(|(k, _)| k == b"trun") {
            // version (1) and flags (3), then sample_count.
            let count = trun
                .get(4..8)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_be_bytes);
            claimed = claimed.saturating_add(u64::from(count));
        }
    }
    Some(claimed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let size = u32::try_from(payload.len() + 8).unwrap();
        let mut out = size.to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }

    fn trun(count: u32) -> Vec<u8> {
        let mut payload = vec![0, 0, 0, 0];
        payload.extend_from_slice(&count.to_be_bytes());
        mp4_box(b"trun", &payload)
    }

    #[test]
    fn moof_claims_add_up_over_every_trun_of_every_traf() {
        let traf1 = mp4_box(b"traf", &[trun(3), trun(u32::MAX)].concat());
        let traf2 = mp4_box(b"traf", &trun(5));
        let moof = mp4_box(b"moof", &[mp4_box(b"mfhd", &[0; 8]), traf1, traf2].concat());
        assert_eq!(moof_claimed_samples(&moof), Some(8 + u64::from(u32::MAX)));
        assert_eq!(moof_claimed_samples(&mp4_box(b"mdat", &[1, 2])), None);
        assert_eq!(moof_claimed_samples(&moof[..6]), None);
    }

    #[test]
    fn sample_counts_beyond_the_file_are_out_of_range() {
        assert!(check_sample_count("t", 250, 1000).is_ok());
        let err = check_sample_count("trun", 16_777_216, 899).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidBitstream);
        assert!(err.to_string().contains("sample_count = 16777216"), "{err}");
    }
}
