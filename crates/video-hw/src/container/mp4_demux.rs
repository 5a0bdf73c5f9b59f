//! MP4/MOV demuxing: a video track (the first decodable one, or one picked by id) as
//! length-prefixed access units; audio tracks through [`Mp4AudioReader`].

mod audio;
mod edit_list;
mod fragments;
mod movie;
mod random_access;
mod sample_index;
mod track;

pub use audio::{Mp4AudioReader, Mp4AudioSample, Mp4AudioTrackInfo};
pub use random_access::Mp4SampleTiming;

use super::codec_config::{VideoEntry, read_sample_entry};
use super::read_error;
use crate::api::codec::{Codec, Dimensions, Rational, Timebase, Timestamp};
use crate::api::error::{Result, VideoError};
use crate::api::packet::{BitstreamLayout, DecodeInput, EncodedChunk};
use crate::bitstream::layout::split_length_prefixed;
use movie::{Movie, MovieTrack, read_movie};
use sample_index::{IndexedSample, Truncation};
use shiguredo_mp4::boxes::{HdlrBox, TrakBox};
use std::io::{Read, Seek, SeekFrom};
use track::index_track;

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
    /// Every track of the file, in file order.
    pub tracks: Vec<Mp4Track>,
    /// What the end of a truncated file cut off from the video track (`None`: nothing).
    pub truncated: Option<Mp4Truncation>,
}

/// One track of an MP4/MOV file, as [`DemuxSummary::tracks`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mp4Track {
    /// The track's id in the file (what [`Mp4Demuxer::with_track`] and
    /// [`Mp4AudioReader::new`] take).
    pub track_id: u32,
    /// Handler type: `vide`, `soun`, `tmcd`, `meta`, `text`...
    pub handler: String,
    /// Sample-entry type of its first sample description (`avc1`, `mp4a`...), or empty.
    pub sample_entry: String,
    /// Why the track cannot be read, if the MP4 reader could not decode it.
    pub unreadable: Option<String>,
}

impl Mp4Track {
    /// Whether this is a video track.
    pub fn is_video(&self) -> bool {
        self.handler == "vide"
    }

    /// Whether this is an audio track.
    pub fn is_audio(&self) -> bool {
        self.handler == "soun"
    }
}

/// What the end of a truncated file cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mp4Truncation {
    /// Samples the file's index names that lie (partly) past its end.
    pub samples_missing: u64,
    /// Bytes missing: how far the furthest sample or box reaches past the end.
    pub bytes_missing: u64,
    /// Movie fragments cut short, whose samples cannot even be counted.
    pub fragments_lost: u64,
}

impl From<Truncation> for Option<Mp4Truncation> {
    fn from(t: Truncation) -> Self {
        t.any().then_some(Mp4Truncation {
            samples_missing: t.samples,
            bytes_missing: t.bytes,
            fragments_lost: t.fragments_lost,
        })
    }
}

impl std::fmt::Display for Mp4Truncation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the file is truncated: {} sample(s) and {} byte(s) missing",
            self.samples_missing, self.bytes_missing
        )?;
        if self.fragments_lost > 0 {
            write!(f, ", {} fragment(s) cut short", self.fragments_lost)?;
        }
        Ok(())
    }
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
    /// `InvalidBitstream` for a malformed file or one cut before its `moov`, `Unsupported`
    /// when there is no video track this crate can decode (the message names what was
    /// found). Tracks the MP4 reader cannot decode (QuickTime sound descriptions, timecode)
    /// are skipped and listed in [`DemuxSummary::tracks`]. Fragmented files (`moov` with
    /// `mvex`, then `moof`/`mdat`, with or without `sidx`) are indexed up front. In a file
    /// cut short, the samples that lie inside it are read and the rest reported in
    /// [`DemuxSummary::truncated`].
    pub fn new(reader: R) -> Result<Self> {
        Self::open(reader, None)
    }

    /// Like [`Mp4Demuxer::new`], reading the video track with id `track_id` (as
    /// [`DemuxSummary::tracks`] lists them). `InvalidInput` when there is no such video track.
    pub fn with_track(reader: R, track_id: u32) -> Result<Self> {
        Self::open(reader, Some(track_id))
    }

    fn open(mut reader: R, wanted: Option<u32>) -> Result<Self> {
        let file_len = reader
            .seek(SeekFrom::End(0))
            .map_err(|e| read_error("MP4 length", e))?;
        let mut movie = read_movie(&mut reader, file_len)?;
        let mut summary = DemuxSummary {
            tracks: movie.tracks.iter().map(list_track).collect(),
            ..DemuxSummary::default()
        };
        let mut chosen = None;
        let mut refusals = Vec::new();
        for (i, t) in movie.tracks.iter().enumerate() {
            match t.handler {
                HdlrBox::HANDLER_TYPE_VIDE => {
                    summary.video_tracks = summary.video_tracks.saturating_add(1);
                    if chosen.is_some() || wanted.is_some_and(|id| id != t.track_id) {
                        continue;
                    }
                    match video_entry(t) {
                        Ok(entry) => chosen = Some((i, entry)),
                        Err(e) => {
                            summary.unsupported_video.push(
                                t.raw_entries
                                    .first()
                                    .and_then(|r| r.get(4..8))
                                    .map(|b| String::from_utf8_lossy(b).into_owned())
                                    .unwrap_or_else(|| "(no sample entry)".into()),
                            );
                            refusals.push(e);
                        }
                    }
                }
                HdlrBox::HANDLER_TYPE_SOUN => {
                    summary.audio_tracks_skipped = summary.audio_tracks_skipped.saturating_add(1);
                }
                _ => summary.other_tracks_skipped = summary.other_tracks_skipped.saturating_add(1),
            }
        }
        let Some((i, entry)) = chosen else {
            return Err(no_video_track(wanted, &summary, refusals));
        };
        // video_entry succeeded, so the track decoded.
        let trak = movie.tracks.swap_remove(i).trak?;
        Self::read_track(reader, file_len, &movie, trak, entry, summary)
    }

    fn read_track(
        mut reader: R,
        file_len: u64,
        movie: &Movie,
        trak: TrakBox,
        entry: VideoEntry,
        mut summary: DemuxSummary,
    ) -> Result<Self> {
        let track_id = trak.tkhd_box.track_id;
        let indexed = index_track(&mut reader, file_len, movie, &trak)?;
        let entries = trak
            .mdia_box
            .minf_box
            .stbl_box
            .stsd_box
            .entries
            .iter()
            .map(read_sample_entry)
            .collect::<Result<Vec<_>>>()?;
        if entries.iter().any(|e| e.codec != entry.codec) {
            return Err(VideoError::unsupported(format!(
                "MP4 track {track_id} switches codec between sample descriptions"
            )));
        }
        let sample_descriptions = entries.len().max(1);
        if !matches!(entry.length_size, 1 | 2 | 4) {
            return Err(VideoError::invalid_bitstream(format!(
                "MP4 track {track_id}: NAL length size {} (must be 1, 2 or 4)",
                entry.length_size
            )));
        }
        let timescale = indexed.timescale;
        let timebase = Timebase(
            Rational::new(1, timescale.get()).map_err(|e| e.while_doing("MP4 track timescale"))?,
        );
        let edit = indexed.edit;
        let samples = indexed.samples;
        summary.edit_list_simplified = edit.simplified;
        summary.truncated = indexed.truncation.into();
        let duration_ticks = edit.presented.unwrap_or(indexed.media_duration);
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

/// The video sample entry of a track, if the track decoded and its codec is H.264/HEVC.
fn video_entry(t: &MovieTrack) -> Result<VideoEntry> {
    let trak = t
        .trak
        .as_ref()
        .map_err(|e| VideoError::new(e.kind(), e.context()))?;
    let first = trak.mdia_box.minf_box.stbl_box.stsd_box.entries.first();
    match first {
        Some(e) => read_sample_entry(e),
        None => Err(VideoError::invalid_bitstream(format!(
            "MP4 track {} has no sample description",
            t.track_id
        ))),
    }
}

/// How a track is listed in [`DemuxSummary::tracks`].
fn list_track(t: &MovieTrack) -> Mp4Track {
    Mp4Track {
        track_id: t.track_id,
        handler: t.handler_name(),
        sample_entry: t
            .raw_entries
            .first()
            .and_then(|r| r.get(4..8))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default(),
        unreadable: t.trak.as_ref().err().map(ToString::to_string),
    }
}

/// Why no video track was picked: the one asked for is missing, or none can be decoded.
fn no_video_track(
    wanted: Option<u32>,
    summary: &DemuxSummary,
    refusals: Vec<VideoError>,
) -> VideoError {
    let listing = summary
        .tracks
        .iter()
        .map(|t| format!("{} ({} {})", t.track_id, t.handler, t.sample_entry))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(id) = wanted
        && refusals.is_empty()
    {
        return VideoError::invalid_input(format!(
            "MP4 has no video track with id {id}; its tracks: {listing}"
        ));
    }
    if let Some(first) = refusals.into_iter().next() {
        if summary.unsupported_video.len() > 1
            || first.kind() == crate::api::error::ErrorKind::Unsupported
        {
            return VideoError::unsupported(format!(
                "MP4 video track(s) use {}; only H.264 (avc1/avc3) and HEVC (hvc1/hev1) can be \
                 decoded ({first})",
                summary.unsupported_video.join(", ")
            ));
        }
        return first;
    }
    VideoError::unsupported(if listing.is_empty() {
        "MP4 has no tracks".to_string()
    } else {
        format!("MP4 has no video track; its tracks: {listing}")
    })
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
