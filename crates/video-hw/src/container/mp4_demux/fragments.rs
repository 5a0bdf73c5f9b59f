//! The samples of one track in a fragmented file: every `moof` box read in turn (media
//! data skipped), each `traf` of the track resolved to absolute byte offsets the way
//! ISO/IEC 14496-12 8.8 says: an explicit `tfhd` base data offset, `default-base-is-moof`,
//! or (neither) the `moof` for the first `traf` and the end of the previous one's data after
//! it. `sidx`, `styp`, `mfra` and other top-level boxes are skipped.

use super::super::read_at;
use super::super::sample_bounds::{check_sample_count, moof_claimed_samples};
use super::sample_index::{IndexedSample, Truncation};
use crate::api::error::{Result, VideoError};
use shiguredo_mp4::boxes::{MoofBox, TrafBox, TrexBox};
use shiguredo_mp4::{BoxHeader, Decode};
use std::io::{Read, Seek};

/// Largest `moof` box read into memory.
const MAX_MOOF_BYTES: u64 = 64 << 20;

/// Where the fragments of one track lie.
#[derive(Debug, Default)]
pub(super) struct FragmentIndex {
    /// The samples that lie inside the file, decode order.
    pub(super) samples: Vec<IndexedSample>,
    /// What the end of the file cut off.
    pub(super) truncation: Truncation,
}

/// Fragment state carried from one `traf` of the track to the next.
struct Cursor {
    /// Decode time where the previous sample ended.
    next_dts: u64,
}

/// Indexes every fragment of `track_id`; `trexes` hold the tracks' defaults from `mvex`.
/// Decode times continue from `start_dts` (the end of the samples in `moov`, if any).
pub(super) fn index_fragments<R: Read + Seek>(
    reader: &mut R,
    file_len: u64,
    track_id: u32,
    trexes: &[TrexBox],
    start_dts: u64,
) -> Result<FragmentIndex> {
    let mut index = FragmentIndex::default();
    let mut cursor = Cursor {
        next_dts: start_dts,
    };
    let mut claimed = 0u64;
    let mut offset = 0u64;
    while offset < file_len {
        let remaining = file_len.saturating_sub(offset);
        let mut head = [0u8; BoxHeader::MAX_SIZE];
        let available = remaining.min(head.len() as u64) as usize;
        read_at(
            reader,
            offset,
            &mut head[..available],
            "MP4 fragment header",
        )?;
        let Ok((header, header_len)) = BoxHeader::decode(&head[..available]) else {
            // A few stray bytes at the end: nothing more can be located.
            index.truncation.bytes = index.truncation.bytes.max(remaining);
            break;
        };
        let size = match header.box_size.get() {
            0 => remaining,
            n => n,
        };
        if size < header_len as u64 {
            return Err(VideoError::invalid_bitstream(format!(
                "MP4 box `{}` at byte {offset} claims {size} bytes, less than its header",
                header.box_type
            )));
        }
        if size > remaining {
            // The last box is cut short: a moof cut short is lost whole; an mdat keeps the
            // samples that lie before the end (checked per sample).
            index.truncation.bytes = index.truncation.bytes.max(size.saturating_sub(remaining));
            if header.box_type == MoofBox::TYPE {
                index.truncation.fragments_lost = index.truncation.fragments_lost.saturating_add(1);
            }
            break;
        }
        if header.box_type == MoofBox::TYPE {
            if size > MAX_MOOF_BYTES {
                return Err(VideoError::unsupported(format!(
                    "MP4 box `moof` at byte {offset} has {size} bytes, more than {MAX_MOOF_BYTES}"
                )));
            }
            let mut bytes = vec![0u8; size as usize];
            read_at(reader, offset, &mut bytes, "MP4 moof")?;
            // The MP4 crate allocates per sample a `trun` claims: check the claims of every
            // moof so far against the file first.
            if let Some(n) = moof_claimed_samples(&bytes) {
                claimed = claimed.saturating_add(n);
                check_sample_count(
                    &format!("MP4 box `moof` at byte {offset} (trun)"),
                    claimed,
                    file_len,
                )?;
            }
            let (moof, _) = MoofBox::decode(&bytes).map_err(|e| {
                super::super::mp4_error(&format!("MP4 box `moof` at byte {offset}"), e)
            })?;
            let mut previous_end = offset;
            for (i, traf) in moof.traf_boxes.iter().enumerate() {
                let trex = trexes.iter().find(|t| t.track_id == traf.tfhd_box.track_id);
                let moof_end = offset.saturating_add(size);
                let base = match traf.tfhd_box.base_data_offset {
                    // ffmpeg's `global_sidx` moves the fragments behind a `sidx` without
                    // updating absolute base offsets: data that would start inside this
                    // moof is taken relative to the moof, as every other writer means it.
                    Some(b) if points_into(b, traf, offset, moof_end) => offset,
                    Some(b) => b,
                    None if traf.tfhd_box.default_base_is_moof || i == 0 => offset,
                    None => previous_end,
                };
                let end = if traf.tfhd_box.track_id == track_id {
                    index_traf(traf, trex, base, offset, file_len, &mut cursor, &mut index)?
                } else {
                    traf_data_end(traf, trex, base)
                };
                previous_end = end.unwrap_or(previous_end);
            }
        }
        offset = offset.saturating_add(size);
    }
    Ok(index)
}

/// Whether the first `trun` of `traf`, taken from the absolute base `base`, would put its
/// data inside the `moof` (`moof..moof_end`) while taken from the moof it lies after it.
fn points_into(base: u64, traf: &TrafBox, moof: u64, moof_end: u64) -> bool {
    let Some(rel) = traf.trun_boxes.first().and_then(|t| t.data_offset) else {
        return false;
    };
    let start = |b: u64| b.checked_add_signed(i64::from(rel));
    base != moof
        && start(base).is_some_and(|s| s >= moof && s < moof_end)
        && start(moof).is_some_and(|s| s >= moof_end)
}

/// Appends the samples of one `traf` of the track; returns where its data ends.
fn index_traf(
    traf: &TrafBox,
    trex: Option<&TrexBox>,
    base: u64,
    moof_offset: u64,
    file_len: u64,
    cursor: &mut Cursor,
    index: &mut FragmentIndex,
) -> Result<Option<u64>> {
    let tfhd = &traf.tfhd_box;
    let description = tfhd
        .sample_description_index
        .or(trex.map(|t| t.default_sample_description_index))
        .unwrap_or(1);
    let entry = usize::try_from(description.saturating_sub(1)).unwrap_or(usize::MAX);
    if let Some(tfdt) = &traf.tfdt_box {
        cursor.next_dts = tfdt.base_media_decode_time;
    }
    let bad = |what: &str| {
        VideoError::invalid_bitstream(format!(
            "MP4 box `moof` at byte {moof_offset}, track {}: {what}",
            tfhd.track_id
        ))
    };
    let mut data_at = base;
    for trun in &traf.trun_boxes {
        if let Some(rel) = trun.data_offset {
            data_at = base
                .checked_add_signed(i64::from(rel))
                .ok_or_else(|| bad("trun data offset lies before the start of the file"))?;
        }
        for (i, s) in trun.samples.iter().enumerate() {
            let duration = s
                .duration
                .or(tfhd.default_sample_duration)
                .or(trex.map(|t| t.default_sample_duration))
                .unwrap_or(0);
            let size = s
                .size
                .or(tfhd.default_sample_size)
                .or(trex.map(|t| t.default_sample_size))
                .unwrap_or(0);
            let flags = if i == 0 {
                trun.first_sample_flags.or(s.flags)
            } else {
                s.flags
            }
            .or(tfhd.default_sample_flags)
            .or(trex.map(|t| t.default_sample_flags));
            let keyframe = flags.is_none_or(|f| !f.sample_is_non_sync_sample());
            let end = data_at
                .checked_add(u64::from(size))
                .ok_or_else(|| bad("sample offsets overflow"))?;
            if end <= file_len {
                index.samples.push(IndexedSample {
                    offset: data_at,
                    size,
                    dts: cursor.next_dts,
                    cto: s.composition_time_offset.map_or(0, i64::from),
                    duration,
                    keyframe,
                    entry,
                });
            } else {
                index.truncation.samples = index.truncation.samples.saturating_add(1);
                index.truncation.bytes = index.truncation.bytes.max(end.saturating_sub(file_len));
            }
            cursor.next_dts = cursor.next_dts.saturating_add(u64::from(duration));
            data_at = end;
        }
    }
    Ok(Some(data_at))
}

/// Where the data of a `traf` of another track ends (for an implicit base of the next).
fn traf_data_end(traf: &TrafBox, trex: Option<&TrexBox>, base: u64) -> Option<u64> {
    let mut at = base;
    for trun in &traf.trun_boxes {
        if let Some(rel) = trun.data_offset {
            at = base.checked_add_signed(i64::from(rel))?;
        }
        for s in &trun.samples {
            let size = s
                .size
                .or(traf.tfhd_box.default_sample_size)
                .or(trex.map(|t| t.default_sample_size))
                .unwrap_or(0);
            at = at.checked_add(u64::from(size))?;
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use crate::api::codec::{Codec, Timestamp};
    use crate::api::packet::{BitstreamLayout, EncodedChunk};
    use crate::container::{Mp4Demuxer, Mp4Muxer};
    use proptest::prelude::*;

    const SPS: &[u8] = &[
        0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
        0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0x99, 0x60,
    ];
    const PPS: &[u8] = &[0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0];

    /// A fragmented MP4 (default-base-is-moof) of six samples, a keyframe every second one.
    fn fragmented_file() -> Vec<u8> {
        let mut mux = Mp4Muxer::fragmented(Vec::new()).unwrap();
        for i in 0..6i64 {
            let mut data = Vec::new();
            if i % 2 == 0 {
                for nal in [SPS, PPS] {
                    data.extend_from_slice(&[0, 0, 0, 1]);
                    data.extend_from_slice(nal);
                }
            }
            let slice: &[u8] = if i % 2 == 0 {
                &[0x65, 0x88, 0x84, i as u8 + 1]
            } else {
                &[0x41, 0x9a, i as u8 + 1]
            };
            data.extend_from_slice(&[0, 0, 0, 1]);
            data.extend_from_slice(slice);
            mux.write_chunk(&EncodedChunk {
                codec: Codec::H264,
                layout: BitstreamLayout::AnnexB,
                pts: Some(Timestamp::mpeg(i * 3000)),
                dts: Some(Timestamp::mpeg(i * 3000)),
                keyframe: i % 2 == 0,
                generation: 0,
                data,
            })
            .unwrap();
        }
        mux.finish().unwrap().0
    }

    #[test]
    fn fragments_are_indexed_in_order_with_their_times_and_keyframes() {
        let file = fragmented_file();
        let mut demux = Mp4Demuxer::from_bytes(&file).unwrap();
        assert_eq!(demux.track().frame_count, 6);
        let mut n = 0i64;
        while let Some(s) = demux.next_sample().unwrap() {
            assert_eq!(s.keyframe, n % 2 == 0, "sample {n}");
            assert_eq!(s.dts.rescale(crate::Timebase::MPEG_90K).ticks, n * 3000);
            assert_eq!(*s.data.last().unwrap(), n as u8 + 1, "sample {n} bytes");
            n += 1;
        }
        assert_eq!(n, 6);
        assert!(demux.summary().truncated.is_none());
    }

    /// The offsets where the file's top-level boxes end (32-bit sizes, as the muxer writes).
    fn top_level_boundaries(file: &[u8]) -> Vec<usize> {
        let mut at = 0usize;
        let mut ends = Vec::new();
        while let Some(size) = file.get(at..at + 4) {
            let size = u32::from_be_bytes(size.try_into().unwrap()) as usize;
            if size < 8 {
                break;
            }
            at += size;
            ends.push(at);
        }
        ends
    }

    proptest! {
        /// Cut anywhere: the demuxer either refuses the file or reads samples that lie
        /// inside it, and reports the cut when samples went missing.
        #[test]
        fn a_fragmented_file_cut_anywhere_reads_only_what_it_holds(cut in 0usize..2000) {
            let file = fragmented_file();
            let cut = cut.min(file.len());
            let Ok(mut demux) = Mp4Demuxer::from_bytes(&file[..cut]) else {
                return Ok(());
            };
            let mut read = 0u32;
            while let Ok(Some(s)) = demux.next_sample() {
                prop_assert!(s.data.len() <= cut);
                read += 1;
            }
            // A cut at a top-level box boundary leaves a well-formed file with fewer
            // fragments (as a live recording has): nothing tells that samples are missing.
            if read < 6 && !top_level_boundaries(&file).contains(&cut) {
                prop_assert!(demux.summary().truncated.is_some(), "cut {cut}, {read} read");
            }
        }

        /// Bytes overwritten anywhere: typed errors or samples, never a panic.
        #[test]
        fn a_fragmented_file_with_bytes_overwritten_never_panics(
            edits in proptest::collection::vec((0usize..2000, any::<u8>()), 1..8)
        ) {
            let mut file = fragmented_file();
            let len = file.len();
            for (at, byte) in edits {
                file[at % len] = byte;
            }
            if let Ok(mut demux) = Mp4Demuxer::from_bytes(&file) {
                while let Ok(Some(_)) = demux.next_sample() {}
            }
            let _ = crate::container::Mp4AudioReader::new(std::io::Cursor::new(&file), None);
        }
    }
}
