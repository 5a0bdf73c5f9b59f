//! MP4 muxing of [`EncodedChunk`]s: a regular file (moov at the end) or fragmented MP4.

use super::codec_config::{ParameterSets, build_sample_entry, is_record_parameter_set};
use super::mp4_demux::{Mp4AudioSample, Mp4AudioTrackInfo};
use super::mux_audio::MuxAudio;
use super::write_error;
use crate::api::codec::{Codec, Rational, Timebase, Timestamp};
use crate::api::error::{Result, VideoError};
use crate::api::packet::EncodedChunk;
use crate::bitstream::annexb::split_annexb;
use crate::bitstream::layout::{push_length_prefixed, split_length_prefixed};
use shiguredo_mp4::boxes::{EdtsBox, ElstBox, ElstEntry, HdlrBox, SampleEntry};
use shiguredo_mp4::mux::{Fmp4SegmentMuxer, Mp4FileMuxer, MuxError, Sample};
use shiguredo_mp4::{Encode, FixedPointNumber, TrackKind};
use std::io::{Seek, SeekFrom, Write};
use std::num::NonZeroU32;

/// What a finished [`Mp4Muxer`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct MuxSummary {
    /// The codec of the track (`None` when no chunk was written).
    pub codec: Option<Codec>,
    /// Samples (access units) written.
    pub samples: u64,
    /// Sync samples among them.
    pub keyframes: u64,
    /// Parameter-set configurations used: sample descriptions (`stsd` entries) in a
    /// regular file; in-band configurations in a fragmented one.
    pub configurations: usize,
    /// Movie fragments written (0 for a regular file).
    pub fragments: u64,
    /// Track duration (sum of sample durations), in the track timebase.
    pub duration: Option<Timestamp>,
    /// Audio samples copied ([`Mp4Muxer::write_audio_sample`]).
    pub audio_samples: u64,
}

/// A sample whose duration is known once the next one arrives.
#[derive(Debug)]
struct Pending {
    /// Sample bytes (fragmented mode only; a regular file has them written already).
    data: Vec<u8>,
    size: usize,
    offset: u64,
    dts: i64,
    cto: i64,
    keyframe: bool,
    entry: Option<SampleEntry>,
}

enum Mode {
    File {
        inner: Box<Mp4FileMuxer>,
        position: u64,
    },
    Fragmented {
        inner: Box<Fmp4SegmentMuxer>,
        /// Samples of the fragment being gathered (durations set).
        fragment: Vec<(Sample, Vec<u8>)>,
        init_written: bool,
        /// The one sample entry of the init segment (`avc3`/`hev1`).
        entry: Option<SampleEntry>,
    },
}

/// Writes one H.264 or HEVC video track into MP4.
///
/// - [`Mp4Muxer::new`]: a regular MP4 (`ftyp`, `mdat`, then `moov` at the end), with
///   `avc1`/`hvc1` sample descriptions built from the parameter sets in the chunks, `stss`,
///   `ctts` when pts differs from dts and an edit list that starts presentation at the first
///   picture. A parameter-set change (new SPS, e.g. a resolution switch) starts a new
///   sample description; in-band parameter sets are moved into it.
/// - [`Mp4Muxer::fragmented`]: fragmented MP4 for live output (`moov` with `mvex`, then
///   one `moof`+`mdat` per GOP); `avc3`/`hev1` with parameter sets kept in band, so a change
///   takes effect at the fragment that starts with it.
///
/// Chunks arrive in decode order, Annex-B or length-prefixed, each with a pts (and a dts
/// where it differs). Durations come from dts deltas; the last sample repeats the one
/// before it. The file's timeline starts at the first picture: an offset common to all
/// timestamps (a stream starting at 10 s) is not kept. The track timescale is the
/// chunks' timebase when it is `1/n` (or a whole fraction of a second), else 90 kHz.
///
/// A regular file can also hold one audio track copied unchanged from an MP4/MOV input
/// ([`Mp4Muxer::add_audio_track`], [`Mp4Muxer::write_audio_sample`]): its samples keep
/// their bytes and durations, and an edit list presents them at the same time relative to
/// the first picture as in the input (AAC priming stays hidden).
pub struct Mp4Muxer<W: Write> {
    writer: W,
    write_at: Option<WriteAt<W>>,
    mode: Mode,
    codec: Option<Codec>,
    timebase: Option<Timebase>,
    params: ParameterSets,
    pending: Option<Pending>,
    first_dts: i64,
    /// In fragmented mode: subtracted from every composition offset so the first picture
    /// is presented at 0.
    cto_shift: i64,
    min_pts: Option<i64>,
    last_duration: u32,
    total_duration: u64,
    audio: Option<MuxAudio>,
    summary: MuxSummary,
}

impl<W: Write> std::fmt::Debug for Mp4Muxer<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4Muxer")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

/// Writes bytes at an absolute offset (only seekable writers have one).
type WriteAt<W> = fn(&mut W, u64, &[u8]) -> std::io::Result<()>;

fn write_at<W: Write + Seek>(w: &mut W, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
    w.seek(SeekFrom::Start(offset))?;
    w.write_all(bytes)
}

fn mux_error(what: &str, e: MuxError) -> VideoError {
    match e {
        // The crate's own Display of a box error names its source location.
        MuxError::EncodeError(e) => super::mp4_error(&format!("MP4 mux {what}"), e),
        e => VideoError::invalid_input(format!("MP4 mux {what}: {e}")),
    }
}

impl<W: Write + Seek> Mp4Muxer<W> {
    /// A regular MP4 file written to `writer` (which must start empty at position 0).
    pub fn new(mut writer: W) -> Result<Self> {
        let inner = Mp4FileMuxer::new().map_err(|e| mux_error("setup", e))?;
        let head = inner.initial_boxes_bytes();
        writer
            .write_all(head)
            .map_err(|e| write_error("MP4 header", e))?;
        let position = head.len() as u64;
        Ok(Self::with_mode(
            writer,
            Some(write_at::<W>),
            Mode::File {
                inner: Box::new(inner),
                position,
            },
        ))
    }
}

impl<W: Write> Mp4Muxer<W> {
    /// A fragmented MP4 stream written to `writer` (no seeking): init segment before the
    /// first fragment, then one fragment per keyframe-to-keyframe run.
    pub fn fragmented(writer: W) -> Result<Self> {
        let inner = Fmp4SegmentMuxer::new().map_err(|e| mux_error("setup", e))?;
        Ok(Self::with_mode(
            writer,
            None,
            Mode::Fragmented {
                inner: Box::new(inner),
                fragment: Vec::new(),
                init_written: false,
                entry: None,
            },
        ))
    }

    fn with_mode(writer: W, write_at: Option<WriteAt<W>>, mode: Mode) -> Self {
        Self {
            writer,
            write_at,
            mode,
            codec: None,
            timebase: None,
            params: ParameterSets::default(),
            pending: None,
            first_dts: 0,
            cto_shift: 0,
            min_pts: None,
            last_duration: 0,
            total_duration: 0,
            audio: None,
            summary: MuxSummary {
                codec: None,
                samples: 0,
                keyframes: 0,
                configurations: 0,
                fragments: 0,
                duration: None,
                audio_samples: 0,
            },
        }
    }

    /// Adds one access unit (decode order).
    ///
    /// `InvalidInput` for a chunk without a pts, a codec change, a dts that does not
    /// increase, or a first chunk without parameter sets; `InvalidBitstream` for a
    /// malformed length-prefixed chunk.
    pub fn write_chunk(&mut self, chunk: &EncodedChunk) -> Result<()> {
        let codec = *self.codec.get_or_insert(chunk.codec);
        if chunk.codec != codec {
            return Err(VideoError::invalid_input(format!(
                "MP4 track is {codec}, chunk is {}",
                chunk.codec
            )));
        }
        let pts = chunk
            .pts
            .ok_or_else(|| VideoError::invalid_input("MP4 needs a pts on every chunk"))?;
        let dts = chunk.dts.unwrap_or(pts);
        let timebase = *self
            .timebase
            .get_or_insert_with(|| track_timebase(dts.timebase));
        let (pts, dts) = (pts.rescale(timebase).ticks, dts.rescale(timebase).ticks);
        if let Some(prev) = &self.pending
            && dts <= prev.dts
        {
            return Err(VideoError::invalid_input(format!(
                "MP4 needs increasing dts: {dts} after {}",
                prev.dts
            )));
        }

        let nals = match chunk.layout.length_size() {
            None => split_annexb(&chunk.data)
                .into_iter()
                .map(|nal| nal.data)
                .collect(),
            Some(n) => split_length_prefixed(&chunk.data, n)?,
        };
        let in_band = matches!(self.mode, Mode::Fragmented { .. });
        let found = ParameterSets::from_nals(codec, &nals);
        let mut new_entry = None;
        if let Some(found) = &found {
            let next = self.params.updated_with(found);
            if next != self.params {
                let entry = build_sample_entry(codec, &next, in_band)?;
                self.params = next;
                self.summary.configurations = self.summary.configurations.saturating_add(1);
                new_entry = Some(entry);
            }
        }
        if self.summary.samples == 0 && new_entry.is_none() {
            // Surfaces the missing-parameter-set error.
            build_sample_entry(codec, &self.params, in_band)?;
        }
        let mut data = Vec::with_capacity(chunk.data.len().saturating_add(4));
        for nal in &nals {
            if !in_band && is_record_parameter_set(codec, nal) {
                continue; // carried by the sample description
            }
            push_length_prefixed(&mut data, nal, 4)?;
        }

        if self.summary.samples == 0 {
            self.first_dts = dts;
            if in_band {
                self.cto_shift = pts.checked_sub(dts).ok_or_else(timestamp_overflow)?;
            }
        }
        self.min_pts = Some(self.min_pts.map_or(pts, |m| m.min(pts)));
        if in_band && chunk.keyframe && self.pending.is_some() {
            // A fragment ends before every keyframe; the pending sample closes it.
            self.release_pending(dts)?;
            self.flush_fragment()?;
        } else if self.pending.is_some() {
            self.release_pending(dts)?;
        }

        let offset = match &mut self.mode {
            Mode::File { position, .. } => {
                let offset = *position;
                self.writer
                    .write_all(&data)
                    .map_err(|e| write_error("MP4 sample", e))?;
                *position = position.saturating_add(data.len() as u64);
                offset
            }
            Mode::Fragmented { entry, .. } => {
                if entry.is_none() {
                    *entry = new_entry.clone();
                }
                0
            }
        };
        let size = data.len();
        self.pending = Some(Pending {
            data: if in_band { data } else { Vec::new() },
            size,
            offset,
            dts,
            cto: pts
                .checked_sub(dts)
                .and_then(|c| c.checked_sub(self.cto_shift))
                .ok_or_else(timestamp_overflow)?,
            keyframe: chunk.keyframe,
            entry: new_entry,
        });
        self.summary.samples = self.summary.samples.saturating_add(1);
        self.summary.keyframes = self
            .summary
            .keyframes
            .saturating_add(u64::from(chunk.keyframe));
        Ok(())
    }

    /// Hands the pending sample to the MP4 muxer now that the next dts is known.
    fn release_pending(&mut self, next_dts: i64) -> Result<()> {
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        let delta = next_dts.checked_sub(p.dts).ok_or_else(timestamp_overflow)?;
        let duration = u32::try_from(delta).map_err(|_| {
            VideoError::invalid_input(format!("MP4 sample duration {delta} does not fit 32 bits"))
        })?;
        self.append(p, duration)?;
        self.flush_audio_queue()
    }

    /// Adds an audio track to a regular MP4, copied unchanged from `track` (read by
    /// [`crate::container::Mp4AudioReader`]); its samples follow with
    /// [`Mp4Muxer::write_audio_sample`], interleaved with the video chunks in time order.
    ///
    /// `Unsupported` for a codec MP4 cannot carry (see
    /// [`Mp4AudioTrackInfo::mp4_can_carry`]), for a second audio track, and for fragmented
    /// output (which carries video only).
    pub fn add_audio_track(&mut self, track: &Mp4AudioTrackInfo) -> Result<()> {
        if matches!(self.mode, Mode::Fragmented { .. }) {
            return Err(VideoError::unsupported(
                "fragmented MP4 output carries video only: audio cannot be added",
            ));
        }
        if self.audio.is_some() {
            return Err(VideoError::unsupported(
                "this MP4 writer holds one audio track; a second cannot be added",
            ));
        }
        self.audio = Some(MuxAudio::new(track)?);
        Ok(())
    }

    /// Adds one sample of the audio track ([`Mp4Muxer::add_audio_track`] first). Samples
    /// go into the file in the order they are given; give them in time order, between the
    /// video chunks around the same time, so that players find both close together.
    pub fn write_audio_sample(&mut self, sample: &Mp4AudioSample) -> Result<()> {
        let audio = self
            .audio
            .as_mut()
            .ok_or_else(|| VideoError::invalid_input("MP4 audio sample before add_audio_track"))?;
        audio.queue.push(sample.clone());
        if self.pending.is_none() {
            self.flush_audio_queue()?;
        }
        Ok(())
    }

    /// Writes the queued audio samples (no video sample is waiting to be indexed).
    fn flush_audio_queue(&mut self) -> Result<()> {
        let Some(audio) = self.audio.as_mut() else {
            return Ok(());
        };
        let Mode::File { inner, position } = &mut self.mode else {
            return Ok(());
        };
        for s in audio.queue.drain(..) {
            let pts = s.pts.rescale(audio.timebase).ticks;
            audio.first_pts.get_or_insert(pts);
            self.writer
                .write_all(&s.data)
                .map_err(|e| write_error("MP4 audio sample", e))?;
            let sample = Sample {
                track_kind: TrackKind::Audio,
                sample_entry: (!audio.entry_written).then(|| audio.entry.clone()),
                keyframe: true,
                timescale: audio.timescale,
                duration: s.duration,
                composition_time_offset: None,
                data_offset: *position,
                data_size: s.data.len(),
            };
            inner
                .append_sample(&sample)
                .map_err(|e| mux_error("audio sample", e))?;
            audio.entry_written = true;
            *position = position.saturating_add(s.data.len() as u64);
            audio.samples = audio.samples.saturating_add(1);
            audio.total_duration = audio.total_duration.saturating_add(u64::from(s.duration));
        }
        self.summary.audio_samples = audio.samples;
        Ok(())
    }

    fn append(&mut self, p: Pending, duration: u32) -> Result<()> {
        self.last_duration = duration;
        self.total_duration = self.total_duration.saturating_add(u64::from(duration));
        let timescale = self.timescale()?;
        let mut sample = Sample {
            track_kind: TrackKind::Video,
            sample_entry: p.entry,
            keyframe: p.keyframe,
            timescale,
            duration,
            composition_time_offset: (p.cto != 0).then_some(p.cto),
            data_offset: p.offset,
            data_size: p.size,
        };
        match &mut self.mode {
            Mode::File { inner, .. } => inner
                .append_sample(&sample)
                .map_err(|e| mux_error("sample", e)),
            Mode::Fragmented {
                fragment, entry, ..
            } => {
                // The init segment has one entry; later changes travel in band.
                sample.sample_entry = entry.clone();
                sample.data_offset = fragment.iter().map(|(_, d)| d.len() as u64).sum();
                fragment.push((sample, p.data));
                Ok(())
            }
        }
    }

    fn timescale(&self) -> Result<NonZeroU32> {
        self.timebase
            .and_then(|tb| NonZeroU32::new(tb.0.den))
            .ok_or_else(|| VideoError::invalid_input("MP4 track has no timebase"))
    }

    /// Writes the gathered fragment (and the init segment before the first).
    fn flush_fragment(&mut self) -> Result<()> {
        let Mode::Fragmented {
            inner,
            fragment,
            init_written,
            ..
        } = &mut self.mode
        else {
            return Ok(());
        };
        if fragment.is_empty() {
            return Ok(());
        }
        let samples: Vec<Sample> = fragment.iter().map(|(s, _)| s.clone()).collect();
        let header = inner
            .create_media_segment_metadata(&samples)
            .map_err(|e| mux_error("fragment", e))?;
        if !*init_written {
            let init = inner
                .init_segment_bytes()
                .map_err(|e| mux_error("init segment", e))?;
            self.writer
                .write_all(&init)
                .map_err(|e| write_error("MP4 init segment", e))?;
            *init_written = true;
        }
        self.writer
            .write_all(&header)
            .map_err(|e| write_error("MP4 fragment", e))?;
        for (_, data) in fragment.drain(..) {
            self.writer
                .write_all(&data)
                .map_err(|e| write_error("MP4 fragment", e))?;
        }
        self.summary.fragments = self.summary.fragments.saturating_add(1);
        Ok(())
    }

    /// Completes the file (the last sample's duration repeats the previous one) and
    /// returns the writer and what was written.
    pub fn finish(mut self) -> Result<(W, MuxSummary)> {
        if let Some(p) = self.pending.take() {
            let duration = if self.last_duration > 0 {
                self.last_duration
            } else {
                self.timebase.map_or(1, |tb| {
                    u32::try_from(tb.ticks_per_frame(Rational { num: 30, den: 1 })).unwrap_or(1)
                })
            };
            self.append(p, duration)?;
        }
        self.flush_audio_queue()?;
        self.summary.codec = self.codec;
        self.summary.duration = self.timebase.map(|timebase| Timestamp {
            ticks: i64::try_from(self.total_duration).unwrap_or(i64::MAX),
            timebase,
        });
        if self.summary.samples == 0 {
            return Err(VideoError::invalid_input("MP4 muxer got no chunks"));
        }
        let media_start = self
            .min_pts
            .unwrap_or(0)
            .checked_sub(self.first_dts)
            .ok_or_else(timestamp_overflow)?;
        let total_duration = self.total_duration;
        match &mut self.mode {
            Mode::Fragmented { .. } => {
                self.flush_fragment()?;
            }
            Mode::File { inner, .. } => {
                let finalized = inner.finalize().map_err(|e| mux_error("finalize", e))?;
                let write_at = self
                    .write_at
                    .ok_or_else(|| VideoError::invalid_input("MP4 file needs a seekable writer"))?;
                let mut pairs: Vec<(u64, Vec<u8>)> = finalized
                    .offset_and_bytes_pairs()
                    .map(|(o, b)| (o, b.to_vec()))
                    .collect();
                let video_start = self
                    .min_pts
                    .zip(self.timebase)
                    .map(|(ticks, timebase)| Timestamp { ticks, timebase });
                let mut moov = finalized.moov_box().clone();
                let movie_scale = moov.mvhd_box.timescale.get();
                let audio_edit = self
                    .audio
                    .as_ref()
                    .and_then(|a| a.edit_list(video_start, movie_scale));
                if !finalized.is_faststart_enabled() && (media_start != 0 || audio_edit.is_some()) {
                    // moov is last: add edit lists so presentation starts at the first
                    // picture (B-frame reordering delay) and the audio keeps its place
                    // against it, then re-encode it.
                    let moov_offset = pairs.iter().map(|(o, _)| *o).max().unwrap_or_default();
                    let video_edit_duration = self
                        .timebase
                        .map(|timebase| {
                            Timestamp {
                                ticks: i64::try_from(total_duration).unwrap_or(i64::MAX),
                                timebase,
                            }
                            .rescale(Timebase(Rational {
                                num: 1,
                                den: movie_scale,
                            }))
                            .ticks
                        })
                        .and_then(|t| u64::try_from(t).ok())
                        .unwrap_or(total_duration);
                    for trak in &mut moov.trak_boxes {
                        if trak.mdia_box.hdlr_box.handler_type == HdlrBox::HANDLER_TYPE_SOUN {
                            trak.edts_box = audio_edit.clone();
                        } else if media_start != 0 {
                            trak.edts_box = Some(EdtsBox {
                                elst_box: Some(ElstBox {
                                    entries: vec![ElstEntry {
                                        edit_duration: video_edit_duration,
                                        media_time: media_start,
                                        media_rate: FixedPointNumber::new(1, 0),
                                    }],
                                }),
                                unknown_boxes: Vec::new(),
                            });
                        }
                    }
                    let bytes = moov
                        .encode_to_vec()
                        .map_err(|e| super::mp4_error("MP4 moov", e))?;
                    for (o, b) in &mut pairs {
                        if *o == moov_offset {
                            *b = bytes.clone();
                        }
                    }
                }
                for (offset, bytes) in pairs {
                    write_at(&mut self.writer, offset, &bytes)
                        .map_err(|e| write_error("MP4 moov", e))?;
                }
            }
        }
        self.writer
            .flush()
            .map_err(|e| write_error("MP4 flush", e))?;
        Ok((self.writer, self.summary))
    }
}

/// Chunk timestamps so far apart that their difference overflows.
fn timestamp_overflow() -> VideoError {
    VideoError::invalid_input("MP4 chunk timestamps are too far apart (difference overflows)")
}

/// The track timebase for chunk timestamps in `tb`: `1/n` when `tb` is a whole fraction
/// of a second, otherwise 90 kHz.
fn track_timebase(tb: Timebase) -> Timebase {
    let Rational { num, den } = tb.0;
    if num == 1 {
        tb
    } else if let Some(whole) = den
        .checked_div(num)
        .filter(|_| den.checked_rem(num) == Some(0))
    {
        Timebase(Rational { num: 1, den: whole })
    } else {
        Timebase::MPEG_90K
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::packet::BitstreamLayout;

    fn chunk(data: Vec<u8>, pts: i64, dts: i64, keyframe: bool) -> EncodedChunk {
        EncodedChunk {
            codec: Codec::H264,
            layout: BitstreamLayout::AnnexB,
            pts: Some(Timestamp::mpeg(pts)),
            dts: Some(Timestamp::mpeg(dts)),
            keyframe,
            generation: 0,
            data,
        }
    }

    #[test]
    fn first_chunk_without_parameter_sets_is_invalid_input() {
        let mut mux = Mp4Muxer::new(std::io::Cursor::new(Vec::new())).unwrap();
        let err = mux
            .write_chunk(&chunk(vec![0, 0, 0, 1, 0x65, 0x88, 0x84], 0, 0, true))
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
    }

    #[test]
    fn decreasing_dts_is_invalid_input_and_the_muxer_stays_usable() {
        let sps_pps_idr = [
            &[0, 0, 0, 1][..],
            &[
                0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03,
                0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0x99, 0x60,
            ],
            &[0, 0, 0, 1, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0],
            &[0, 0, 0, 1, 0x65, 0x88, 0x84],
        ]
        .concat();
        let mut mux = Mp4Muxer::new(std::io::Cursor::new(Vec::new())).unwrap();
        mux.write_chunk(&chunk(sps_pps_idr.clone(), 3000, 3000, true))
            .unwrap();
        let err = mux
            .write_chunk(&chunk(vec![0, 0, 0, 1, 0x41, 0x9a], 0, 0, false))
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        mux.write_chunk(&chunk(vec![0, 0, 0, 1, 0x41, 0x9a], 6000, 6000, false))
            .unwrap();
        let (cursor, summary) = mux.finish().unwrap();
        assert_eq!(summary.samples, 2);
        assert_eq!(summary.keyframes, 1);
        assert_eq!(summary.configurations, 1);
        assert_eq!(summary.duration.map(|d| d.ticks), Some(6000));
        // The file reads back: two samples, the parameter sets out of band.
        let bytes = cursor.into_inner();
        let mut demux = crate::container::Mp4Demuxer::from_bytes(&bytes).unwrap();
        assert_eq!(demux.track().frame_count, 2);
        assert_eq!(demux.track().parameter_sets.len(), 2);
        let first = demux.next_sample().unwrap().unwrap();
        assert_eq!(first.data, vec![0, 0, 0, 3, 0x65, 0x88, 0x84]);
    }

    #[test]
    fn finishing_without_chunks_is_invalid_input() {
        let mux = Mp4Muxer::new(std::io::Cursor::new(Vec::new())).unwrap();
        assert_eq!(
            mux.finish().unwrap_err().kind(),
            crate::ErrorKind::InvalidInput
        );
    }

    #[test]
    fn whole_fraction_timebases_are_kept_and_others_become_90k() {
        let ms = Timebase(Rational { num: 1, den: 1000 });
        assert_eq!(track_timebase(ms), ms);
        assert_eq!(
            track_timebase(Timebase(Rational { num: 2, den: 50 })),
            Timebase(Rational { num: 1, den: 25 })
        );
        assert_eq!(
            track_timebase(Timebase(Rational {
                num: 1001,
                den: 30000
            })),
            Timebase::MPEG_90K
        );
    }
}
