//! The audio track of an [`super::Mp4Muxer`]: samples copied unchanged from an
//! [`super::Mp4AudioReader`], and the edit list that keeps them aligned with the video.

use super::mp4_demux::{Mp4AudioSample, Mp4AudioTrackInfo};
use crate::api::codec::{Rational, Timebase, Timestamp};
use crate::api::error::{Result, VideoError};
use shiguredo_mp4::FixedPointNumber;
use shiguredo_mp4::boxes::{EdtsBox, ElstBox, ElstEntry, SampleEntry};
use std::num::NonZeroU32;

/// The audio track being written.
#[derive(Debug)]
pub(super) struct MuxAudio {
    pub(super) entry: SampleEntry,
    pub(super) timescale: NonZeroU32,
    pub(super) timebase: Timebase,
    /// Presentation time of the first sample (track timebase; negative for priming).
    pub(super) first_pts: Option<i64>,
    /// Samples written.
    pub(super) samples: u64,
    /// Sum of sample durations (track timebase).
    pub(super) total_duration: u64,
    /// Whether the sample entry went out with the first sample.
    pub(super) entry_written: bool,
    /// Samples waiting for the pending video sample to be indexed (the MP4 index must
    /// follow the byte order of the file).
    pub(super) queue: Vec<Mp4AudioSample>,
}

impl MuxAudio {
    /// The audio track for `track`, or why MP4 cannot carry it.
    pub(super) fn new(track: &Mp4AudioTrackInfo) -> Result<Self> {
        let entry = track.iso_entry.clone().ok_or_else(|| {
            VideoError::unsupported(format!(
                "MP4 output cannot carry the audio of track {} ({} audio, sample entry `{}`); \
                 MP4 carries AAC, MP3, Opus and FLAC",
                track.track_id, track.codec, track.sample_entry
            ))
        })?;
        let timescale = NonZeroU32::new(track.timescale)
            .ok_or_else(|| VideoError::invalid_input("audio track timescale is 0"))?;
        Ok(Self {
            entry,
            timescale,
            timebase: Timebase(Rational::new(1, timescale.get())?),
            first_pts: None,
            samples: 0,
            total_duration: 0,
            entry_written: false,
            queue: Vec::new(),
        })
    }

    /// The edit list that presents the audio against a video track whose presentation
    /// starts at `video_start` (the first picture's pts, which the muxer maps to 0).
    /// `movie_scale` is the movie timescale of edit durations. `None` when the audio
    /// starts with the video and has no priming to hide.
    pub(super) fn edit_list(
        &self,
        video_start: Option<Timestamp>,
        movie_scale: u32,
    ) -> Option<EdtsBox> {
        let first = self.first_pts?;
        let video_start = video_start.map_or(0, |v| v.rescale(self.timebase).ticks);
        // Where the audio's first sample plays relative to the first picture.
        let delay = first.saturating_sub(video_start);
        if delay == 0 {
            return None;
        }
        let to_movie = |ticks: u64| {
            Timestamp {
                ticks: i64::try_from(ticks).unwrap_or(i64::MAX),
                timebase: self.timebase,
            }
            .rescale(Timebase(Rational {
                num: 1,
                den: movie_scale.max(1),
            }))
            .ticks
            .max(0) as u64
        };
        let rate = FixedPointNumber::new(1, 0);
        let entries = if delay < 0 {
            // Leading samples (priming) are not presented.
            let skip = delay.unsigned_abs();
            vec![ElstEntry {
                edit_duration: to_movie(self.total_duration.saturating_sub(skip)),
                media_time: i64::try_from(skip).unwrap_or(i64::MAX),
                media_rate: rate,
            }]
        } else {
            vec![
                ElstEntry {
                    edit_duration: to_movie(delay.unsigned_abs()),
                    media_time: -1,
                    media_rate: rate,
                },
                ElstEntry {
                    edit_duration: to_movie(self.total_duration),
                    media_time: 0,
                    media_rate: rate,
                },
            ]
        };
        Some(EdtsBox {
            elst_box: Some(ElstBox { entries }),
            unknown_boxes: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiguredo_mp4::boxes::{AudioSampleEntryFields, DopsBox, OpusBox};

    fn audio(first_pts: i64, total: u64) -> MuxAudio {
        let entry = SampleEntry::Opus(OpusBox {
            audio: AudioSampleEntryFields {
                data_reference_index: AudioSampleEntryFields::DEFAULT_DATA_REFERENCE_INDEX,
                channelcount: 2,
                samplesize: 16,
                samplerate: FixedPointNumber::new(48000, 0),
            },
            dops_box: DopsBox {
                output_channel_count: 2,
                pre_skip: 312,
                input_sample_rate: 48000,
                output_gain: 0,
            },
            unknown_boxes: Vec::new(),
        });
        MuxAudio {
            entry,
            timescale: NonZeroU32::new(48000).unwrap(),
            timebase: Timebase(Rational::new(1, 48000).unwrap()),
            first_pts: Some(first_pts),
            samples: 10,
            total_duration: total,
            entry_written: true,
            queue: Vec::new(),
        }
    }

    #[test]
    fn priming_before_the_first_picture_is_skipped_by_the_edit_list() {
        // 1024 ticks of priming, 2 s of media; the video starts at 0; movie timescale 1000.
        let edts = audio(-1024, 96_000 + 1024)
            .edit_list(Some(Timestamp::mpeg(0)), 1000)
            .unwrap();
        let entries = edts.elst_box.unwrap().entries;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].media_time, 1024);
        assert_eq!(entries[0].edit_duration, 2000);
    }

    #[test]
    fn audio_starting_after_the_first_picture_gets_an_empty_edit_first() {
        // The audio starts 0.5 s after the first picture (which is at 1 s in the input).
        let edts = audio(72_000, 48_000)
            .edit_list(Some(Timestamp::mpeg(90_000)), 1000)
            .unwrap();
        let entries = edts.elst_box.unwrap().entries;
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[0].media_time, entries[0].edit_duration), (-1, 500));
        assert_eq!((entries[1].media_time, entries[1].edit_duration), (0, 1000));
    }

    #[test]
    fn audio_starting_with_the_video_needs_no_edit_list() {
        assert!(
            audio(0, 48_000)
                .edit_list(Some(Timestamp::mpeg(0)), 1000)
                .is_none()
        );
    }
}
