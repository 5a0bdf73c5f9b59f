//! `transcode`'s audio: the input's audio track copied unchanged into an MP4 output,
//! interleaved with the re-encoded video by time; or dropped, and said so.

use anyhow::{Context, Result, bail};
use std::io::BufReader;
use std::path::Path;
use video_hw::EncodedChunk;
use video_hw::container::{self, Mp4AudioReader, Mp4AudioSample, Mp4Muxer, Mp4Track};

type FileReader = BufReader<std::fs::File>;

/// The audio being copied.
pub struct AudioCopy {
    reader: Mp4AudioReader<FileReader>,
    /// The next sample, read but not yet written.
    next: Option<Mp4AudioSample>,
    /// What was copied, for the summary.
    pub copied: u64,
}

/// What to do with the input's audio: copy it (when the output is an MP4 file that can
/// carry it), or drop it with a note. An audio codec MP4 cannot carry is an error unless
/// `no_audio`, before any work starts.
pub fn plan(
    input: &Path,
    tracks: &[Mp4Track],
    output: &Path,
    fragmented: bool,
    no_audio: bool,
    notes: &mut Vec<String>,
) -> Result<Option<AudioCopy>> {
    let audio: Vec<&Mp4Track> = tracks.iter().filter(|t| t.is_audio()).collect();
    let Some(first) = audio.first() else {
        return Ok(None);
    };
    let n = audio.len();
    if no_audio {
        notes.push(format!("{n} audio track(s) dropped (--no-audio)"));
        return Ok(None);
    }
    let mp4_out = container::is_mp4_path(output) && output.as_os_str() != "-" && !fragmented;
    if !mp4_out {
        let what = if fragmented {
            "fragmented MP4 output holds video only"
        } else {
            "this output holds video only (write .mp4/.m4v/.mov to keep the audio)"
        };
        notes.push(format!(
            "{n} audio track(s) dropped: {what}; --no-audio silences this"
        ));
        return Ok(None);
    }
    if input.as_os_str() == "-" {
        notes.push(format!(
            "{n} audio track(s) dropped: audio is copied from a file, not from stdin"
        ));
        return Ok(None);
    }
    let file =
        std::fs::File::open(input).with_context(|| format!("cannot open {}", input.display()))?;
    let reader = Mp4AudioReader::new(BufReader::new(file), Some(first.track_id))
        .with_context(|| format!("reading the audio of {}", input.display()))?;
    let track = reader.track();
    if !track.mp4_can_carry() {
        bail!(
            "{}: audio track {} is {} (sample entry `{}`), which an MP4 output cannot carry \
             unchanged; pass --no-audio to drop it",
            input.display(),
            track.track_id,
            track.codec,
            track.sample_entry
        );
    }
    if n > 1 {
        notes.push(format!(
            "audio track {} copied; {} other audio track(s) dropped (the MP4 writer holds one)",
            track.track_id,
            n - 1
        ));
    }
    Ok(Some(AudioCopy {
        reader,
        next: None,
        copied: 0,
    }))
}

impl AudioCopy {
    /// Adds the audio track to `mux` (before any sample).
    pub fn start<W: std::io::Write + std::io::Seek>(&self, mux: &mut Mp4Muxer<W>) -> Result<()> {
        Ok(mux.add_audio_track(self.reader.track())?)
    }

    /// A line for the summary: what was copied.
    pub fn describe(&self) -> String {
        let t = self.reader.track();
        format!(
            "audio track {} copied: {} {} samples ({} Hz, {} channel(s))",
            t.track_id, self.copied, t.codec, t.sample_rate, t.channels
        )
    }

    /// Writes the audio samples that start before the end of `chunk`'s picture (all of
    /// them when `chunk` is `None`: the end of the video).
    pub fn feed<W: std::io::Write + std::io::Seek>(
        &mut self,
        mux: &mut Mp4Muxer<W>,
        chunk: Option<&EncodedChunk>,
    ) -> Result<()> {
        let until = chunk.and_then(|c| c.dts.or(c.pts));
        loop {
            if self.next.is_none() {
                self.next = self.reader.next_sample()?;
            }
            let Some(sample) = self.next.take() else {
                return Ok(());
            };
            if let Some(t) = until
                && sample.pts.rescale(t.timebase).ticks > t.ticks
            {
                self.next = Some(sample);
                return Ok(());
            }
            mux.write_audio_sample(&sample)?;
            self.copied += 1;
        }
    }
}
