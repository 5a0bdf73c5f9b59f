//! Reading an audio track of an MP4/MOV file, sample by sample, unchanged (for copying into
//! another MP4 with [`crate::container::Mp4Muxer::add_audio_track`]).

use super::super::audio_entry::{AudioCodec, read_audio_entry};
use super::super::{read_at, read_error};
use super::movie::read_movie;
use super::track::index_track;
use super::{IndexedSample, Mp4Truncation};
use crate::api::codec::{Rational, Timebase, Timestamp};
use crate::api::error::{Result, VideoError};
use shiguredo_mp4::boxes::{HdlrBox, SampleEntry};
use std::io::{Read, Seek, SeekFrom};

/// An audio track of an MP4/MOV file.
#[derive(Debug, Clone)]
pub struct Mp4AudioTrackInfo {
    /// The track's id in the file.
    pub track_id: u32,
    /// The codec of its samples.
    pub codec: AudioCodec,
    /// The sample-entry type (`mp4a`, `Opus`, `sowt`...).
    pub sample_entry: String,
    /// Channels, as the sample description says.
    pub channels: u16,
    /// Samples per second (for AAC from its AudioSpecificConfig).
    pub sample_rate: u32,
    /// Ticks per second of the track's media timeline.
    pub timescale: u32,
    /// `1/timescale`: the timebase of every [`Mp4AudioSample`] timestamp.
    pub timebase: Timebase,
    /// Number of samples (audio frames: 1024 PCM samples each for AAC) that can be read.
    pub sample_count: u32,
    /// Sum of the sample durations, track timebase.
    pub media_duration: Timestamp,
    /// The codec's configuration (AAC AudioSpecificConfig), empty when it has none.
    pub decoder_config: Vec<u8>,
    /// What the end of a truncated file cut off from this track.
    pub truncated: Option<Mp4Truncation>,
    /// The ISO sample entry that carries the codec unchanged into an MP4 (`None` when MP4
    /// cannot carry it as read here: PCM in QuickTime form, AC-3...).
    pub(crate) iso_entry: Option<SampleEntry>,
}

impl Mp4AudioTrackInfo {
    /// Whether [`crate::container::Mp4Muxer`] can write this track into an MP4 unchanged.
    pub fn mp4_can_carry(&self) -> bool {
        self.iso_entry.is_some()
    }
}

/// One sample (an audio frame) of an audio track, bytes as in the file.
#[derive(Clone, PartialEq)]
pub struct Mp4AudioSample {
    /// 0-based index of the sample in the track.
    pub index: u32,
    /// The sample bytes (for AAC: one raw access unit, no ADTS header).
    pub data: Vec<u8>,
    /// Presentation time (edit list applied; before 0 for encoder priming), track timebase.
    pub pts: Timestamp,
    /// Duration in the track timebase.
    pub duration: u32,
}

impl std::fmt::Debug for Mp4AudioSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4AudioSample")
            .field("index", &self.index)
            .field("len", &self.data.len())
            .field("pts", &self.pts.ticks)
            .field("duration", &self.duration)
            .finish()
    }
}

/// Reads one audio track of an MP4/MOV file (regular or fragmented, QuickTime sound
/// descriptions included), sample by sample.
///
/// ```no_run
/// # fn main() -> video_hw::Result<()> {
/// use video_hw::container::Mp4AudioReader;
/// let open = || std::fs::File::open("in.mov").map_err(|e| video_hw::VideoError::invalid_input(e.to_string()));
/// let mut audio = Mp4AudioReader::new(std::io::BufReader::new(open()?), None)?;
/// println!("{} at {} Hz", audio.track().codec, audio.track().sample_rate);
/// while let Some(sample) = audio.next_sample()? {
///     let _ = (sample.pts, sample.data.len());
/// }
/// # Ok(()) }
/// ```
pub struct Mp4AudioReader<R> {
    reader: R,
    file_len: u64,
    info: Mp4AudioTrackInfo,
    samples: Vec<IndexedSample>,
    shift: i64,
    next: u32,
}

impl<R> std::fmt::Debug for Mp4AudioReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4AudioReader")
            .field("track", &self.info)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<R: Read + Seek> Mp4AudioReader<R> {
    /// Opens the audio track with id `track_id`, or the first audio track when `None`.
    ///
    /// `InvalidInput` when there is no such audio track; `InvalidBitstream` for a
    /// malformed file. A codec MP4 cannot carry is not an error here (see
    /// [`Mp4AudioTrackInfo::mp4_can_carry`]).
    pub fn new(mut reader: R, track_id: Option<u32>) -> Result<Self> {
        let file_len = reader
            .seek(SeekFrom::End(0))
            .map_err(|e| read_error("MP4 length", e))?;
        let movie = read_movie(&mut reader, file_len)?;
        let track = movie
            .tracks
            .iter()
            .find(|t| {
                t.handler == HdlrBox::HANDLER_TYPE_SOUN
                    && track_id.is_none_or(|id| id == t.track_id)
            })
            .ok_or_else(|| {
                VideoError::invalid_input(match track_id {
                    Some(id) => format!("MP4 has no audio track with id {id}"),
                    None => "MP4 has no audio track".to_string(),
                })
            })?;
        let trak = track
            .trak
            .as_ref()
            .map_err(|e| VideoError::new(e.kind(), e.context()))?;
        let raw = track.raw_entries.first().ok_or_else(|| {
            VideoError::invalid_bitstream(format!(
                "MP4 audio track {} has no sample description",
                track.track_id
            ))
        })?;
        let entry = read_audio_entry(raw);
        let indexed = index_track(&mut reader, file_len, &movie, trak)?;
        // Samples of a later sample description would need their own entry in a copy.
        if indexed.samples.iter().any(|s| s.entry != 0) {
            return Err(VideoError::unsupported(format!(
                "MP4 audio track {} changes sample description mid-way",
                track.track_id
            )));
        }
        let timescale = indexed.timescale.get();
        let timebase = Timebase(
            Rational::new(1, timescale).map_err(|e| e.while_doing("MP4 audio timescale"))?,
        );
        let info = Mp4AudioTrackInfo {
            track_id: track.track_id,
            codec: entry.codec,
            sample_entry: entry.fourcc,
            channels: entry.channels,
            sample_rate: entry.sample_rate,
            timescale,
            timebase,
            sample_count: u32::try_from(indexed.samples.len()).map_err(|_| {
                VideoError::unsupported("MP4 audio track has more than 2^32 samples")
            })?,
            media_duration: Timestamp {
                ticks: i64::try_from(indexed.media_duration).unwrap_or(i64::MAX),
                timebase,
            },
            decoder_config: entry.decoder_config,
            truncated: indexed.truncation.into(),
            iso_entry: entry.iso_entry,
        };
        Ok(Self {
            reader,
            file_len,
            info,
            samples: indexed.samples,
            shift: indexed.edit.shift,
            next: 0,
        })
    }

    /// The track being read.
    pub fn track(&self) -> &Mp4AudioTrackInfo {
        &self.info
    }

    /// The next sample, or `None` after the last.
    pub fn next_sample(&mut self) -> Result<Option<Mp4AudioSample>> {
        let Some(&s) = self.samples.get(self.next as usize) else {
            return Ok(None);
        };
        let n = self.next;
        if s.offset
            .checked_add(u64::from(s.size))
            .is_none_or(|end| end > self.file_len)
        {
            return Err(VideoError::invalid_bitstream(format!(
                "MP4 audio sample {n} ({} bytes at byte {}) lies beyond the end of the file",
                s.size, s.offset
            )));
        }
        let overflow =
            || VideoError::invalid_bitstream(format!("MP4 audio sample {n}: timestamp overflows"));
        let pts = i64::try_from(s.dts)
            .ok()
            .and_then(|d| d.checked_add(self.shift))
            .and_then(|d| d.checked_add(s.cto))
            .ok_or_else(overflow)?;
        let mut data = vec![0; s.size as usize];
        read_at(&mut self.reader, s.offset, &mut data, "MP4 audio sample")?;
        self.next = self.next.saturating_add(1);
        Ok(Some(Mp4AudioSample {
            index: n,
            data,
            pts: Timestamp {
                ticks: pts,
                timebase: self.info.timebase,
            },
            duration: s.duration,
        }))
    }
}

impl<R: Read + Seek> Iterator for Mp4AudioReader<R> {
    type Item = Result<Mp4AudioSample>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_sample().transpose()
    }
}
