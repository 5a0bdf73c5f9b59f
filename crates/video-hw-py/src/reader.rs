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
    Backend, DecodeOutput, DecodeSession, DecodedFrame, DecoderConfig, ErrorKind, Parallelism,
    Result, VideoError,
};

/// Frames a session holds for the iterator (the library's default is 8).
const OUTPUT_QUEUE: usize = 32;

/// How frames are decoded: the backend, the output the library is asked for, the GPU, and
/// how many sessions share one pass.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `Backend::Auto` picks the best one available.
    pub backend: Backend,
    /// Host pixels of a format, device NV12 (`Gpu`) or device RGB (`GpuConverted`).
    pub output: DecodeOutput,
    /// CUDA device ordinal.
    pub gpu: u32,
    /// Sessions that decode one pass over the video (`Auto`: the library's plan).
    pub parallel: Parallelism,
}

impl Settings {
    /// Whether frames stay in device memory.
    pub fn on_device(&self) -> bool {
        matches!(
            self.output,
            DecodeOutput::Gpu | DecodeOutput::GpuConverted(_)
        )
    }
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
        config.output = settings.output;
        // Room for the frames of a few inputs while Python takes them one at a time.
        config.output_queue = OUTPUT_QUEUE;
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

    /// Its session, for a pass that decodes the stream otherwise (only while fresh: the
    /// session has decoded nothing).
    pub fn into_session(self) -> DecodeSession {
        self.session
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

/// How many decodes from different sync samples `wanted` needs (0 if a position is out of
/// range).
pub fn decode_starts(timings: &[Mp4SampleTiming], order: &[u32], wanted: &[u64]) -> usize {
    let mut starts: Vec<u32> = wanted
        .iter()
        .filter_map(|&k| order.get(k as usize))
        .filter_map(|&s| Mp4SampleTiming::decode_start(timings, s).ok())
        .collect();
    starts.sort_unstable();
    starts.dedup();
    starts.len()
}

/// One decode from a sync sample: the samples `start..=last` (decode order) and the
/// presentation times wanted among them.
struct Run {
    start: u32,
    last: u32,
    times: Vec<i64>,
}

/// The frames at presentation positions `wanted` (any order, repeats allowed), decoded from
/// the sync sample before each and matched by presentation time: a picture the decoder does
/// not deliver is an error, never a neighbour in its place. The decodes from different sync
/// samples are shared among `reader` and `helpers` (each its own session), one thread each.
pub fn frames_at_indexed(
    reader: &mut Reader,
    helpers: &mut [Reader],
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
    // Longest first, so that the threads finish together.
    let mut runs: Vec<Run> = runs
        .into_iter()
        .map(|(start, (last, mut times))| {
            times.sort_unstable();
            times.dedup();
            Run { start, last, times }
        })
        .collect();
    runs.sort_by_key(|r| std::cmp::Reverse(r.last - r.start));
    let queue = std::sync::Mutex::new(runs);
    let got: std::sync::Mutex<HashMap<i64, Arc<DecodedFrame>>> = Default::default();
    let work = |r: &mut Reader| -> Result<()> {
        loop {
            let next = queue
                .lock()
                .ok()
                .and_then(|mut q| (!q.is_empty()).then(|| q.remove(0)));
            let Some(run) = next else { return Ok(()) };
            let mut mine = HashMap::new();
            r.decode_range(run.start, run.last, &mut |f| {
                if let Some(pts) = f.pts
                    && run.times.binary_search(&pts.ticks).is_ok()
                {
                    mine.insert(pts.ticks, Arc::new(f));
                }
            })?;
            if let Some(t) = run.times.iter().find(|t| !mine.contains_key(t)) {
                return Err(VideoError::invalid_bitstream(format!(
                    "the picture at time {t} (track ticks) did not come out of the decoder \
                     when decoding from sample {}: the stream is damaged there",
                    run.start
                )));
            }
            if let Ok(mut g) = got.lock() {
                g.extend(mine);
            }
        }
    };
    std::thread::scope(|s| {
        let others: Vec<_> = helpers.iter_mut().map(|h| s.spawn(|| work(h))).collect();
        let mine = work(reader);
        others
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(VideoError::backend("a decoding thread panicked")))
            })
            .fold(mine, |acc, r| acc.and(r))
    })?;
    let got = got
        .into_inner()
        .map_err(|_| VideoError::backend("a decoding thread panicked"))?;
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
