//! `decode` of one input by several sessions at once (`--parallel`, `auto` by default): the
//! library plans it ([`ParallelPlan`]) and runs it ([`video_hw::decode_segmented_with_metrics`]);
//! this writes the frames in stream order.

use super::{DecodeArgs, DecodeReport, layout};
use crate::decode_source::Source;
use crate::progress::Progress;
use crate::sink::FrameSink;
use crate::stop;
use anyhow::{Context, Result};
use video_hw::metrics::Metrics;
use video_hw::{DecoderConfig, ParallelPlan, Parallelism, VideoError};

/// What [`decode_parallel`] did.
pub(super) enum Planned {
    /// The stream was decoded.
    Done(Box<DecodeReport>),
    /// `auto` found one session best: nothing was decoded (the input was read, so open it
    /// again).
    OneSession,
}

/// Reads the whole input, plans it (pieces cut at IDR pictures, sessions from the engines),
/// and decodes it with every session at once, writing the frames in stream order. A session
/// ahead of the output buffers up to a whole piece, so memory grows with the sessions times
/// the longest piece (bounded under `auto`, see [`ParallelPlan::new`]).
pub(super) fn decode_parallel(
    args: &DecodeArgs,
    parallelism: Parallelism,
    config: DecoderConfig,
    source: Source,
    gpus: &[u32],
) -> Result<Planned> {
    let opening = std::time::Instant::now();
    let codec = config.codec;
    let expected = source.frames;
    let mut data = Vec::new();
    for input in source {
        match video_hw::bitstream::layout::input_to_annexb(input?) {
            Ok(bytes) => data.extend_from_slice(&bytes),
            // A damaged sample: one session skips and counts it.
            Err(_) if parallelism == Parallelism::Auto => return Ok(Planned::OneSession),
            Err(e) => return Err(e).context("reading the input for --parallel"),
        }
    }
    let units = video_hw::bitstream::assemble_annexb(codec, &data);
    drop(data);
    let backend = args.common.backend;
    let plan = ParallelPlan::on_gpus(backend, config, &units, parallelism, gpus);
    drop(units);
    if plan.sessions() == 1 && parallelism == Parallelism::Auto {
        log::debug!("parallel decode: one session ({})", plan.reason);
        return Ok(Planned::OneSession);
    }
    log::info!(
        "parallel decode: {} sessions, {} pieces ({})",
        plan.sessions(),
        plan.segments.len(),
        plan.reason
    );
    let mut cfg = plan.segmented.clone();
    cfg.chunk_size = args.chunk_size;
    let metrics = Metrics::new();
    let mut sink = FrameSink::with_layout(args.output.as_deref(), args.md5, layout(args, false))?;
    let mut progress = Progress::new("decode", args.common.quiet);
    progress.set_total(expected);
    let (mut frames, mut errors, mut scratch, mut sizes) =
        (0u64, Vec::new(), Vec::new(), Vec::<String>::new());
    let mut first_frame = None;
    let split = opening.elapsed();
    let start = std::time::Instant::now();
    let run = video_hw::decode_segmented_with_metrics(
        backend,
        &plan.config,
        &plan.segments,
        cfg,
        &metrics,
        |f| {
            if stop::requested() {
                return Err(VideoError::backend("stopped by a signal"));
            }
            match f {
                Ok(frame) => {
                    first_frame.get_or_insert_with(|| start.elapsed());
                    let size = frame.dimensions().to_string();
                    if sizes.last() != Some(&size) {
                        sizes.push(size);
                    }
                    sink.put(&frame, &mut scratch)
                        .map_err(|e| VideoError::backend(format!("{e:#}")))?;
                    frames += 1;
                    progress.tick(frames);
                }
                Err(e) => {
                    crate::lost_device::note(&e);
                    errors.push(e.to_string())
                }
            }
            Ok(())
        },
    );
    let total = start.elapsed();
    progress.finish();
    let summary = match run {
        Ok(summary) => summary,
        // Stopped: what was written stays written; the sessions are closed.
        Err(_) if stop::requested() => {
            let selection = video_hw::backend::select_decoder(backend, codec)?;
            video_hw::SegmentedSummary {
                backend: selection.backend,
                selection: selection.reason,
                implementation: String::new(),
                sessions: plan.sessions(),
                segments: plan.segments.len(),
                frames,
                open_time: std::time::Duration::ZERO,
                conversion: video_hw::ConversionPath::None,
                gpus: Vec::new(),
            }
        }
        Err(e) => return Err(e).context("decoding in parallel"),
    };
    metrics.set_backend(summary.backend.to_string());
    let seconds = total.saturating_sub(summary.open_time).as_secs_f64();
    let report = metrics.report();
    Ok(Planned::Done(Box::new(DecodeReport {
        backend: summary.backend.to_string(),
        selection: format!("{}; {}", summary.selection, plan.reason),
        implementation: summary.implementation,
        sessions: summary.sessions,
        gpus: if gpus.len() > 1 {
            gpus.iter()
                .map(|g| video_hw::GpuLoad {
                    gpu: *g,
                    sessions: summary.gpus.iter().filter(|s| *s == g).count(),
                    engines: video_hw::backend::decode_engines(summary.backend, codec, *g),
                    lost: false,
                })
                .collect()
        } else {
            Vec::new()
        },
        errors,
        sizes,
        conversion: summary.conversion,
        segments: Some(summary.segments),
        open_seconds: (split + summary.open_time).as_secs_f64(),
        first_frame_seconds: first_frame.map(|t| t.saturating_sub(summary.open_time).as_secs_f64()),
        md5: sink.finish()?,
        pictures: Some(report.pictures),
        metrics: (args.metrics || args.common.wants_json()).then_some(report),
        ..DecodeReport::timed(args, codec, frames, seconds)
    })))
}
