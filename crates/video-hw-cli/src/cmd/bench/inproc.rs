//! The in-process steady state: sessions opened first (not timed), then the timed run of the
//! sessions on the library's pipeline scheduler, which records stage latencies into
//! [`Metrics`].

use anyhow::{Context, Result, bail};
use std::sync::Arc;
use std::time::Instant;
use video_hw::metrics::Metrics;
use video_hw::pipeline::{IngestItem, Output, PipelineConfig, PipelineScheduler};
use video_hw::{
    Backend, DecodeInput, DecodeSession, DecoderConfig, Dimensions, EncodeInput, EncodeSession,
    EncoderConfig, PixelFormat, PlaneBuffer, RawPlane,
};

/// What one timed in-process run produced.
#[derive(Debug, Clone, Copy)]
pub struct RunResult {
    /// Wall time from the first submit to the last output of every session.
    pub seconds: f64,
    /// Outputs (frames or chunks) of all sessions together.
    pub outputs: u64,
}

/// Decodes `units` (Annex-B access units) on `sessions` sessions at once, each in a lane of
/// one pipeline scheduler ([`PipelineScheduler::run_decode_many`], stage latencies recorded in
/// `metrics`); a decode error ends the run.
pub fn decode(
    backend: Backend,
    config: &DecoderConfig,
    units: &Arc<Vec<Vec<u8>>>,
    sessions: usize,
    metrics: &Metrics,
) -> Result<RunResult> {
    let opened = open(sessions, "decoder", || {
        DecodeSession::with_metrics(backend, config.clone(), metrics.clone())
    })?;
    if let Some(s) = opened.first() {
        metrics.set_backend(s.backend().to_string());
    }
    let scheduler = PipelineScheduler::new(PipelineConfig::default(), metrics.clone());
    timed(sessions, |counts| {
        let lanes = opened.into_iter().zip(counts).map(|(session, frames)| {
            let source = units
                .iter()
                .map(|u| Ok(IngestItem::from(DecodeInput::annexb(u.clone()))));
            (source, session, move |out| count(out, frames))
        });
        scheduler.run_decode_many(lanes).context("decoding")
    })
}

/// Opens `n` sessions with `open`, naming the one that failed (`what` `i`).
fn open<S>(n: usize, what: &str, open: impl Fn() -> video_hw::Result<S>) -> Result<Vec<S>> {
    (0..n)
        .map(|i| open().with_context(|| format!("opening {what} {i}")))
        .collect()
}

/// Times `run`, which counts each session's outputs in the slot it is given.
fn timed<T>(sessions: usize, run: impl FnOnce(&mut [u64]) -> Result<T>) -> Result<RunResult> {
    let mut counts = vec![0u64; sessions];
    let start = Instant::now();
    run(&mut counts)?;
    Ok(RunResult {
        seconds: start.elapsed().as_secs_f64(),
        outputs: counts.iter().sum(),
    })
}

/// Decodes the segments of one stream with `parallel` sessions at once
/// ([`video_hw::decode_segmented_with_metrics`], conversions counted in `metrics`); the time
/// the sessions took to open is not counted.
pub fn decode_parallel(
    backend: Backend,
    plan: &video_hw::ParallelPlan,
    metrics: &Metrics,
) -> Result<RunResult> {
    let mut outputs = 0u64;
    let mut first_error = None;
    let start = Instant::now();
    let summary = video_hw::decode_segmented_with_metrics(
        backend,
        &plan.config,
        &plan.segments,
        plan.segmented.clone(),
        metrics,
        |frame| {
            match frame {
                Ok(_) => outputs += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
            Ok(())
        },
    )
    .context("decoding in parallel")?;
    if let Some(e) = first_error {
        return Err(e).context("decoding in parallel");
    }
    Ok(RunResult {
        seconds: start
            .elapsed()
            .saturating_sub(summary.open_time)
            .as_secs_f64(),
        outputs,
    })
}

/// I420 pictures split into shared planes, so that building an input copies nothing.
pub struct Pictures {
    size: Dimensions,
    planes: Vec<[Arc<[u8]>; 3]>,
}

impl Pictures {
    /// Splits packed I420 frames of `size`.
    pub fn new(size: Dimensions, frames: &[Vec<u8>]) -> Result<Self> {
        let (w, h) = (size.width() as usize, size.height() as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let want = PixelFormat::I420.frame_size(size);
        let mut planes = Vec::with_capacity(frames.len());
        for (i, f) in frames.iter().enumerate() {
            if f.len() != want {
                bail!("frame {i} has {} bytes, {size} I420 needs {want}", f.len());
            }
            let (y, uv) = f.split_at(w * h);
            let (u, v) = uv.split_at(cw * ch);
            planes.push([Arc::from(y), Arc::from(u), Arc::from(v)]);
        }
        Ok(Self { size, planes })
    }

    /// Number of pictures.
    pub fn len(&self) -> usize {
        self.planes.len()
    }

    fn input(&self, i: usize) -> video_hw::Result<EncodeInput> {
        let (w, cw) = (
            self.size.width() as usize,
            (self.size.width() as usize).div_ceil(2),
        );
        let p = &self.planes[i];
        let planes = vec![
            RawPlane {
                data: PlaneBuffer::Shared(Arc::clone(&p[0])),
                stride: w,
            },
            RawPlane {
                data: PlaneBuffer::Shared(Arc::clone(&p[1])),
                stride: cw,
            },
            RawPlane {
                data: PlaneBuffer::Shared(Arc::clone(&p[2])),
                stride: cw,
            },
        ];
        EncodeInput::new(PixelFormat::I420, self.size, planes)
    }
}

/// Encodes every picture on `sessions` sessions at once, each in a lane of one pipeline
/// scheduler ([`PipelineScheduler::run_encode_many`], stage latencies recorded in `metrics`);
/// an encode error ends the run. The sessions are opened before the clock starts.
pub fn encode(
    backend: Backend,
    config: &EncoderConfig,
    pictures: &Arc<Pictures>,
    sessions: usize,
    metrics: &Metrics,
) -> Result<RunResult> {
    let opened = open(sessions, "encoder", || {
        EncodeSession::new(backend, config.clone())
    })?;
    if let Some(s) = opened.first() {
        metrics.set_backend(s.backend().to_string());
    }
    let scheduler = PipelineScheduler::new(PipelineConfig::default(), metrics.clone());
    let pictures: &Pictures = pictures;
    timed(sessions, |counts| {
        let lanes = opened.into_iter().zip(counts).map(|(session, chunks)| {
            let source = (0..pictures.len()).map(move |i| pictures.input(i));
            (source, session, move |out| count(out, chunks))
        });
        scheduler.run_encode_many(lanes).context("encoding")
    })
}

/// Counts the frames or chunks a lane delivers; an error ends the run.
fn count(out: Output, outputs: &mut u64) -> video_hw::Result<()> {
    match out {
        Output::Frame(_) | Output::Chunk(_) => {
            *outputs += 1;
            Ok(())
        }
        Output::Error { error, .. } => Err(error),
    }
}
