//! `video-hw decode`.

mod parallel;

use crate::decode_source::Source;
use crate::json_out::usage;
use crate::output_file::is_std;
use crate::progress::Progress;
use crate::sink::{FrameSink, Layout};
use crate::{json_out, stop, y4m_io};
use anyhow::{Context, Result};
use clap::Args;
use parallel::{Planned, decode_parallel};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use video_hw::metrics::{Metrics, MetricsReport, PictureCounts, PipelineSwitch};
use video_hw::pipeline::{IngestItem, Output, PipelineConfig, PipelineScheduler};
use video_hw::{
    Codec, ConversionPath, DecodeInput, DecodeOutput, DecodePool, DecodeSession, DecoderConfig,
    GpuLoad, GpuSelection, OnError, ParallelPlan, Parallelism, PixelFormat,
};

/// Arguments of `decode`.
#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// H.264/HEVC stream to decode: Annex-B or MP4/MOV (`-` for stdin).
    pub input: PathBuf,
    /// Write the decoded frames here (`-` for stdout), cropped: raw planar YUV (I420; 10/12-bit
    /// video as LSB-aligned 16-bit little-endian samples, FFmpeg's yuv420p10le/yuv420p12le),
    /// or in the format `--to` names (nv12 and p016 with interleaved chroma, as FFmpeg's nv12
    /// and p010le; RGB packed); a Y4M stream when the name ends in .y4m or with `-f y4m`.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format: raw, or y4m (also `yuv4mpegpipe`): a header with size, rate and format.
    /// Default: y4m for a .y4m name, else raw.
    #[arg(short = 'f', long = "format", value_parser = ["raw", "y4m", "yuv4mpegpipe"])]
    pub format: Option<String>,
    /// Print the MD5 of all decoded frames (cropped, output order, as written: planar, or in
    /// the `--to` format) as 32 hex digits (in the JSON document with --json).
    #[arg(long)]
    pub md5: bool,
    /// Codec of the input (default: from the extension, else from the stream).
    #[arg(long)]
    pub codec: Option<Codec>,
    /// MP4/MOV input: decode the video track with this id (default: the first video track).
    #[arg(long)]
    pub track: Option<u32>,
    /// Pixel format of the frames the decoder returns: nv12, i420, rgb24, rgba, bgra; for
    /// 10/12-bit video also i010/i012 (the default) or p016 (MSB-aligned, P010-style).
    #[arg(long = "to")]
    pub to: Option<PixelFormat>,
    /// Decode this many copies of the input at once, one session each, and report the
    /// aggregate frame rate (the input is read into memory).
    #[arg(long, default_value_t = 1)]
    pub sessions: usize,
    /// Spread the sessions (`--sessions`, `--parallel`) over these GPUs by their free decode
    /// engines: `all`, or GPU numbers such as `0,1`. Each frame stays on the GPU that
    /// decoded it. Default: the one `--gpu` names.
    #[arg(long, value_name = "all|0,1,...", conflicts_with = "gpu")]
    pub gpus: Option<GpuSelection>,
    /// Print the pipeline metrics (stage latencies, queue depths, transform paths) on stderr.
    #[arg(long)]
    pub metrics: bool,
    /// Decode the one input with several sessions at once: `auto` (the default) or a number
    /// (1: one session). The stream is cut at random-access pictures (IDR; HEVC CRA) and each
    /// session takes the next piece (on NVIDIA each session runs on an NVDEC engine of its
    /// own); frames come out in stream order, exactly as from one session. `auto` uses one
    /// session per engine of the backend (NVDEC engines; CPU cores for OpenH264; 1 for
    /// FFmpeg, which threads itself), fewer for a short stream, few random-access pictures or
    /// large frames, and only for an H.264 or HEVC file of at most 1 GiB (read into memory).
    /// Memory: a session ahead of the output holds up to one piece of frames.
    #[arg(long, default_value = "auto", value_name = "auto|N")]
    pub parallel: Parallelism,
    /// Bytes handed to the decoder per submit. Small enough that the inputs in flight hold
    /// few pictures: what is in flight when the stream ends is buffered by the flush.
    #[arg(long, default_value_t = 64 << 10)]
    pub chunk_size: usize,
    /// What to do with a damaged access unit: `skip` (conceal or skip it, count it, go on;
    /// exit 0) or `stop` (no concealment: each one is an error; exit 1).
    #[arg(long, default_value = "skip", value_name = "skip|stop")]
    pub on_error: OnError,
    #[command(flatten)]
    pub common: crate::Common,
}

#[derive(Serialize)]
struct DecodeReport {
    input: String,
    codec: Codec,
    backend: String,
    selection: String,
    /// Backend changes after a refusal under `--backend auto`, each with its reason.
    hops: Vec<video_hw::Hop>,
    implementation: String,
    sessions: usize,
    /// Sessions per GPU, when they were spread over GPUs (`--gpus`, `--sessions`,
    /// `--parallel`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    gpus: Vec<GpuLoad>,
    frames: u64,
    errors: Vec<String>,
    /// Things done otherwise than asked (what the cut of a stopped run caused).
    warnings: Vec<String>,
    /// Set when a signal stopped the run: SIGINT or SIGTERM.
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_by: Option<&'static str>,
    sizes: Vec<String>,
    /// How frames became the `--to` format: `decoder` (the decoder's own GPU kernel),
    /// `gpu_transform` (kept on the GPU, converted by the GPU transform), `cpu`, or `none`;
    /// chosen by the library.
    conversion: ConversionPath,
    /// Pieces the stream was cut into (`--parallel`).
    #[serde(skip_serializing_if = "Option::is_none")]
    segments: Option<usize>,
    /// Seconds to choose the backend and open the session(s), before the first input.
    open_seconds: f64,
    /// Seconds from the first input to the first frame out (one session only).
    #[serde(skip_serializing_if = "Option::is_none")]
    first_frame_seconds: Option<f64>,
    /// Seconds from the first input to the last frame out (one session only).
    #[serde(skip_serializing_if = "Option::is_none")]
    last_frame_seconds: Option<f64>,
    /// Seconds from the first input to the last frame out, the session closed.
    seconds: f64,
    fps: f64,
    md5: Option<String>,
    /// Pictures the input holds for output against frames delivered (one session only): a
    /// difference is also an error naming the access units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pictures: Option<PictureCounts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<MetricsReport>,
    /// Decoder (NVDEC) and GPU utilisation during the run, read through NVML every 100 ms
    /// (NVIDIA, with `--json` or `--metrics`).
    #[serde(skip_serializing_if = "Option::is_none")]
    utilization: Option<video_hw::metrics::UtilizationReport>,
    /// The NVIDIA decoder's own counters for the process (copies, host buffers, fallbacks),
    /// when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    nvdec: Option<serde_json::Value>,
}

impl DecodeReport {
    /// The report of `frames` decoded from `args.input` in `seconds`, the rest empty: each
    /// way of decoding fills in what it knows (`..DecodeReport::timed(...)`).
    fn timed(args: &DecodeArgs, codec: Codec, frames: u64, seconds: f64) -> Self {
        Self {
            input: args.input.display().to_string(),
            codec,
            backend: String::new(),
            selection: String::new(),
            hops: Vec::new(),
            implementation: String::new(),
            sessions: 1,
            gpus: Vec::new(),
            frames,
            errors: Vec::new(),
            warnings: Vec::new(),
            stopped_by: None,
            sizes: Vec::new(),
            conversion: ConversionPath::None,
            segments: None,
            open_seconds: 0.0,
            first_frame_seconds: None,
            last_frame_seconds: None,
            seconds,
            fps: frames as f64 / seconds.max(1e-9),
            md5: None,
            pictures: None,
            metrics: None,
            utilization: None,
            nvdec: nvdec_counters(),
        }
    }
}

/// Decodes a stream.
pub fn run(args: DecodeArgs) -> Result<ExitCode> {
    if args.sessions == 0 {
        usage!("--sessions must be at least 1");
    }
    if args.chunk_size == 0 {
        usage!("--chunk-size must be at least 1");
    }
    let parallel = match (args.parallel, args.sessions) {
        (Parallelism::Sessions(n), s) if n > 1 && s > 1 => usage!(
            "--parallel (one input shared by sessions) and --sessions (copies) exclude each other"
        ),
        (_, s) if s > 1 => Parallelism::Sessions(1),
        (p, _) => p,
    };
    let outputs: Vec<&std::path::Path> = args.output.iter().map(|p| p.as_path()).collect();
    args.common.check_outputs(&outputs, &[&args.input])?;
    let gpus = args.common.resolve_gpus(args.gpus.as_ref())?;
    if args.sessions == 1 {
        stop::install()?;
    }
    let source = Source::open_track(&args.input, args.codec, args.chunk_size, args.track)?;
    // The backend starts (CUDA, NVDEC) while the input is read and parsed.
    video_hw::backend::prepare_decode(args.common.backend, source.codec, gpus[0]);
    let codec = source.codec;
    let pixels = args.md5 || args.output.is_some() || args.to.is_some();
    let mut config = DecoderConfig::new(codec)
        .with_gpu(gpus[0])
        .with_on_error(args.on_error)
        .with_output(match args.to {
            Some(f) => DecodeOutput::Cpu(f),
            None if pixels => DecodeOutput::Native,
            None => DecodeOutput::MetadataOnly,
        });
    if let Some(tb) = source.timebase {
        config.timebase = tb;
    }
    // One file per process: no later session would take an idle decoder, and leaving them to
    // the driver's exit measured 15-90 ms slower than destroying them as the sessions close
    // (docs/performance.md).
    config.nvidia.keep_idle_decoders = false;
    let notes = source.notes.clone();
    let container = source.container;
    let expected = source.frames;
    let monitor = (args.common.wants_json() || args.metrics)
        .then(|| super::utilization_monitor(args.common.backend, gpus[0]))
        .flatten();
    let stream_bytes = (!is_std(&args.input))
        .then(|| std::fs::metadata(&args.input).ok().map(|m| m.len()))
        .flatten();
    let planned = args.sessions == 1
        && ParallelPlan::worth_planning(parallel, args.common.backend, codec, stream_bytes);
    let mut report = if planned {
        match decode_parallel(&args, parallel, config.clone(), source, &gpus)? {
            Planned::Done(report) => *report,
            // One session after all: decode the file as it is read.
            Planned::OneSession => {
                let source =
                    Source::open_track(&args.input, args.codec, args.chunk_size, args.track)?;
                decode_stream(&args, config, source)?
            }
        }
    } else if args.sessions == 1 {
        decode_stream(&args, config, source)?
    } else {
        decode_many(&args, config, source, &gpus)?
    };
    report.stopped_by = stop::requested().then(stop::signal_name);
    report.utilization = monitor
        .map(|m| m.stop())
        .filter(|_| report.backend == "nvidia");
    let damaged = report.pictures.is_some_and(|p| p.damaged > 0);
    if let Some(n) = expected.map(|n| n * args.sessions as u64)
        && n != report.frames
        && report.stopped_by.is_none()
        && !(damaged && report.frames < n)
    {
        report.errors.push(format!(
            "the container lists {n} samples but {} frames were decoded",
            report.frames
        ));
    }
    let media_on_stdout = args.output.as_deref().is_some_and(is_std);
    // No frame, no digest: the MD5 of nothing would read as a result.
    if report.frames == 0 {
        report.md5 = None;
    }
    if args.md5
        && !args.common.wants_json()
        && let Some(m) = &report.md5
    {
        if media_on_stdout {
            eprintln!("{m}");
        } else {
            println!("{m}");
        }
    }
    json_out::emit(&args.common, media_on_stdout, &report)?;
    let stopped = stop::exit_code();
    if stopped.is_some() {
        eprintln!(
            "video-hw: stopped by {}: {} frames decoded and written{}",
            stop::signal_name(),
            report.frames,
            args.output
                .as_deref()
                .map(|p| format!(" to {}", p.display()))
                .unwrap_or_default()
        );
    }
    if !args.common.quiet {
        eprintln!(
            "decoded {} frames of {codec} ({container}) in {:.2} s ({:.1} fps) on {} [{}] ({})",
            report.frames,
            report.seconds,
            report.fps,
            report.backend,
            report.implementation,
            report.selection
        );
        for n in &notes {
            eprintln!("  note: {n}");
        }
        if let Some(p) = report
            .pictures
            .filter(|p| (p.lost > 0 && p.damaged == 0) || p.extra > 0)
        {
            eprintln!(
                "  warning: {} frames for {} pictures in the input ({} lost, {} extra)",
                report.frames, p.counted, p.lost, p.extra
            );
        }
        for w in report.pictures.iter().flat_map(super::damage_warnings) {
            eprintln!("  warning: {w}");
        }
    }
    if args.metrics
        && let Some(m) = &report.metrics
    {
        eprintln!("{m}");
    }
    if args.metrics
        && let Some(u) = &report.utilization
    {
        eprintln!("utilization: {u}");
    }
    for w in &report.warnings {
        eprintln!("video-hw: warning: {w}");
    }
    super::print_errors(&report.errors);
    if let Some(code) = stopped {
        return Ok(code);
    }
    Ok(if report.errors.is_empty() && report.frames > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// How the frames are written: `--to`, and Y4M by name or `-f`.
fn layout(args: &DecodeArgs, timed: bool) -> Layout {
    let y4m = match args.format.as_deref() {
        Some(f) => f != "raw",
        None => args.output.as_deref().is_some_and(y4m_io::is_y4m_path),
    };
    Layout {
        to: args.to,
        y4m,
        timed,
    }
}

/// NVDEC's process-wide counters (copies, host buffers, fallbacks), when the NVIDIA decoder
/// ran in this process.
fn nvdec_counters() -> Option<serde_json::Value> {
    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    {
        let c = video_hw::diagnostics::nvdec_counters();
        if c.sessions_opened > 0 {
            return serde_json::to_value(c).ok();
        }
    }
    None
}

/// One session, run through the pipeline scheduler: ingest, decode submit and reap, and the
/// transform pool each on their own thread. The session chooses how frames become the `--to`
/// format (the decoder's GPU kernel where it has one, `--to rgb24` on NVIDIA; else the CPU
/// transform, which the scheduler runs on its pool) and counts every frame's path in the
/// metrics.
fn decode_stream(args: &DecodeArgs, config: DecoderConfig, source: Source) -> Result<DecodeReport> {
    let opening = std::time::Instant::now();
    let codec = config.codec;
    let metrics = Metrics::new();
    let mut session = DecodeSession::with_metrics(args.common.backend, config, metrics.clone())
        .context("opening decoder")?;
    let backend = session.backend();
    let selection = session.selection().reason.clone();
    let conversion = session.conversion();
    metrics.set_backend(backend.to_string());
    metrics.record_session(false);
    let scheduler = PipelineScheduler::new(
        PipelineConfig::default().with_switch(PipelineSwitch::from_env(backend)),
        metrics.clone(),
    );
    let mut sink = FrameSink::with_layout(
        args.output.as_deref(),
        args.md5,
        layout(args, source.timebase.is_some()),
    )?;
    let mut progress = Progress::new("decode", args.common.quiet);
    progress.set_total(source.frames);
    let read = crate::progress::byte_counter(&args.input, source.frames);
    if let Some((counter, total)) = &read {
        progress.set_total_bytes(counter.clone(), *total);
    }
    let read = read.map(|(c, _)| c).unwrap_or_default();
    let mut frames = 0u64;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut sizes: Vec<String> = Vec::new();
    let mut scratch = Vec::new();
    let (mut first_frame, mut last_frame) = (None, None);
    let open_seconds = opening.elapsed().as_secs_f64();
    let start = std::time::Instant::now();
    scheduler.run_decode(
        stop::until_stopped(source.inspect(move |i| crate::progress::count_input(&read, i))).map(
            |r| {
                r.map(IngestItem::from)
                    .map_err(|e| video_hw::VideoError::backend(format!("{e:#}")))
            },
        ),
        &mut session,
        None,
        |out| -> video_hw::Result<()> {
            match out {
                Output::Frame(unit) => {
                    let size = unit.item.dimensions().to_string();
                    if sizes.last() != Some(&size) {
                        sizes.push(size);
                    }
                    sink.put(&unit.item, &mut scratch)
                        .map_err(|e| video_hw::VideoError::backend(format!("{e:#}")))?;
                    frames += 1;
                    first_frame.get_or_insert_with(|| start.elapsed().as_secs_f64());
                    last_frame = Some(start.elapsed().as_secs_f64());
                    progress.tick(frames);
                }
                Output::Chunk(_) => {}
                Output::Error { stage, error } => {
                    crate::lost_device::note(&error);
                    stop::file_error(
                        &mut errors,
                        &mut warnings,
                        format!("{}: {error}", stage.name()),
                    )
                }
            }
            Ok(())
        },
    )?;
    // After a fallback the session ends on another backend than it started on.
    let summary = session.summary();
    drop(session);
    let seconds = start.elapsed().as_secs_f64();
    progress.finish();
    let report = metrics.report();
    video_hw::metrics::print_if_requested(backend, &report);
    Ok(DecodeReport {
        backend: summary.origin.backend.unwrap_or(backend).to_string(),
        selection,
        hops: summary.hops,
        implementation: summary.origin.implementation,
        errors,
        warnings,
        sizes,
        conversion,
        open_seconds,
        first_frame_seconds: first_frame,
        last_frame_seconds: last_frame,
        md5: sink.finish()?,
        pictures: Some(report.pictures),
        metrics: (args.metrics || args.common.wants_json()).then_some(report),
        ..DecodeReport::timed(args, codec, frames, seconds)
    })
}

/// Decodes `sessions` copies of the input at once, each session in a lane of one pipeline
/// scheduler ([`PipelineScheduler::run_decode_many`]); every copy must give the same MD5. The
/// scheduler's queue depth follows `VIDEO_HW_PIPELINE_QUEUE` (or the backend's
/// `VIDEO_HW_NV_PIPELINE_QUEUE` / `VIDEO_HW_VT_PIPELINE_QUEUE`).
fn decode_many(
    args: &DecodeArgs,
    config: DecoderConfig,
    source: Source,
    gpus: &[u32],
) -> Result<DecodeReport> {
    let inputs: Vec<DecodeInput> = source.collect::<Result<_>>()?;
    let backend = args.common.backend;
    // Open every session first so that start-up is not part of the timing; the pool puts
    // each on the GPU with the most free engines.
    let opening = std::time::Instant::now();
    let pool = DecodePool::new(backend, &GpuSelection::List(gpus.to_vec()))?;
    let mut sessions = Vec::with_capacity(args.sessions);
    for i in 0..args.sessions {
        sessions.push(
            pool.open(config.clone())
                .with_context(|| format!("opening decoder {i}"))?,
        );
    }
    let loads = pool.loads(config.codec);
    let first = &sessions[0];
    let (backend_name, selection) = (
        first.backend().to_string(),
        first.selection().reason.clone(),
    );
    let implementation = first.summary().origin.implementation;
    let conversion = first.conversion();
    let scheduler = PipelineScheduler::new(
        PipelineConfig::default().with_switch(PipelineSwitch::from_env(first.backend())),
        Metrics::new(),
    );
    let mut copies = (0..args.sessions)
        .map(|_| SessionCopy::new(args.md5, args.to))
        .collect::<Result<Vec<_>>>()?;
    let open_seconds = opening.elapsed().as_secs_f64();
    let start = std::time::Instant::now();
    let lanes = sessions
        .into_iter()
        .zip(&mut copies)
        .map(|(session, copy)| {
            let source = inputs.iter().map(|i| Ok(IngestItem::from(i.clone())));
            (source, session, move |out: Output| copy.put(out))
        });
    scheduler.run_decode_many(lanes)?;
    let (mut frames, mut errors, mut digests) = (0, Vec::new(), Vec::new());
    for copy in copies {
        frames += copy.frames;
        errors.extend(copy.errors);
        digests.push(copy.sink.finish()?);
    }
    let seconds = start.elapsed().as_secs_f64();
    if digests.windows(2).any(|w| w[0] != w[1]) {
        errors.push(format!("sessions disagree on the output: {digests:?}"));
    }
    Ok(DecodeReport {
        backend: backend_name,
        selection,
        implementation,
        sessions: args.sessions,
        gpus: if gpus.len() > 1 { loads } else { Vec::new() },
        errors,
        conversion,
        open_seconds,
        md5: digests.into_iter().next().flatten(),
        ..DecodeReport::timed(args, config.codec, frames, seconds)
    })
}

/// What one copy of `decode --sessions` wrote: its digest, frames and errors.
struct SessionCopy {
    sink: FrameSink,
    frames: u64,
    errors: Vec<String>,
    scratch: Vec<u8>,
}

impl SessionCopy {
    fn new(md5: bool, to: Option<PixelFormat>) -> Result<Self> {
        let layout = Layout {
            to,
            ..Layout::default()
        };
        Ok(Self {
            sink: FrameSink::with_layout(None, md5, layout)?,
            frames: 0,
            errors: Vec::new(),
            scratch: Vec::new(),
        })
    }

    /// The scheduler's sink for this copy.
    fn put(&mut self, out: Output) -> video_hw::Result<()> {
        match out {
            Output::Frame(unit) => {
                self.sink
                    .put(&unit.item, &mut self.scratch)
                    .map_err(|e| video_hw::VideoError::backend(format!("{e:#}")))?;
                self.frames += 1;
            }
            Output::Error { error, .. } => {
                crate::lost_device::note(&error);
                self.errors.push(error.to_string())
            }
            Output::Chunk(_) => {}
        }
        Ok(())
    }
}
