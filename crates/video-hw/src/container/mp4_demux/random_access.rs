//! Random access into an MP4 video track: the sample index (presentation time and sync flag
//! of every sample, from the sample table, without reading sample data), the decode start
//! for a wanted picture, and seeking the demuxer there.

use super::Mp4Demuxer;
use crate::api::codec::Timestamp;
use crate::api::error::{Result, VideoError};
use std::io::{Read, Seek};

/// When one sample of the track plays and whether decoding can start at it, as the sample
/// table states it (no sample data is read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mp4SampleTiming {
    /// Position of the sample in decode order (as [`super::Mp4Sample::index`]).
    pub index: u32,
    /// Presentation time, in the track's timebase (edit list applied, as in the samples).
    pub pts: Timestamp,
    /// Whether the sample is a sync sample (`stss`, or the fragment's sample flags).
    pub keyframe: bool,
}

impl Mp4SampleTiming {
    /// The sample to start decoding at so that the picture of sample `index` comes out: the
    /// last sync sample at or before it in decode order that does not play after it (so the
    /// wanted picture is not a leading picture of the start). Falls back to the first sample
    /// when the track has no such sync sample. `InvalidInput` for an index past the end.
    pub fn decode_start(timings: &[Self], index: u32) -> Result<u32> {
        let wanted = timings.get(index as usize).ok_or_else(|| {
            VideoError::invalid_input(format!(
                "sample {index} is past the end of the track ({} samples)",
                timings.len()
            ))
        })?;
        Ok(timings[..=index as usize]
            .iter()
            .rev()
            .find(|t| t.keyframe && t.pts.ticks <= wanted.pts.ticks)
            .map_or(0, |t| t.index))
    }
}

impl<R: Read + Seek> Mp4Demuxer<R> {
    /// Every sample of the track in decode order, with its presentation time and sync flag.
    ///
    /// `InvalidBitstream` when a timestamp overflows. Sorting by `pts` gives presentation
    /// order: the `n`-th frame a sequential decode delivers is the `n`-th of that order.
    pub fn sample_timings(&self) -> Result<Vec<Mp4SampleTiming>> {
        let timebase = self.info.timebase;
        self.samples
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let overflow = || {
                    VideoError::invalid_bitstream(format!("MP4 sample {i}: timestamp overflows"))
                };
                let dts = i64::try_from(s.dts).map_err(|_| overflow())?;
                let ticks = dts
                    .checked_add(self.shift)
                    .and_then(|t| t.checked_add(s.cto))
                    .ok_or_else(overflow)?;
                Ok(Mp4SampleTiming {
                    index: u32::try_from(i).map_err(|_| overflow())?,
                    pts: Timestamp { ticks, timebase },
                    keyframe: s.keyframe,
                })
            })
            .collect()
    }

    /// Makes sample `index` (decode order) the next one [`Mp4Demuxer::next_sample`] reads.
    /// That sample carries its parameter sets in front again, so decoding can restart there
    /// (from a sync sample, see [`Mp4SampleTiming::decode_start`]). `InvalidInput` for an
    /// index past the end.
    pub fn seek_to_sample(&mut self, index: u32) -> Result<()> {
        if index as usize >= self.samples.len() {
            return Err(VideoError::invalid_input(format!(
                "cannot seek to sample {index}: the track has {} samples",
                self.samples.len()
            )));
        }
        self.next = index;
        self.last_entry = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::codec::Timebase;

    fn timing(index: u32, pts: i64, keyframe: bool) -> Mp4SampleTiming {
        Mp4SampleTiming {
            index,
            pts: Timestamp {
                ticks: pts,
                timebase: Timebase::MPEG_90K,
            },
            keyframe,
        }
    }

    #[test]
    fn decode_starts_at_the_last_sync_sample_that_does_not_play_after_the_wanted_picture() {
        // Decode order: I0 P3 B1 B2 | I6 (open GOP) B4 B5 P7.
        let t = [
            timing(0, 0, true),
            timing(1, 3, false),
            timing(2, 1, false),
            timing(3, 2, false),
            timing(4, 6, true),
            timing(5, 4, false),
            timing(6, 5, false),
            timing(7, 7, false),
        ];
        assert_eq!(Mp4SampleTiming::decode_start(&t, 3).unwrap(), 0);
        // B4 and B5 lead I6: they play before it, so decoding starts at I0.
        assert_eq!(Mp4SampleTiming::decode_start(&t, 5).unwrap(), 0);
        assert_eq!(Mp4SampleTiming::decode_start(&t, 4).unwrap(), 4);
        assert_eq!(Mp4SampleTiming::decode_start(&t, 7).unwrap(), 4);
        let err = Mp4SampleTiming::decode_start(&t, 8).unwrap_err();
        assert_eq!(err.kind(), crate::api::error::ErrorKind::InvalidInput);
    }
}
