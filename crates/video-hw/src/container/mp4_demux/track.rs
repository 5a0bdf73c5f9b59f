//! One track's samples located and timed: the sample table, then the fragments of a
//! fragmented file, and the edit list.

use super::super::sample_bounds::{MIN_AUDIO_SAMPLE_BYTES, MIN_SAMPLE_BYTES};
use super::edit_list::EditMapping;
use super::fragments::index_fragments;
use super::movie::Movie;
use super::sample_index::{IndexedSample, Truncation, index_sample_table};
use crate::api::error::Result;
use shiguredo_mp4::boxes::{HdlrBox, TrakBox};
use std::io::{Read, Seek};
use std::num::NonZeroU32;

/// A track's samples (decode order), where they play, and what truncation cut off.
pub(super) struct IndexedTrack {
    pub(super) samples: Vec<IndexedSample>,
    pub(super) truncation: Truncation,
    pub(super) edit: EditMapping,
    pub(super) timescale: NonZeroU32,
    /// Sum of the sample durations (track timescale).
    pub(super) media_duration: u64,
}

/// Indexes `trak` of `movie`.
pub(super) fn index_track<R: Read + Seek>(
    reader: &mut R,
    file_len: u64,
    movie: &Movie,
    trak: &TrakBox,
) -> Result<IndexedTrack> {
    let timescale = trak.mdia_box.mdhd_box.timescale;
    let track_id = trak.tkhd_box.track_id;
    // A fragmented file may hold its first samples in the moov's sample table too.
    let min_sample_bytes = if trak.mdia_box.hdlr_box.handler_type == HdlrBox::HANDLER_TYPE_SOUN {
        MIN_AUDIO_SAMPLE_BYTES
    } else {
        MIN_SAMPLE_BYTES
    };
    let (mut samples, mut truncation) = index_sample_table(
        trak.mdia_box.minf_box.stbl_box.clone(),
        file_len,
        track_id,
        min_sample_bytes,
    )?;
    if let Some(mvex) = &movie.mvex {
        let start = samples
            .last()
            .map_or(0, |s| s.dts.saturating_add(u64::from(s.duration)));
        let more = index_fragments(reader, file_len, track_id, &mvex.trex_boxes, start)?;
        samples.extend(more.samples);
        truncation.samples = truncation.samples.saturating_add(more.truncation.samples);
        truncation.bytes = truncation.bytes.max(more.truncation.bytes);
        truncation.fragments_lost = more.truncation.fragments_lost;
    }
    let media_duration = samples
        .iter()
        .map(|s| u64::from(s.duration))
        .fold(0u64, u64::saturating_add);
    let edit = EditMapping::from_edts(
        trak.edts_box.as_ref(),
        movie.timescale.get(),
        timescale.get(),
    )?;
    Ok(IndexedTrack {
        samples,
        truncation,
        edit,
        timescale,
        media_duration,
    })
}
