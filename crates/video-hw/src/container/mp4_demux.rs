//! MP4/MOV demuxing: the first decodable video track as length-prefixed access units.

mod edit_list;
mod moov;
mod sample_index;

use super::codec_config::{VideoEntry, read_sample_entry, sample_entry_name};
use super::read_error;
use crate::api::codec::{Codec, Dimensions, Rational, Timebase, Timestamp};
use crate::api::error::{Result, VideoError};
use crate::api::packet::{BitstreamLayout, DecodeInput, EncodedChunk};
use crate::bitstream::layout::split_length_prefixed;
use edit_list::EditMapping;
use moov::read_moov;
use sample_index::{IndexedSample, append_fragment_samples, index_fragments, index_sample_table};
use shiguredo_mp4::boxes::{HdlrBox, TrakBox};
use std::io::{Read, Seek, SeekFrom};
use std::num::NonZeroU32;

/// The video track a [`Mp4Demuxer`] reads, known before the first sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Mp4TrackInfo {
    /// The track's id in the file.
    pub track_id: u32,
    /// The codec of its samples.
    pub codec: Codec,
    /// The sample-entry type of its first sample description (`avc1`, `avc3`, `hvc1`, `hev1`).
    pub sample_entry: String,
    /// Picture size from the sample entry (`None` when the entry says 0x0).
    pub dimensions: Option<Dimensions>,
    /// Ticks per second of the track's media timeline.
    pub timescale: u32,
    /// `1/timescale`: the timebase of every [`Mp4Sample`] timestamp.
    pub timebase: Timebase,
    /// Number of samples (frames).
    pub frame_count: u32,
    /// Presentation duration (edit list applied where there is one).
    pub duration: Timestamp,
    /// Layout of every sample ([`BitstreamLayout::Avcc`] / [`BitstreamLayout::Hvcc`]).
    pub layout: BitstreamLayout,
    /// Parameter sets of the first sample description (VPS, SPS, PPS as raw NAL units),
    /// ready for [`crate::DecoderConfig::parameter_sets`].
    pub parameter_sets: Vec<Vec<u8>>,
    /// Number of sample descriptions (`stsd` entries): more than one means the stream
    /// changes parameter sets mid-way.
    pub sample_descriptions: usize,
}

/// One access unit of the video track.
#[derive(Clone, PartialEq)]
pub struct Mp4Sample {
    /// 0-based index of the sample in the track (decode order).
    pub index: u32,
    /// The sample bytes: NAL units with `length_size`-byte big-endian prefixes. In-band
    /// parameter sets are left where the file has them.
    pub data: Vec<u8>,
    /// Bytes in each length prefix.
    pub length_size: u8,
    /// Presentation time (composition offset and edit list applied), track timebase.
    pub pts: Timestamp,
    /// Decode time (same shift as `pts`, so it may be negative), track timebase.
    pub dts: Timestamp,
    /// Duration in the track timebase.
    pub duration: u32,
    /// Whether this is a sync sample (random-access point).
    pub keyframe: bool,
    /// Parameter sets of a sample description that starts at this sample (the first
    /// sample and every `stsd` change), as raw NAL units; `None` otherwise.
    pub new_parameter_sets: Option<Vec<Vec<u8>>>,
}

impl std::fmt::Debug for Mp4Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4Sample")
            .field("index", &self.index)
            .field("len", &self.data.len())
            .field("pts", &self.pts.ticks)
            .field("dts", &self.dts.ticks)
            .field("keyframe", &self.keyframe)
            .field(
                "new_parameter_sets",
                &self.new_parameter_sets.as_ref().map(Vec::len),
            )
            .finish()
    }
}

impl Mp4Sample {
    /// The sample as decoder input. Where a sample description starts here (the first
    /// sample, and every change), its parameter sets are put in front (length-prefixed), so
    /// the input is self-contained: a decoder needs no out-of-band parameter sets and
    /// follows a mid-stream change.
    pub fn into_decode_input(self) -> DecodeInput {
        let data = match &self.new_parameter_sets {
            Some(sets) => self.with_parameter_sets(sets),
            None => self.data,
        };
        DecodeInput::LengthPrefixed {
            data,
            length_size: self.length_size,
            pts: Some(self.pts),
        }
    }

    /// The sample as an [`EncodedChunk`] of `codec` (for remuxing), generation 0.
    pub fn to_encoded_chunk(&self, codec: Codec) -> EncodedChunk {
        let data = match &self.new_parameter_sets {
            Some(sets) => self.with_parameter_sets(sets),
            None => self.data.clone(),
        };
        // Samples of this demuxer are NAL units with length prefixes (avc1/hvc1 entries).
        let layout = BitstreamLayout::length_prefixed_sized(codec, self.length_size)
            .unwrap_or(BitstreamLayout::AnnexB);
        EncodedChunk {
            codec,
            layout,
            pts: Some(self.pts),
            dts: Some(self.dts),
            keyframe: self.keyframe,
            generation: 0,
            data,
        }
    }

    fn with_parameter_sets(&self, sets: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.data
                .len()
                .saturating_add(sets.iter().map(Vec::len).sum::<usize>())
                .saturating_add(16),
        );
        for nal in sets {
            let len = nal.len().to_be_bytes();
            let n = usize::from(self.length_size);
            out.extend_from_slice(&len[len.len().saturating_sub(n)..]);
            out.extend_from_slice(nal);
        }
        out.extend_from_slice(&self.data);
        out
    }
}

/// What the demuxer found and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemuxSummary {
    /// Video tracks in the file (the demuxer reads one).
    pub video_tracks: usize,
    /// Audio tracks, skipped.
    pub audio_tracks_skipped: usize,
    /// Other tracks (subtitles, metadata, hint), skipped.
    pub other_tracks_skipped: usize,
    /// Video tracks skipped because their codec is not H.264/HEVC (sample-entry types).
    pub unsupported_video: Vec<String>,
    /// Samples returned so far.
    pub samples_read: u64,
    /// Whether the edit list had more than one media edit, of which only the first was used.
    pub edit_list_simplified: bool,
}

/// Reads the first H.264/HEVC video track of an MP4/MOV file.
///
/// ```no_run
/// # fn main() -> video_hw::Result<()> {
/// use video_hw::container::Mp4Demuxer;
/// let file = std::fs::File::open("in.mp4").map_err(|e| video_hw::VideoError::invalid_input(e.to_string()))?;
/// let mut demux = Mp4Demuxer::new(std::io::BufReader::new(file))?;
/// let mut config = video_hw::DecoderConfig::new(demux.track().codec);
/// config.timebase = demux.track().timebase;
/// while let Some(sample) = demux.next_sample()? {
///     // Self-contained: the first sample carries the avcC/hvcC parameter sets.
///     let _input = sample.into_decode_input(); // submit to a DecodeSession
/// }
/// # Ok(()) }
/// ```
pub struct Mp4Demuxer<R> {
    reader: R,
    file_len: u64,
    info: Mp4TrackInfo,
    /// Every sample of the track, in decode order.
    samples: Vec<IndexedSample>,
    /// The track's sample descriptions.
    entries: Vec<VideoEntry>,
    /// Added to media times to get presentation times.
    shift: i64,
    next: u32,
    last_entry: Option<usize>,
    summary: DemuxSummary,
}

impl<R> std::fmt::Debug for Mp4Demuxer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4Demuxer")
            .field("track", &self.info)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<'a> Mp4Demuxer<std::io::Cursor<&'a [u8]>> {
    /// A demuxer over a file held in memory.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        Self::new(std::io::Cursor::new(bytes))
    }
}

impl<R: Read + Seek> Mp4Demuxer<R> {
    /// Reads the `moov` box and picks the first H.264/HEVC video track.
    ///
    /// `InvalidBitstream` for a malformed or truncated file, `Unsupported` when there is
    /// no video track this crate can decode (the message names what was found).
    /// Fragmented files (`moov` with `mvex`, then `moof`/`mdat`) are indexed up front.
    pub fn new(mut reader: R) -> Result<Self> {
        let file_len = reader
            .seek(SeekFrom::End(0))
            .map_err(|e| read_error("MP4 length", e))?;
        let moov = read_moov(&mut reader, file_len)?;
        let fragmented = moov.mvex_box.is_some();
        let mut summary = DemuxSummary::default();
        let mut chosen = None;
        for trak in moov.trak_boxes {
            match trak.mdia_box.hdlr_box.handler_type {
                HdlrBox::HANDLER_TYPE_VIDE => {
                    summary.video_tracks = summary.video_tracks.saturating_add(1);
                    if chosen.is_some() {
                        continue;
                    }
                    let first_entry = trak.mdia_box.minf_box.stbl_box.stsd_box.entries.first();
                    match first_entry.map(read_sample_entry) {
                        Some(Ok(entry)) => chosen = Some((trak, entry)),
                        Some(Err(_)) => summary
                            .unsupported_video
                            .push(first_entry.map(sample_entry_name).unwrap_or_default()),
                        None => summary.unsupported_video.push("(no sample entry)".into()),
                    }
                }
                HdlrBox::HANDLER_TYPE_SOUN => {
                    summary.audio_tracks_skipped = summary.audio_tracks_skipped.saturating_add(1);
                }
                _ => summary.other_tracks_skipped = summary.other_tracks_skipped.saturating_add(1),
            }
        }
        let Some((trak, entry)) = chosen else {
            return Err(VideoError::unsupported(
                if summary.unsupported_video.is_empty() {
                    "MP4 has no video track".to_string()
                } else {
                    format!(
                        "MP4 video track(s) use {}; only H.264 (avc1/avc3) and HEVC (hvc1/hev1) can be decoded",
                        summary.unsupported_video.join(", ")
                    )
                },
            ));
        };
        Self::with_track(
            reader,
            file_len,
            trak,
            entry,
            (moov.mvhd_box.timescale, fragmented),
            summary,
        )
    }

    fn with_track(
        mut reader: R,
        file_len: u64,
        trak: TrakBox,
        entry: VideoEntry,
        (movie_timescale, fragmented): (NonZeroU32, bool),
        mut summary: DemuxSummary,
    ) -> Result<Self> {
        let timescale = trak.mdia_box.mdhd_box.timescale;
        let track_id = trak.tkhd_box.track_id;
        // A fragmented file may hold its first samples in the moov's sample table too.
        let (mut samples, mut raw_entries) =
            index_sample_table(trak.mdia_box.minf_box.stbl_box, file_len, track_id)?;
        if fragmented {
            let (more, more_entries) = index_fragments(&mut reader, file_len, track_id)?;
            append_fragment_samples(&mut samples, &mut raw_entries, more, more_entries);
        }
        let entries = raw_entries
            .iter()
            .map(read_sample_entry)
            .collect::<Result<Vec<_>>>()?;
        if entries.iter().any(|e| e.codec != entry.codec) {
            return Err(VideoError::unsupported(
                "MP4 track switches codec between sample descriptions",
            ));
        }
        let sample_descriptions = entries.len().max(1);
        if !matches!(entry.length_size, 1 | 2 | 4) {
            return Err(VideoError::invalid_bitstream(format!(
                "MP4 track {track_id}: NAL length size {} (must be 1, 2 or 4)",
                entry.length_size
            )));
        }
        let timebase = Timebase(
            Rational::new(1, timescale.get()).map_err(|e| e.while_doing("MP4 track timescale"))?,
        );
        let media_duration: u64 = samples.iter().map(|s| u64::from(s.duration)).sum();
        let edit = EditMapping::from_edts(
            trak.edts_box.as_ref(),
            movie_timescale.get(),
            timescale.get(),
        )?;
        summary.edit_list_simplified = edit.simplified;
        let duration_ticks = edit.presented.unwrap_or(media_duration);
        let dimensions = Dimensions::new(u32::from(entry.width), u32::from(entry.height)).ok();
        let info = Mp4TrackInfo {
            track_id,
            codec: entry.codec,
            sample_entry: entry.fourcc.clone(),
            dimensions,
            timescale: timescale.get(),
            timebase,
            frame_count: u32::try_from(samples.len())
                .map_err(|_| VideoError::unsupported("MP4 track has more than 2^32 samples"))?,
            duration: Timestamp {
                ticks: i64::try_from(duration_ticks).unwrap_or(i64::MAX),
                timebase,
            },
            layout: BitstreamLayout::length_prefixed_sized(entry.codec, entry.length_size)
                .ok_or_else(|| {
                    VideoError::unsupported(format!("MP4 track of {} samples", entry.codec))
                })?,
            parameter_sets: entry.params.all(),
            sample_descriptions,
        };
        Ok(Self {
            reader,
            file_len,
            info,
            samples,
            entries,
            shift: edit.shift,
            next: 0,
            last_entry: None,
            summary,
        })
    }

    /// The video track being read.
    pub fn track(&self) -> &Mp4TrackInfo {
        &self.info
    }

    /// What was found and skipped (audio and other tracks, unsupported video).
    pub fn summary(&self) -> &DemuxSummary {
        &self.summary
    }

    /// The next sample in decode order, or `None` after the last.
    ///
    /// `InvalidBitstream` when the sample lies outside the file (truncated) or its length
    /// prefixes do not add up.
    pub fn next_sample(&mut self) -> Result<Option<Mp4Sample>> {
        let Some(&sample) = self.samples.get(self.next as usize) else {
            return Ok(None);
        };
        let n = self.next;
        let (offset, size) = (sample.offset, sample.size);
        let end = offset.checked_add(u64::from(size));
        if end.is_none_or(|end| end > self.file_len) {
            return Err(VideoError::invalid_bitstream(format!(
                "MP4 sample {n} ({size} bytes at {offset}) lies beyond the end of the file ({} bytes): truncated?",
                self.file_len
            )));
        }
        let timebase = self.info.timebase;
        let overflow =
            || VideoError::invalid_bitstream(format!("MP4 sample {n}: timestamp overflows"));
        let dts_media = i64::try_from(sample.dts).map_err(|_| overflow())?;
        let dts = dts_media.checked_add(self.shift).ok_or_else(overflow)?;
        let pts = dts.checked_add(sample.cto).ok_or_else(overflow)?;
        let (keyframe, duration, entry_index) = (sample.keyframe, sample.duration, sample.entry);
        let new_parameter_sets = if self.last_entry != Some(entry_index) {
            let entry = self.entries.get(entry_index).ok_or_else(|| {
                VideoError::invalid_bitstream(format!("MP4 sample {n}: no sample description"))
            })?;
            Some(entry.params.all())
        } else {
            None
        };

        let mut data = vec![0; size as usize];
        self.reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| read_error("MP4 sample", e))?;
        self.reader
            .read_exact(&mut data)
            .map_err(|e| read_error("MP4 sample", e))?;
        let length_size = self.info.layout.length_size().unwrap_or(4);
        split_length_prefixed(&data, length_size)
            .map_err(|e| e.while_doing(format!("MP4 sample {n}")))?;

        // At most u32::MAX samples are indexed (frame_count is a u32).
        self.next = self.next.saturating_add(1);
        self.last_entry = Some(entry_index);
        self.summary.samples_read = self.summary.samples_read.saturating_add(1);
        Ok(Some(Mp4Sample {
            index: n,
            data,
            length_size,
            pts: Timestamp {
                ticks: pts,
                timebase,
            },
            dts: Timestamp {
                ticks: dts,
                timebase,
            },
            duration,
            keyframe,
            new_parameter_sets,
        }))
    }

    /// Gives the reader back.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

impl<R: Read + Seek> Iterator for Mp4Demuxer<R> {
    type Item = Result<Mp4Sample>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_sample().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_invalid_bitstream_not_a_panic() {
        for bytes in [
            &b""[..],
            b"\0\0\0\x08ftyp",
            b"\0\0\0\x20ftypisom",
            b"\0\0\0\x10moov\0\0\0\0\0\0\0\0",
        ] {
            let err = Mp4Demuxer::from_bytes(bytes).unwrap_err();
            assert_eq!(
                err.kind(),
                crate::api::error::ErrorKind::InvalidBitstream,
                "{bytes:?}: {err}"
            );
        }
    }

    fn sample(index: u32, new_parameter_sets: Option<Vec<Vec<u8>>>) -> Mp4Sample {
        let t = Timestamp::mpeg(index.into());
        Mp4Sample {
            index,
            data: vec![0, 3, 0x65, 1, 2],
            length_size: 2,
            pts: t,
            dts: t,
            duration: 1,
            keyframe: true,
            new_parameter_sets,
        }
    }

    #[test]
    fn decode_input_carries_parameter_sets_where_a_description_starts() {
        let sets = vec![vec![0x67, 9], vec![0x68, 8]];
        let DecodeInput::LengthPrefixed {
            data, length_size, ..
        } = sample(0, Some(sets.clone())).into_decode_input()
        else {
            panic!("length-prefixed input expected");
        };
        assert_eq!(length_size, 2);
        assert_eq!(data, vec![0, 2, 0x67, 9, 0, 2, 0x68, 8, 0, 3, 0x65, 1, 2]);
        let DecodeInput::LengthPrefixed { data, .. } = sample(1, None).into_decode_input() else {
            panic!("length-prefixed input expected");
        };
        assert_eq!(data, vec![0, 3, 0x65, 1, 2]);
        let chunk = sample(5, Some(sets)).to_encoded_chunk(Codec::H264);
        assert_eq!(chunk.layout, BitstreamLayout::Avcc { length_size: 2 });
        assert_eq!(chunk.data.len(), 13);
    }
}
