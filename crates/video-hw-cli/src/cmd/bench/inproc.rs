//! The in-process steady state: sessions opened first (not timed), then the timed loop of
//! submit / reap / flush, recording stage latencies into [`Metrics`].

use anyhow::{Context, Result, bail};
use std::sync::Arc;
use std::time::{Duration, Instant};
use video_hw::metrics::{Metrics, Stage};
use video_hw::{
    Backend, DecodeInput, DecodeSession, DecoderConfig, Dimensions, EncodeInput, EncodeSession,
    EncoderConfig, ErrorKind, PixelFormat, PlaneBuffer, RawPlane,
};

/// What one timed in-process run produced.
#[derive(Debug, Clone, Copy)]
pub struct RunResult {
    /// Wall time from the first submit to the last output of every session.
    pub seconds: f64,
    /// Outputs (frames or chunks) of all sessions together.
    pub outputs: u64,
}

/// Decodes `units` (Annex-B access units) on `sessions` sessions at once.
pub fn decode(
    backend: Backend,
    config: &DecoderConfig,
    units: &Arc<Vec<Vec<u8>>>,
    sessions: usize,
    metrics: &Metrics,
) -> Result<RunResult> {
    let mut opened = Vec::with_capacity(sessions);
    for i in 0..sessions {
        opened.push(
            DecodeSession::with_metrics(backend, config.clone(), metrics.clone())
                .with_context(|| format!("opening decoder {i}"))?,
        );
    }
    if let Some(s) = opened.first() {
        metrics.set_backend(s.backend().to_string());
    }
    let units = Arc::clone(units);
    let metrics = metrics.clone();
    run_timed(opened, "decode", move |session| {
        decode_one(session, &units, &metrics)
    })
}

/// Decodes the segments of one stream with `parallel` sessions at once
/// ([`video_hw::decode_segmented_with_metrics`], conversions counted in `metrics`); the time
/// the sessions took to open is not counted.
pub fn decode_parallel(
    backend: Backend,
    plan: &super::super::ParallelPlan,
    metrics: &Metrics,
) -> Result<RunResult> {
    let mut outputs = 0u64;
    let mut first_error = None;
    let start = Instant::now();
    let summary = video_hw::decode_segmented_with_metrics(
        backend,
        &plan.config,
        &plan.segments,
        plan.segmented,
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

fn decode_one(mut session: DecodeSession, units: &[Vec<u8>], metrics: &Metrics) -> Result<u64> {
    let mut frames = 0u64;
    let mut reap = |session: &mut DecodeSession, wait: Option<Duration>| -> Result<bool> {
        let t = Instant::now();
        let got = match wait {
            Some(w) => session.reap_timeout(w),
            None => session.try_reap(),
        };
        match got {
            Ok(Some(_)) => {
                metrics.record(Stage::DecodeReap, t.elapsed());
                frames += 1;
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => {
                metrics.record_error(Stage::DecodeReap);
                Err(e).context("decoding")
            }
        }
    };
    for unit in units {
        let mut input = DecodeInput::annexb(unit.clone());
        loop {
            let t = Instant::now();
            match session.submit(input) {
                Ok(()) => {
                    metrics.record(Stage::DecodeSubmit, t.elapsed());
                    break;
                }
                Err(r) if r.kind() == ErrorKind::Backpressure => {
                    input = r.input;
                    reap(&mut session, Some(Duration::from_millis(50)))?;
                }
                Err(r) => {
                    metrics.record_error(Stage::DecodeSubmit);
                    bail!(r.error);
                }
            }
        }
        while reap(&mut session, None)? {}
    }
    session.flush().context("flushing the decoder")?;
    while reap(&mut session, None)? {}
    Ok(frames)
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

    fn input(&self, i: usize) -> Result<EncodeInput> {
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
        Ok(EncodeInput::new(PixelFormat::I420, self.size, planes)?)
    }
}

/// Encodes every picture on `sessions` sessions at once.
pub fn encode(
    backend: Backend,
    config: &EncoderConfig,
    pictures: &Arc<Pictures>,
    sessions: usize,
    metrics: &Metrics,
) -> Result<RunResult> {
    let mut opened = Vec::with_capacity(sessions);
    for i in 0..sessions {
        opened.push(
            EncodeSession::new(backend, config.clone())
                .with_context(|| format!("opening encoder {i}"))?,
        );
    }
    if let Some(s) = opened.first() {
        metrics.set_backend(s.backend().to_string());
    }
    let pictures = Arc::clone(pictures);
    let metrics = metrics.clone();
    run_timed(opened, "encode", move |session| {
        encode_one(session, &pictures, &metrics)
    })
}

/// Runs `work` on every session at once, one thread each, and times the whole: the sessions
/// were opened before the clock starts.
fn run_timed<S: Send + 'static>(
    sessions: Vec<S>,
    what: &str,
    work: impl Fn(S) -> Result<u64> + Clone + Send + 'static,
) -> Result<RunResult> {
    let start = Instant::now();
    let handles: Vec<_> = sessions
        .into_iter()
        .map(|session| {
            let work = work.clone();
            std::thread::spawn(move || work(session))
        })
        .collect();
    let mut outputs = 0;
    for h in handles {
        outputs += h
            .join()
            .map_err(|_| anyhow::anyhow!("a {what} thread panicked"))??;
    }
    Ok(RunResult {
        seconds: start.elapsed().as_secs_f64(),
        outputs,
    })
}

fn encode_one(mut session: EncodeSession, pictures: &Pictures, metrics: &Metrics) -> Result<u64> {
    let mut chunks = 0u64;
    let mut reap = |session: &mut EncodeSession, wait: Option<Duration>| -> Result<bool> {
        let t = Instant::now();
        let got = match wait {
            Some(w) => session.reap_timeout(w),
            None => session.try_reap(),
        };
        match got {
            Ok(Some(_)) => {
                metrics.record(Stage::EncodeReap, t.elapsed());
                chunks += 1;
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => {
                metrics.record_error(Stage::EncodeReap);
                Err(e).context("encoding")
            }
        }
    };
    for i in 0..pictures.len() {
        let mut input = pictures.input(i)?;
        loop {
            let t = Instant::now();
            match session.submit(input) {
                Ok(()) => {
                    metrics.record(Stage::EncodeSubmit, t.elapsed());
                    break;
                }
                Err(r) if r.kind() == ErrorKind::Backpressure => {
                    input = r.input;
                    reap(&mut session, Some(Duration::from_millis(50)))?;
                }
                Err(r) => {
                    metrics.record_error(Stage::EncodeSubmit);
                    bail!(r.error);
                }
            }
        }
        while reap(&mut session, None)? {}
    }
    session.flush().context("flushing the encoder")?;
    while reap(&mut session, None)? {}
    Ok(chunks)
}
