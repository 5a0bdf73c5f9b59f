//! Where every sample of a track lies, from the sample table of the `moov` (the fragments of
//! a fragmented file are in `fragments`), with the counts checked against the file. Samples
//! that lie past the end of a truncated file are left out and counted.

use super::super::sample_bounds::check_sample_count_of;
use crate::api::error::{Result, VideoError};
use shiguredo_mp4::Either;
use shiguredo_mp4::aux::SampleTableAccessor;
use shiguredo_mp4::boxes::{StblBox, StszBox};

/// Where one sample of the track lies and when it plays (media timeline).
#[derive(Debug, Clone, Copy)]
pub(super) struct IndexedSample {
    pub(super) offset: u64,
    pub(super) size: u32,
    pub(super) dts: u64,
    pub(super) cto: i64,
    pub(super) duration: u32,
    pub(super) keyframe: bool,
    /// Index into the sample descriptions.
    pub(super) entry: usize,
}

/// What the end of a truncated file cut off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Truncation {
    /// Samples the index names that lie (partly) past the end of the file.
    pub(super) samples: u64,
    /// Bytes missing: how far the furthest sample or box reaches past the end.
    pub(super) bytes: u64,
    /// Fragments (`moof`) cut short, whose samples cannot be located.
    pub(super) fragments_lost: u64,
}

impl Truncation {
    /// Whether anything was cut off.
    pub(super) fn any(&self) -> bool {
        self.samples > 0 || self.bytes > 0 || self.fragments_lost > 0
    }
}

/// The samples of a track from its sample table: those inside the file, and what the end
/// of the file cut off.
pub(super) fn index_sample_table(
    stbl: StblBox,
    file_len: u64,
    track_id: u32,
    min_sample_bytes: u64,
) -> Result<(Vec<IndexedSample>, Truncation)> {
    validate_sample_table(&stbl, file_len, min_sample_bytes)
        .map_err(|e| e.while_doing(format!("MP4 track {track_id}")))?;
    let table = SampleTableAccessor::new(stbl).map_err(|e| {
        VideoError::invalid_bitstream(format!(
            "MP4 sample table (`stbl`) of track {track_id}: {e}"
        ))
    })?;
    let mut truncation = Truncation::default();
    let samples = table
        .samples()
        .filter(|s| {
            let end = s.data_offset().saturating_add(u64::from(s.data_size()));
            if end > file_len {
                truncation.samples = truncation.samples.saturating_add(1);
                truncation.bytes = truncation.bytes.max(end.saturating_sub(file_len));
            }
            end <= file_len
        })
        .map(|s| IndexedSample {
            offset: s.data_offset(),
            size: s.data_size(),
            dts: s.timestamp(),
            cto: s.composition_time_offset().unwrap_or(0),
            duration: s.duration(),
            keyframe: s.is_sync_sample(),
            entry: s.chunk().sample_entry_index(),
        })
        .collect();
    Ok((samples, truncation))
}

/// Checks the sample table for values that would overflow or exhaust memory while it
/// is indexed (the MP4 crate trusts these counts).
fn validate_sample_table(stbl: &StblBox, file_len: u64, min_sample_bytes: u64) -> Result<()> {
    let bad = |what: &str| VideoError::invalid_bitstream(format!("MP4 sample table: {what}"));
    let mut samples = 0u32;
    let mut duration = 0u64;
    for e in &stbl.stts_box.entries {
        samples = samples
            .checked_add(e.sample_count)
            .ok_or_else(|| bad("stts sample count overflows"))?;
        check_sample_count_of(
            "MP4 sample table (stts)",
            samples.into(),
            file_len,
            min_sample_bytes,
        )?;
        duration = u64::from(e.sample_delta)
            .checked_mul(u64::from(e.sample_count))
            .and_then(|d| d.checked_add(duration))
            .filter(|d| *d <= i64::MAX as u64)
            .ok_or_else(|| bad("stts duration overflows"))?;
    }
    if let Some(ctts) = &stbl.ctts_box {
        let mut n = 0u32;
        for e in &ctts.entries {
            n = n
                .checked_add(e.sample_count)
                .ok_or_else(|| bad("ctts sample count overflows"))?;
        }
    }
    // Sizes and chunk offsets past the end of the file are a truncated file: those samples
    // are left out when indexed. Only a sum that overflows is malformed.
    let total_bytes = match &stbl.stsz_box {
        StszBox::Fixed { sample_size, .. } => {
            u64::from(sample_size.get()).checked_mul(u64::from(samples))
        }
        StszBox::Variable { entry_sizes } => entry_sizes
            .iter()
            .try_fold(0u64, |acc, &s| acc.checked_add(u64::from(s))),
    };
    let Some(total_bytes) = total_bytes else {
        return Err(bad("sample sizes overflow"));
    };
    // A chunk offset may lie past the end of a truncated file, but no sample may end past
    // 2^64 (the MP4 crate adds sizes to chunk offsets unchecked).
    let last_chunk = match &stbl.stco_or_co64_box {
        Either::A(stco) => stco.chunk_offsets.iter().copied().max().map(u64::from),
        Either::B(co64) => co64.chunk_offsets.iter().copied().max(),
    };
    if last_chunk.is_some_and(|o| o.checked_add(total_bytes).is_none()) {
        return Err(bad(
            "a chunk offset is so large that its samples end past 2^64",
        ));
    }
    let mut per_chunk = 0u64;
    for e in &stbl.stsc_box.entries {
        per_chunk = per_chunk.max(u64::from(e.sample_per_chunk));
    }
    if per_chunk > u64::from(samples) {
        return Err(bad("stsc puts more samples in a chunk than the track has"));
    }
    Ok(())
}
