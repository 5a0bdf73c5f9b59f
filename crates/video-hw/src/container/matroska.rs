//! Matroska/WebM demuxing: the first H.264, HEVC or VP9 video track, block by block.
//!
//! EBML parsing, lacing and block groups are done by the `matroska-demuxer` crate; this
//! module picks the track, turns its `CodecPrivate` (avcC/hvcC) into parameter sets, maps
//! block timestamps to a [`Timebase`], and maps the crate's errors to [`VideoError`] with the
//! byte offset the reader was at.

use super::demuxed::{DemuxedFrame, FrameLayout, prefix_parameter_sets};
use super::tracked_reader::{Position, TrackedReader};
use crate::api::codec::{Codec, Dimensions, Rational, Timebase, Timestamp};
use crate::api::error::{Result, VideoError};
use crate::bitstream::{AvcDecoderConfigurationRecord, HevcDecoderConfigurationRecord};
use matroska_demuxer::{DemuxError, Frame, MatroskaFile, TrackEntry, TrackType};
use std::io::{Read, Seek};

/// The video track a [`MatroskaDemuxer`] reads.
#[derive(Debug, Clone, PartialEq)]
pub struct MatroskaTrackInfo {
    /// The track's number in the file (what its blocks refer to).
    pub track_number: u64,
    /// The codec of its frames.
    pub codec: Codec,
    /// Its Matroska codec id (`V_MPEG4/ISO/AVC`, `V_MPEGH/ISO/HEVC`, `V_VP9`).
    pub codec_id: String,
    /// `matroska` or `webm`.
    pub doc_type: String,
    /// Picture size the track header states.
    pub dimensions: Option<Dimensions>,
    /// The length of a timestamp tick (the segment's `TimestampScale`, 1 ms by default).
    pub timebase: Timebase,
    /// Parameter sets from `CodecPrivate` (H.264/HEVC), put in front of the first frame.
    pub parameter_sets: Vec<Vec<u8>>,
    /// How the frames are laid out.
    pub layout: FrameLayout,
}

/// What the demuxer found and skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatroskaSummary {
    /// Audio tracks, skipped.
    pub audio_tracks_skipped: usize,
    /// Other tracks (subtitles, further video tracks, metadata), skipped.
    pub other_tracks_skipped: usize,
    /// Frames of the video track returned so far.
    pub frames_read: u64,
    /// Frames of other tracks passed over.
    pub frames_skipped: u64,
}

/// Reads the first H.264/HEVC/VP9 video track of a Matroska or WebM file.
pub struct MatroskaDemuxer<R: Read + Seek> {
    file: MatroskaFile<TrackedReader<R>>,
    position: Position,
    info: MatroskaTrackInfo,
    summary: MatroskaSummary,
    frame: Frame,
    first: bool,
    done: bool,
}

impl<R: Read + Seek> std::fmt::Debug for MatroskaDemuxer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatroskaDemuxer")
            .field("track", &self.info)
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

/// The codec of a Matroska codec id this library decodes.
fn codec_of(codec_id: &str) -> Option<Codec> {
    match codec_id {
        "V_MPEG4/ISO/AVC" => Some(Codec::H264),
        "V_MPEGH/ISO/HEVC" => Some(Codec::Hevc),
        "V_VP9" => Some(Codec::Vp9),
        _ => None,
    }
}

/// `scale` nanoseconds as a timebase, reduced.
fn timebase_of(scale_ns: u64) -> Result<Timebase> {
    let (mut a, mut b) = (scale_ns, 1_000_000_000u64);
    while let Some(r) = a.checked_rem(b) {
        (a, b) = (b, r);
    }
    // `a` is the gcd (at least 1: one operand is 10^9).
    let num = scale_ns.checked_div(a).map(u32::try_from);
    let den = 1_000_000_000u64.checked_div(a).map(u32::try_from);
    match (num, den) {
        (Some(Ok(num)), Some(Ok(den))) => Rational::new(num, den).map(Timebase),
        _ => Err(VideoError::unsupported(format!(
            "Matroska: TimestampScale of {scale_ns} ns is not representable"
        ))),
    }
}

impl<R: Read + Seek> MatroskaDemuxer<R> {
    /// Reads the EBML header, segment info and tracks; picks the first video track whose
    /// codec is H.264, HEVC or VP9 (`Unsupported` when there is none, naming what there is).
    pub fn new(reader: R) -> Result<Self> {
        let (tracked, position) = TrackedReader::new(reader).map_err(|e| {
            VideoError::invalid_input(format!("Matroska: cannot seek in the file: {e}"))
                .with_source(e)
        })?;
        let file = contain(|| MatroskaFile::open(tracked))
            .map_err(|e| demux_error(e, &position, "reading the headers"))?;
        let doc_type = file.ebml_header().doc_type().to_owned();
        let timebase = timebase_of(file.info().timestamp_scale().get())?;
        let mut summary = MatroskaSummary::default();
        let mut chosen = None;
        let mut other_video = Vec::new();
        for track in file.tracks() {
            match track.track_type() {
                TrackType::Audio => {
                    summary.audio_tracks_skipped = summary.audio_tracks_skipped.saturating_add(1)
                }
                TrackType::Video if chosen.is_none() => match codec_of(track.codec_id()) {
                    Some(codec) => chosen = Some((track.clone(), codec)),
                    None => {
                        other_video.push(track.codec_id().to_owned());
                        summary.other_tracks_skipped =
                            summary.other_tracks_skipped.saturating_add(1);
                    }
                },
                _ => summary.other_tracks_skipped = summary.other_tracks_skipped.saturating_add(1),
            }
        }
        let Some((track, codec)) = chosen else {
            return Err(VideoError::unsupported(if other_video.is_empty() {
                format!("{doc_type}: no video track")
            } else {
                format!(
                    "{doc_type}: no H.264, HEVC or VP9 video track (video tracks: {}); \
                     convert it first, e.g. ffmpeg -i IN -c:v libx264 OUT.mp4",
                    other_video.join(", ")
                )
            }));
        };
        let info = track_info(&track, codec, doc_type, timebase)?;
        Ok(Self {
            file,
            position,
            info,
            summary,
            frame: Frame::default(),
            first: true,
            done: false,
        })
    }

    /// The track being read.
    pub fn track(&self) -> &MatroskaTrackInfo {
        &self.info
    }

    /// What was found and skipped so far.
    pub fn summary(&self) -> &MatroskaSummary {
        &self.summary
    }

    /// The next frame of the video track, `None` at the end. After an error the demuxer
    /// returns `None`: a damaged file ends where the damage is.
    pub fn next_frame(&mut self) -> Result<Option<DemuxedFrame>> {
        while !self.done {
            let offset = self.position.get();
            let (file, frame) = (&mut self.file, &mut self.frame);
            let more = match contain(|| file.next_frame(frame)) {
                Ok(more) => more,
                Err(e) => {
                    self.done = true;
                    return Err(demux_error(e, &self.position, "reading a block"));
                }
            };
            if !more {
                self.done = true;
                // The crate takes a read error for the end of the file.
                if self.position.exhausted() {
                    return Err(looping(self.position.get(), "reading a block"));
                }
                break;
            }
            if self.frame.track != self.info.track_number {
                self.summary.frames_skipped = self.summary.frames_skipped.saturating_add(1);
                continue;
            }
            self.summary.frames_read = self.summary.frames_read.saturating_add(1);
            let data = std::mem::take(&mut self.frame.data);
            let data = match self.info.layout {
                FrameLayout::LengthPrefixed(n) if self.first => {
                    prefix_parameter_sets(&self.info.parameter_sets, n, &data)
                }
                _ => data,
            };
            self.first = false;
            let ticks = i64::try_from(self.frame.timestamp).unwrap_or(i64::MAX);
            return Ok(Some(DemuxedFrame {
                data,
                layout: self.info.layout,
                pts: Some(Timestamp {
                    ticks,
                    timebase: self.info.timebase,
                }),
                keyframe: self.frame.is_keyframe,
                offset,
            }));
        }
        Ok(None)
    }
}

impl<R: Read + Seek> Iterator for MatroskaDemuxer<R> {
    type Item = Result<DemuxedFrame>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame().transpose()
    }
}

fn track_info(
    track: &TrackEntry,
    codec: Codec,
    doc_type: String,
    timebase: Timebase,
) -> Result<MatroskaTrackInfo> {
    let number = track.track_number().get();
    if track.content_encodings().is_some_and(|e| !e.is_empty()) {
        return Err(VideoError::unsupported(format!(
            "{doc_type}: video track {number} is compressed or encrypted (ContentEncoding); \
             remux it first, e.g. ffmpeg -i IN -c copy OUT.mp4"
        )));
    }
    let missing = || {
        VideoError::invalid_bitstream(format!(
            "{doc_type}: video track {number} ({}) has no CodecPrivate",
            track.codec_id()
        ))
    };
    let bad = |e: VideoError| {
        VideoError::invalid_bitstream(format!(
            "{doc_type}: CodecPrivate of video track {number}: {}",
            e.context()
        ))
    };
    let (layout, parameter_sets) = match codec {
        Codec::H264 => {
            let record =
                AvcDecoderConfigurationRecord::parse(track.codec_private().ok_or_else(missing)?)
                    .map_err(bad)?;
            (
                FrameLayout::LengthPrefixed(record.length_size()),
                record.parameter_sets(),
            )
        }
        Codec::Hevc => {
            let record =
                HevcDecoderConfigurationRecord::parse(track.codec_private().ok_or_else(missing)?)
                    .map_err(bad)?;
            (
                FrameLayout::LengthPrefixed(record.length_size()),
                record.parameter_sets(),
            )
        }
        _ => (FrameLayout::Packet, Vec::new()),
    };
    let dimensions = track.video().and_then(|v| {
        let w = u32::try_from(v.pixel_width().get()).ok()?;
        let h = u32::try_from(v.pixel_height().get()).ok()?;
        Dimensions::new(w, h).ok()
    });
    Ok(MatroskaTrackInfo {
        track_number: number,
        codec,
        codec_id: track.codec_id().to_owned(),
        doc_type,
        dimensions,
        timebase,
        parameter_sets,
        layout,
    })
}

/// Runs a call into the Matroska crate; a panic in it becomes an error. matroska-demuxer
/// 0.8.1 negates a block's i16 timestamp: for -32768 that overflows, which panics where
/// overflow checks are on (debug builds; the generic code is compiled in this crate) and
/// wraps to an error otherwise. The crate's state is not used after a panic (the demuxer
/// ends there).
fn contain<T>(
    call: impl FnOnce() -> std::result::Result<T, DemuxError>,
) -> std::result::Result<T, DemuxError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(call))
        .unwrap_or(Err(DemuxError::PositiveValueIsNotPositive))
}

/// The error for a damaged file that made the reader run out of its read budget.
fn looping(at: u64, doing: &str) -> VideoError {
    VideoError::invalid_bitstream(format!(
        "Matroska: {doing}: the file's elements lead the reader in circles (damaged; stopped at \
         byte {at})"
    ))
}

/// Maps an error of the Matroska crate to a [`VideoError`] that names the element and the
/// byte offset, never the crate's internals.
fn demux_error(e: DemuxError, position: &Position, doing: &str) -> VideoError {
    let at = position.get();
    if position.exhausted() {
        return looping(at, doing);
    }
    let what = match e {
        DemuxError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the file ends inside an element (truncated)".to_owned()
        }
        DemuxError::IoError(io) => {
            let message = format!("Matroska: {doing}: I/O error at byte {at}: {io}");
            return VideoError::invalid_input(message).with_source(io);
        }
        DemuxError::FromUtf8Error(_) => "a string element is not UTF-8".to_owned(),
        DemuxError::TryFromIntError(_) => "a size or value is out of range".to_owned(),
        DemuxError::InvalidEbmlElementId => "invalid EBML element id".to_owned(),
        DemuxError::InvalidEbmlDataSize => "invalid EBML element size".to_owned(),
        DemuxError::InvalidEbmlHeader(m) => format!("invalid EBML header: {m}"),
        DemuxError::WrongFloatSize(n) => format!("float element of {n} bytes"),
        DemuxError::WrongIntegerSize(n) => format!("integer element of {n} bytes"),
        DemuxError::WrongDateSize(n) => format!("date element of {n} bytes"),
        DemuxError::UnsupportedDocType(t) => {
            return VideoError::unsupported(format!(
                "Matroska: DocType `{t}` is neither matroska nor webm"
            ));
        }
        DemuxError::UnsupportedDocTypeReadVersion(v) => {
            return VideoError::unsupported(format!(
                "Matroska: DocTypeReadVersion {v} is newer than this reader (4)"
            ));
        }
        DemuxError::UnexpectedElement((want, got)) => {
            format!("expected element {want:?}, found {got:?}")
        }
        DemuxError::UnexpectedDataType => "an element has the wrong data type".to_owned(),
        DemuxError::ElementNotFound(id) => format!("required element {id:?} is missing"),
        DemuxError::CantFindCluster => "no Cluster element".to_owned(),
        DemuxError::NonZeroValueIsZero(id) => format!("element {id:?} is zero"),
        DemuxError::PositiveValueIsNotPositive => "a value that must be positive is not".to_owned(),
        DemuxError::FrameAlreadyHasDuration(_) => {
            "a block group has two BlockDuration elements".to_owned()
        }
        DemuxError::ElementSizeExceedsStream {
            declared,
            available,
        } => format!(
            "an element of {declared} bytes runs past the end of the file ({available} bytes \
             left): the file is truncated or damaged"
        ),
        DemuxError::InvalidBlockSize => "a block's size disagrees with its contents".to_owned(),
    };
    VideoError::invalid_bitstream(format!("Matroska: {doing}: {what} (at byte {at})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// One EBML element: its id bytes, an 8-byte size, its data.
    fn el(id: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.push(0x01);
        out.extend_from_slice(&(data.len() as u64).to_be_bytes()[1..]);
        out.extend_from_slice(data);
        out
    }

    fn uint(id: &[u8], v: u8) -> Vec<u8> {
        el(id, &[v])
    }

    fn block(track: u8, ts: i16, keyframe: bool, data: &[u8]) -> Vec<u8> {
        let mut b = vec![0x80 | track];
        b.extend_from_slice(&ts.to_be_bytes());
        b.push(if keyframe { 0x80 } else { 0 });
        b.extend_from_slice(data);
        el(&[0xA3], &b)
    }

    /// A WebM file: a VP9 video track 1 (176x144) and an Opus audio track 2, one cluster at
    /// 1 s with two video blocks and an audio block between them.
    fn webm(video_codec: &str, private: Option<&[u8]>) -> Vec<u8> {
        let header = el(
            &[0x1A, 0x45, 0xDF, 0xA3],
            &[
                uint(&[0x42, 0x86], 1),
                uint(&[0x42, 0xF7], 1),
                uint(&[0x42, 0xF2], 4),
                uint(&[0x42, 0xF3], 8),
                el(&[0x42, 0x82], b"webm"),
                uint(&[0x42, 0x87], 4),
                uint(&[0x42, 0x85], 2),
            ]
            .concat(),
        );
        let info = el(
            &[0x15, 0x49, 0xA9, 0x66],
            &[
                el(&[0x2A, 0xD7, 0xB1], &1_000_000u32.to_be_bytes()),
                el(&[0x4D, 0x80], b"test"),
                el(&[0x57, 0x41], b"test"),
            ]
            .concat(),
        );
        let mut video = vec![
            uint(&[0xD7], 1),
            uint(&[0x73, 0xC5], 1),
            uint(&[0x83], 1),
            el(&[0x86], video_codec.as_bytes()),
            el(&[0xE0], &[uint(&[0xB0], 176), uint(&[0xBA], 144)].concat()),
        ];
        if let Some(p) = private {
            video.push(el(&[0x63, 0xA2], p));
        }
        let audio = [
            uint(&[0xD7], 2),
            uint(&[0x73, 0xC5], 2),
            uint(&[0x83], 2),
            el(&[0x86], b"A_OPUS"),
            el(
                &[0xE1],
                &[el(&[0xB5], &48000f64.to_be_bytes()), uint(&[0x9F], 2)].concat(),
            ),
        ];
        let tracks = el(
            &[0x16, 0x54, 0xAE, 0x6B],
            &[el(&[0xAE], &video.concat()), el(&[0xAE], &audio.concat())].concat(),
        );
        let cluster = el(
            &[0x1F, 0x43, 0xB6, 0x75],
            &[
                el(&[0xE7], &1000u16.to_be_bytes()),
                block(1, 0, true, b"frame-0"),
                block(2, 0, true, b"opus"),
                block(1, 40, false, b"frame-1"),
            ]
            .concat(),
        );
        let segment = el(&[0x18, 0x53, 0x80, 0x67], &[info, tracks, cluster].concat());
        [header, segment].concat()
    }

    #[test]
    fn the_video_track_comes_out_block_by_block_with_timestamps_and_audio_skipped() {
        let mut demux = MatroskaDemuxer::new(Cursor::new(webm("V_VP9", None))).unwrap();
        let track = demux.track().clone();
        assert_eq!(track.codec, Codec::Vp9);
        assert_eq!(track.doc_type, "webm");
        assert_eq!(track.timebase.0, Rational { num: 1, den: 1000 });
        assert_eq!(
            track.dimensions.map(|d| (d.width(), d.height())),
            Some((176, 144))
        );
        assert_eq!(demux.summary().audio_tracks_skipped, 1);
        let frames: Vec<DemuxedFrame> = demux.by_ref().collect::<Result<_>>().unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].data, b"frame-0");
        assert_eq!(frames[0].layout, FrameLayout::Packet);
        assert_eq!(frames[0].keyframe, Some(true));
        assert_eq!(frames[1].pts.map(|t| t.ticks), Some(1040));
        assert_eq!(demux.summary().frames_skipped, 1);
    }

    #[test]
    fn h264_without_codec_private_and_unknown_video_codecs_are_refused() {
        let err = MatroskaDemuxer::new(Cursor::new(webm("V_MPEG4/ISO/AVC", None))).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidBitstream);
        assert!(err.to_string().contains("no CodecPrivate"), "{err}");
        let err = MatroskaDemuxer::new(Cursor::new(webm("V_AV1", None))).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
        assert!(err.to_string().contains("V_AV1"), "{err}");
    }

    #[test]
    fn a_cut_file_is_an_error_naming_the_byte_offset_or_a_clean_end() {
        let file = webm("V_VP9", None);
        for cut in [20, file.len() / 2, file.len() - 3] {
            let result = MatroskaDemuxer::new(Cursor::new(file[..cut].to_vec()))
                .and_then(|d| d.collect::<Result<Vec<_>>>());
            if let Err(e) = result {
                assert!(e.to_string().contains("at byte"), "cut {cut}: {e}");
            }
        }
    }

    #[test]
    fn timestamp_scales_reduce_to_a_timebase() {
        assert_eq!(
            timebase_of(1_000_000).unwrap().0,
            Rational { num: 1, den: 1000 }
        );
        assert_eq!(
            timebase_of(100).unwrap().0,
            Rational {
                num: 1,
                den: 10_000_000
            }
        );
        assert!(timebase_of(u64::MAX).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_after_an_ebml_header_read_or_fail_without_panicking(
            edits in proptest::collection::vec((0usize..400, proptest::num::u8::ANY), 0..16)
        ) {
            let mut file = webm("V_VP9", None);
            for (at, b) in edits {
                let at = at % file.len();
                file[at] = b;
            }
            if let Ok(demux) = MatroskaDemuxer::new(Cursor::new(file.clone())) {
                let total: usize =
                    demux.take(64).filter_map(|f| f.ok()).map(|f| f.data.len()).sum();
                proptest::prop_assert!(total <= file.len());
            }
        }
    }
}
