//! `video-hw transcode`.

use super::switch_spec::SwitchSpec;
use super::{EncodeOpts, finish_encode, reap_ready_decode, submit_decode, submit_encode};
use crate::decode_source::Source;
use crate::progress::Progress;
use crate::sink_chunks::ChunkOut;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use video_hw::metrics::{Metrics, MetricsReport, PipelineSwitch};
use video_hw::pipeline::{FrameTransform, IngestItem, Output, PipelineConfig, PipelineScheduler};
use video_hw::transform::{TransformSpec, Transformer, frame_to_encode_input, transform_frame};
use video_hw::{
    Codec, DecodeOutput, DecodeSession, DecodedFrame, DecoderConfig, Dimensions, EncodeSession,
    EncodedChunk, PixelFormat, SessionSwitchRequest, SwitchMode, VideoError,
};

/// Arguments of `transcode`.
#[derive(Args, Debug)]
pub struct TranscodeArgs {
    /// H.264/HEVC stream to read: Annex-B or MP4/MOV (`-` for stdin).
    pub input: PathBuf,
    /// Where to write: MP4 for .mp4/.m4v/.mov, Annex-B for .h264/.264/.h265/.265 (`-` for
    /// stdout, Annex-B unless --fragmented); any other name needs --format.
    #[arg(short, long)]
    pub output: PathBuf,
    /// What to write whatever the output's name: mp4, h264 or hevc (Annex-B).
    #[arg(long)]
    pub format: Option<crate::sink_chunks::OutputFormat>,
    /// Codec of the input (default: from the container, the extension, else the stream).
    #[arg(long = "input-codec")]
    pub input_codec: Option<Codec>,
    /// Scale the pictures to this size (default: the input's).
    #[arg(long)]
    pub size: Option<Dimensions>,
    /// Switch the encoder configuration at an input frame: FRAME:key=value[,key=value...]
    /// with keys bitrate, fps, size, codec, gop, mode=immediate|keyframe|drain (repeatable).
    #[arg(long = "switch")]
    pub switches: Vec<SwitchSpec>,
    /// Print the pipeline metrics (stage latencies, queue depths, transform paths) on stderr.
    #[arg(long)]
    pub metrics: bool,
    /// Write a fragmented MP4 (one fragment per keyframe; works on stdout, for live output).
    #[arg(long)]
    pub fragmented: bool,
    #[command(flatten)]
    pub enc: EncodeOpts,
    #[command(flatten)]
    pub common: crate::Common,
}

#[derive(Serialize)]
struct TranscodeReport {
    input: String,
    output: String,
    container_in: String,
    container_out: String,
    decoder: String,
    encoder: String,
    frames_decoded: u64,
    chunks: u64,
    keyframes: u64,
    bytes: u64,
    generations: Vec<u64>,
    errors: Vec<String>,
    seconds: f64,
    fps: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<MetricsReport>,
}

/// What the egress side counts.
#[derive(Default)]
struct Tally {
    chunks: u64,
    keyframes: u64,
    bytes: u64,
    generations: Vec<u64>,
}

impl Tally {
    fn add(&mut self, out: &mut ChunkOut, c: &EncodedChunk) -> Result<()> {
        out.write(c)?;
        self.chunks += 1;
        self.keyframes += u64::from(c.keyframe);
        self.bytes += c.data.len() as u64;
        if self.generations.last() != Some(&c.generation) {
            self.generations.push(c.generation);
        }
        Ok(())
    }
}

/// Decodes and re-encodes a stream.
pub fn run(args: TranscodeArgs) -> Result<ExitCode> {
    crate::sink_chunks::check_output(&args.output, args.fragmented, args.format, args.enc.codec)?;
    let source = Source::open(&args.input, args.input_codec, 1 << 20)?;
    let container_in = source.container;
    let mut out = ChunkOut::create(&args.output, args.fragmented, args.format, args.enc.codec)?;
    let container_out = out.kind();
    let mut dconfig = DecoderConfig::new(source.codec)
        .with_output(DecodeOutput::Native)
        .with_gpu(args.common.gpu);
    if let Some(tb) = source.timebase {
        dconfig.timebase = tb;
    }
    let decoder = DecodeSession::new(args.common.backend, dconfig).context("opening decoder")?;
    let decoder_name = format!(
        "{} [{}]",
        decoder.backend(),
        decoder.summary().origin.implementation
    );
    let mut tally = Tally::default();
    let mut errors = Vec::new();
    let mut progress = Progress::new("transcode", args.common.quiet);
    let start = std::time::Instant::now();
    let (decoded, encoder_name, metrics) = if args.switches.is_empty() && source.size.is_some() {
        scheduled(
            &args,
            source,
            decoder,
            &mut out,
            &mut tally,
            &mut errors,
            &mut progress,
        )?
    } else {
        direct(
            &args,
            source,
            decoder,
            &mut out,
            &mut tally,
            &mut errors,
            &mut progress,
        )?
    };
    out.finish()?;
    let seconds = start.elapsed().as_secs_f64();
    progress.finish();
    let report = TranscodeReport {
        input: args.input.display().to_string(),
        output: args.output.display().to_string(),
        container_in: container_in.to_string(),
        container_out: container_out.to_string(),
        decoder: decoder_name,
        encoder: encoder_name,
        frames_decoded: decoded,
        chunks: tally.chunks,
        keyframes: tally.keyframes,
        bytes: tally.bytes,
        generations: tally.generations,
        errors,
        seconds,
        fps: decoded as f64 / seconds.max(1e-9),
        metrics: metrics.filter(|_| args.metrics || args.common.json),
    };
    if args.common.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if !args.common.quiet {
        eprintln!(
            "transcoded {} frames ({container_in} -> {container_out}) into {} chunks ({} bytes, {} keyframes, generations {:?}) in {:.2} s ({:.1} fps): decode on {}, encode on {}",
            report.frames_decoded,
            report.chunks,
            report.bytes,
            report.keyframes,
            report.generations,
            report.seconds,
            report.fps,
            report.decoder,
            report.encoder
        );
    }
    if args.metrics
        && let Some(m) = &report.metrics
    {
        eprintln!("{m}");
    }
    super::print_errors(&report.errors);
    Ok(
        if report.errors.is_empty()
            && report.frames_decoded > 0
            && report.chunks == report.frames_decoded
        {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

fn backend_error(e: anyhow::Error) -> VideoError {
    VideoError::backend(format!("{e:#}"))
}

/// The common case, through the pipeline scheduler: ingest, decode submit/reap, the transform
/// pool, encode submit/reap and egress each on their own thread.
fn scheduled(
    args: &TranscodeArgs,
    source: Source,
    decoder: DecodeSession,
    out: &mut ChunkOut,
    tally: &mut Tally,
    errors: &mut Vec<String>,
    progress: &mut Progress,
) -> Result<(u64, String, Option<MetricsReport>)> {
    let input_size = source.size.context("input size unknown")?;
    let size = args.size.unwrap_or(input_size);
    let encoder = EncodeSession::new(
        args.common.backend,
        args.enc.config(size).with_gpu(args.common.gpu),
    )
    .context("opening encoder")?;
    let encoder_name = format!(
        "{} [{}]",
        encoder.backend(),
        encoder.summary().origin.implementation
    );
    let metrics = Metrics::new();
    metrics.set_backend(decoder.backend().to_string());
    metrics.record_session(false);
    metrics.record_session(false);
    let scheduler = PipelineScheduler::new(
        PipelineConfig::default().with_switch(PipelineSwitch::from_env(decoder.backend())),
        metrics.clone(),
    );
    let transform: Arc<dyn FrameTransform> = Arc::new(Transformer::new(
        TransformSpec::to(PixelFormat::I420).with_size(size),
        metrics.clone(),
    ));
    let summary = scheduler.run_transcode(
        source.map(|r| r.map(IngestItem::from).map_err(backend_error)),
        decoder,
        Some(transform),
        encoder,
        |o| -> video_hw::Result<()> {
            match o {
                Output::Chunk(unit) => {
                    tally.add(out, &unit.item).map_err(backend_error)?;
                    progress.tick(tally.chunks);
                }
                Output::Frame(_) => {}
                Output::Error { stage, error } => errors.push(format!("{}: {error}", stage.name())),
            }
            Ok(())
        },
    )?;
    let report = metrics.report();
    video_hw::metrics::print_if_requested(args.common.backend, &report);
    Ok((summary.frames_decoded, encoder_name, Some(report)))
}

/// With `--switch` (or an input whose size is not known up front): decode and encode sessions
/// driven from this thread, so that switches land on exact frame numbers. Conversions run
/// here, never on a decoder or encoder worker.
fn direct(
    args: &TranscodeArgs,
    source: Source,
    mut decoder: DecodeSession,
    out: &mut ChunkOut,
    tally: &mut Tally,
    errors: &mut Vec<String>,
    progress: &mut Progress,
) -> Result<(u64, String, Option<MetricsReport>)> {
    let mut encoder: Option<EncodeSession> = None;
    let mut decoded = 0u64;
    // The size set by --size or a size switch; otherwise the encoder follows the input.
    let mut target: Option<Dimensions> = args.size;
    let mut last_input: Option<Dimensions> = None;
    let mut encode_errors: Vec<String> = Vec::new();
    let mut write = |c: Result<EncodedChunk, VideoError>| -> Result<()> {
        match c {
            Ok(c) => tally.add(out, &c),
            Err(e) => {
                encode_errors.push(e.to_string());
                Ok(())
            }
        }
    };
    let mut on_frame = |f: Result<DecodedFrame, VideoError>| -> Result<()> {
        let frame = match f {
            Ok(frame) => frame,
            Err(e) => {
                errors.push(e.to_string());
                return Ok(());
            }
        };
        let index = decoded;
        decoded += 1;
        progress.tick(decoded);
        let size = frame.dimensions();
        let enc = match &mut encoder {
            Some(e) => e,
            None => encoder.insert(
                EncodeSession::new(
                    args.common.backend,
                    args.enc
                        .config(target.unwrap_or(size))
                        .with_gpu(args.common.gpu),
                )
                .context("opening encoder")?,
            ),
        };
        // The input changed size mid-stream and nothing pins the output size: follow it.
        if target.is_none() && last_input.is_some_and(|s| s != size) {
            let mut config = enc.config().clone();
            config.dimensions = size;
            enc.request_session_switch(SessionSwitchRequest {
                config,
                mode: SwitchMode::DrainThenSwap,
                force_idr_on_activate: true,
            })?;
        }
        last_input = Some(size);
        for spec in args.switches.iter().filter(|s| s.frame == index) {
            let request = spec.request(enc.config());
            if spec.size.is_some() {
                target = spec.size;
            }
            enc.request_session_switch(request)
                .context("requesting a session switch")?;
        }
        let want = target.unwrap_or(size);
        let picture = if want == size && frame.format == PixelFormat::I420 {
            frame_to_encode_input(frame)?
        } else {
            let spec = TransformSpec::to(PixelFormat::I420).with_size(want);
            frame_to_encode_input(transform_frame(&frame, &spec)?)?
        };
        submit_encode(enc, picture, &mut write)
    };
    for input in source {
        submit_decode(&mut decoder, input?, &mut on_frame)?;
    }
    decoder.flush()?;
    reap_ready_decode(&mut decoder, &mut on_frame)?;
    let Some(mut encoder) = encoder else {
        bail!(
            "no frame decoded from {}: {}",
            args.input.display(),
            errors.join("; ")
        );
    };
    finish_encode(&mut encoder, &mut write)?;
    errors.extend(encode_errors);
    let name = format!(
        "{} [{}]",
        encoder.backend(),
        encoder.summary().origin.implementation
    );
    Ok((decoded, name, None))
}
