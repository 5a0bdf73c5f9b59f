//! One decoding pass over a source: a library `DecodeSession` fed from a [`Source`], giving
//! frames in presentation order; and random access, which decodes from the sync sample
//! before each wanted picture (MP4's sample index) and drops the pictures not asked for.
//! Plain Rust, run without the GIL.

use crate::source::{Input, Source};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use video_hw::container::Mp4SampleTiming;
use video_hw::{
    Backend, DecodeOutput, DecodeSession, DecodedFrame, DecoderConfig, ErrorKind, PixelFormat,
    Result, VideoError,
};

/// How frames are decoded: the backend, the output the library is asked for, the GPU.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `Backend::Auto` picks the best one available.
    pub backend: Backend,
    /// Host pixels of this format, or `None` for frames kept on the GPU (native NV12).
    pub host_format: Option<PixelFormat>,
    /// CUDA device ordinal.
    pub gpu: u32,
}

/// A source and the session decoding it.
pub struct Reader {
    pub source: Source,
    session: DecodeSession,
    pending: Option<video_hw::DecodeInput>,
    input_done: bool,
    flushed: bool,
    /// Whether anything was read or decoded yet.
    used: bool,
}

impl Reader {
    /// Opens `input` and a decoder for its codec.
    pub fn open(input: &Input, settings: Settings) -> Result<Self> {
        let source = Source::open(input)?;
        let mut config = DecoderConfig::new(source.codec).with_gpu(settings.gpu);
        config.output = match settings.host_format {
            Some(f) => DecodeOutput::Cpu(f),
            None => DecodeOutput::Gpu,
        };
        if let Some(tb) = source.timebase {
            config.timebase = tb;
        }
        let session = DecodeSession::new(settings.backend, config)?;
        Ok(Self {
            source,
            session,
            pending: None,
            input_done: false,
            flushed: false,
            used: false,
        })
    }

    /// The backend serving the session.
    pub fn backend(&self) -> Backend {
        self.session.backend()
    }

    /// Whether nothing was read or decoded yet (a first pass can use this reader).
    pub fn is_fresh(&self) -> bool {
        !self.used
    }

    /// The next frame in presentation order, `None` at the end of the stream.
    pub fn next_frame(&mut self) -> Result<Option<DecodedFrame>> {
        self.used = true;
        loop {
            if let Some(f) = self.session.try_reap()? {
                return Ok(Some(f));
            }
            let input = match self.pending.take() {
                Some(i) => Some(i),
                None if self.input_done => None,
                None => self.source.next_input()?,
            };
            match input {
                Some(i) => {
                    if let Err(r) = self.session.try_submit(i) {
                        if r.kind() != ErrorKind::Backpressure {
                            return Err(r.error);
                        }
                        self.pending = Some(r.input);
                        if let Some(f) = self.session.reap_timeout(Duration::from_millis(5))? {
                            return Ok(Some(f));
                        }
                    }
                }
                None if !self.flushed => {
                    self.input_done = true;
                    self.session.flush()?;
                    self.flushed = true;
                }
                None => return Ok(None),
            }
        }
    }

    /// Decodes MP4 samples `start..=last` (decode order) as a stream of their own and hands
    /// every frame out to `keep`.
    fn decode_range(
        &mut self,
        start: u32,
        last: u32,
        keep: &mut dyn FnMut(DecodedFrame),
    ) -> Result<()> {
        self.used = true;
        self.source.seek_to_sample(start)?;
        self.pending = None;
        for _ in start..=last {
            let Some(mut input) = self.source.next_input()? else {
                break;
            };
            loop {
                match self.session.try_submit(input) {
                    Ok(()) => break,
                    Err(r) if r.kind() == ErrorKind::Backpressure => {
                        input = r.input;
                        if let Some(f) = self.session.reap_timeout(Duration::from_millis(5))? {
                            keep(f);
                        }
                    }
                    Err(r) => return Err(r.error),
                }
            }
            while let Some(f) = self.session.try_reap()? {
                keep(f);
            }
        }
        self.session.flush()?;
        while let Some(f) = self.session.try_reap()? {
            keep(f);
        }
        // The session can take a new stream; this reader's sequential state is spent.
        self.input_done = true;
        self.flushed = true;
        Ok(())
    }
}

/// What random access found.
pub enum Fetched {
    /// The frames, in the order asked for.
    Frames(Vec<Arc<DecodedFrame>>),
    /// A position past the end (`len` frames in the video).
    OutOfRange {
        /// The first position asked for that does not exist.
        index: u64,
        /// Frames in the video.
        len: u64,
    },
}

/// Presentation order of an MP4 track: sample indices (decode order) sorted by time.
pub fn presentation_order(timings: &[Mp4SampleTiming]) -> Vec<u32> {
    let mut order: Vec<u32> = timings.iter().map(|t| t.index).collect();
    order.sort_by_key(|&i| (timings[i as usize].pts.ticks, i));
    order
}

/// The frames at presentation positions `wanted` (any order, repeats allowed), decoded from
/// the sync sample before each and matched by presentation time: a picture the decoder does
/// not deliver is an error, never a neighbour in its place.
pub fn frames_at_indexed(
    reader: &mut Reader,
    timings: &[Mp4SampleTiming],
    order: &[u32],
    wanted: &[u64],
) -> Result<Fetched> {
    if let Some(&index) = wanted.iter().find(|&&k| k >= order.len() as u64) {
        return Ok(Fetched::OutOfRange {
            index,
            len: order.len() as u64,
        });
    }
    // Per decode start: the latest sample to feed and the presentation times wanted.
    let mut runs: std::collections::BTreeMap<u32, (u32, Vec<i64>)> = Default::default();
    for &k in wanted {
        let s = order[k as usize];
        let start = Mp4SampleTiming::decode_start(timings, s)?;
        let run = runs.entry(start).or_insert((s, Vec::new()));
        run.0 = run.0.max(s);
        run.1.push(timings[s as usize].pts.ticks);
    }
    let mut got: HashMap<i64, Arc<DecodedFrame>> = HashMap::new();
    for (start, (last, times)) in runs {
        let mut missing: Vec<i64> = times;
        missing.sort_unstable();
        missing.dedup();
        reader.decode_range(start, last, &mut |f| {
            if let Some(pts) = f.pts
                && missing.binary_search(&pts.ticks).is_ok()
            {
                got.insert(pts.ticks, Arc::new(f));
            }
        })?;
        if let Some(t) = missing.iter().find(|t| !got.contains_key(t)) {
            return Err(VideoError::invalid_bitstream(format!(
                "the picture at time {t} (track ticks) did not come out of the decoder when \
                 decoding from sample {start}: the stream is damaged there"
            )));
        }
    }
    Ok(Fetched::Frames(
        wanted
            .iter()
            .map(|&k| got[&timings[order[k as usize] as usize].pts.ticks].clone())
            .collect(),
    ))
}

/// The frames at presentation positions `wanted`, by decoding from the start (inputs
/// without a sample index).
pub fn frames_at_sequential(reader: &mut Reader, wanted: &[u64]) -> Result<Fetched> {
    let Some(&max) = wanted.iter().max() else {
        return Ok(Fetched::Frames(Vec::new()));
    };
    let mut got: HashMap<u64, Arc<DecodedFrame>> = HashMap::new();
    let mut index = 0u64;
    while index <= max {
        let Some(f) = reader.next_frame()? else {
            return Ok(Fetched::OutOfRange {
                index: max,
                len: index,
            });
        };
        if wanted.contains(&index) {
            got.insert(index, Arc::new(f));
        }
        index += 1;
    }
    Ok(Fetched::Frames(
        wanted.iter().map(|k| got[k].clone()).collect(),
    ))
}
