//! Where every sample of the track lies: from the sample table of the `moov`, and from the
//! fragments (`moof`/`mdat`) of a fragmented file, with the counts checked against the file.

use super::super::read_error;
use super::super::sample_bounds::{check_sample_count, moof_claimed_samples};
use crate::api::error::{Result, VideoError};
use shiguredo_mp4::Either;
use shiguredo_mp4::aux::SampleTableAccessor;
use shiguredo_mp4::boxes::{SampleEntry, StblBox, StszBox};
use shiguredo_mp4::demux::{DemuxError, Fmp4FileDemuxer, Input, RequiredInput};
use std::io::{Read, Seek, SeekFrom};

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

/// The samples of a regular track from its sample table, and its sample descriptions.
pub(super) fn index_sample_table(
    stbl: StblBox,
    file_len: u64,
    track_id: u32,
) -> Result<(Vec<IndexedSample>, Vec<SampleEntry>)> {
    validate_sample_table(&stbl, file_len)?;
    let entries = stbl.stsd_box.entries.clone();
    let table = SampleTableAccessor::new(stbl).map_err(|e| {
        VideoError::invalid_bitstream(format!("MP4 sample table of track {track_id}: {e}"))
    })?;
    let samples = table
        .samples()
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
    Ok((samples, entries))
}

/// Appends the samples of the fragments after those of the sample table: sample
/// descriptions are merged, and a fragment without a decode time (`tfdt`) continues
/// where the previous sample ended.
pub(super) fn append_fragment_samples(
    samples: &mut Vec<IndexedSample>,
    entries: &mut Vec<SampleEntry>,
    more: Vec<IndexedSample>,
    more_entries: Vec<SampleEntry>,
) {
    let remap: Vec<usize> = more_entries
        .into_iter()
        .map(|e| match entries.iter().position(|x| *x == e) {
            Some(i) => i,
            None => {
                entries.push(e);
                entries.len().saturating_sub(1)
            }
        })
        .collect();
    for mut s in more {
        if let Some(prev) = samples.last() {
            let end = prev.dts.saturating_add(u64::from(prev.duration));
            s.dts = s.dts.max(end);
        }
        s.entry = remap.get(s.entry).copied().unwrap_or(0);
        samples.push(s);
    }
}

/// The samples of a track in a fragmented file (every `moof`/`mdat` read once, media
/// data skipped), and the sample descriptions they use.
pub(super) fn index_fragments<R: Read + Seek>(
    reader: &mut R,
    file_len: u64,
    track_id: u32,
) -> Result<(Vec<IndexedSample>, Vec<SampleEntry>)> {
    let bad = |e: DemuxError| {
        let message = format!("fragmented MP4: {}", super::super::mp4_demux_error_text(&e));
        // e.g. absolute `base_data_offset` in `tfhd`, which the MP4 crate does not follow.
        if message.contains("not supported") {
            VideoError::unsupported(message)
        } else {
            VideoError::invalid_bitstream(message)
        }
    };
    let mut demux = Fmp4FileDemuxer::new();
    let mut samples = Vec::new();
    let mut entries: Vec<SampleEntry> = Vec::new();
    let mut current = None;
    // The same request over and over means the demuxer makes no progress.
    let mut last_request = None;
    let mut repeats = 0u32;
    let mut claimed = 0u64;
    loop {
        let request = match demux.next_sample() {
            Ok(Some(s)) => {
                if s.track.track_id != track_id {
                    continue;
                }
                if let Some(e) = s.sample_entry {
                    let index = match entries.iter().position(|x| x == e) {
                        Some(i) => i,
                        None => {
                            entries.push(e.clone());
                            entries.len().saturating_sub(1)
                        }
                    };
                    current = Some(index);
                }
                let entry = current.ok_or_else(|| {
                    VideoError::invalid_bitstream("fragmented MP4: sample without a description")
                })?;
                samples.push(IndexedSample {
                    offset: s.data_offset,
                    size: u32::try_from(s.data_size).map_err(|_| {
                        VideoError::invalid_bitstream("fragmented MP4: sample over 4 GiB")
                    })?,
                    dts: s.timestamp,
                    cto: s.composition_time_offset.unwrap_or(0),
                    duration: s.duration,
                    keyframe: s.keyframe,
                    entry,
                });
                repeats = 0;
                continue;
            }
            Ok(None) => return Ok((samples, entries)),
            Err(DemuxError::InputRequired(request)) => request,
            Err(e) => return Err(bad(e)),
        };
        if last_request == Some(request) {
            repeats = repeats.saturating_add(1);
            if repeats > 4 {
                return Err(VideoError::invalid_bitstream(
                    "fragmented MP4: no progress on the same bytes",
                ));
            }
        } else {
            repeats = 0;
        }
        last_request = Some(request);
        let bytes = read_request(reader, file_len, request)?;
        // The MP4 crate allocates per sample a `trun` claims, so claims are checked against
        // the file first (all truns of every moof so far together).
        if let Some(n) = moof_claimed_samples(&bytes) {
            claimed = claimed.saturating_add(n);
            check_sample_count("fragmented MP4 trun", claimed, file_len)?;
        }
        demux.handle_input(Input {
            position: request.position,
            data: &bytes,
        });
    }
}

/// Reads the byte range the fragment demuxer asks for (up to the end of the file).
fn read_request<R: Read + Seek>(
    reader: &mut R,
    file_len: u64,
    request: RequiredInput,
) -> Result<Vec<u8>> {
    let start = request.position;
    let end = match request.size {
        Some(n) => start.saturating_add(n as u64).min(file_len),
        None => file_len,
    };
    if start > file_len {
        return Err(VideoError::invalid_bitstream(format!(
            "fragmented MP4: box at {start} lies beyond the end of the file ({file_len} bytes): truncated?"
        )));
    }
    // At the end of the file the demuxer asks for one more box header: it gets nothing.
    let mut bytes = vec![0u8; end.saturating_sub(start) as usize];
    reader
        .seek(SeekFrom::Start(start))
        .map_err(|e| read_error("MP4 fragment", e))?;
    reader
        .read_exact(&mut bytes)
        .map_err(|e| read_error("MP4 fragment", e))?;
    Ok(bytes)
}

/// Checks the sample table for values that would overflow or exhaust memory while it
/// is indexed (the MP4 crate trusts these counts).
fn validate_sample_table(stbl: &StblBox, file_len: u64) -> Result<()> {
    let bad = |what: &str| VideoError::invalid_bitstream(format!("MP4 sample table: {what}"));
    let mut samples = 0u32;
    let mut duration = 0u64;
    for e in &stbl.stts_box.entries {
        samples = samples
            .checked_add(e.sample_count)
            .ok_or_else(|| bad("stts sample count overflows"))?;
        check_sample_count("MP4 sample table (stts)", samples.into(), file_len)?;
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
    let total_bytes = match &stbl.stsz_box {
        StszBox::Fixed { sample_size, .. } => {
            u64::from(sample_size.get()).checked_mul(u64::from(samples))
        }
        StszBox::Variable { entry_sizes } => entry_sizes
            .iter()
            .try_fold(0u64, |acc, &s| acc.checked_add(u64::from(s))),
    };
    if total_bytes.is_none_or(|t| t > file_len) {
        return Err(bad("sample sizes add up to more than the file"));
    }
    let offsets_ok = match &stbl.stco_or_co64_box {
        Either::A(stco) => stco.chunk_offsets.iter().all(|&o| u64::from(o) <= file_len),
        Either::B(co64) => co64.chunk_offsets.iter().all(|&o| o <= file_len),
    };
    if !offsets_ok {
        return Err(bad("a chunk offset lies beyond the end of the file"));
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
