//! `video-hw transcode`.

use super::switch_spec::SwitchSpec;
use super::{
    EncodeOpts, SwitchOutcome, finish_encode, reap_ready_decode, submit_decode, submit_encode,
    switch_and_settle,
};
use crate::audio_copy::{self, AudioCopy};
use crate::decode_source::Source;
use crate::output_file::{PendingFile, is_std};
use crate::progress::Progress;
use crate::sink_chunks::ChunkOut;
use crate::{json_out, stop};
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use video_hw::metrics::{Metrics, MetricsReport, PictureCounts, PipelineSwitch};
use video_hw::pipeline::{FrameTransform, IngestItem, Output, PipelineConfig, PipelineScheduler};
use video_hw::transform::{TransformSpec, Transformer, frame_to_encode_input, transform_frame};
use video_hw::{
    Codec, DecodeInput, DecodeOutput, DecodeSession, DecodedFrame, DecoderConfig, Dimensions,
    EncodeSession, EncodedChunk, OnError, PixelFormat, SessionSwitchRequest, SwitchMode,
    VideoError,
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
    /// MP4/MOV input: transcode the video track with this id (default: the first video track).
    #[arg(long)]
    pub track: Option<u32>,
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
    /// What to do with a damaged access unit: `skip` (conceal or skip it, count it, go on)
    /// or `stop` (no concealment: each one is an error; exit 1).
    #[arg(long, default_value = "skip", value_name = "skip|stop")]
    pub on_error: OnError,
    /// Drop the input's audio (by default an MP4/MOV input's audio track is copied
    /// unchanged into an MP4 output).
    #[arg(long)]
    pub no_audio: bool,
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
    /// Things done otherwise than asked (a switch past the end, a switch rolled back).
    warnings: Vec<String>,
    /// Set when a signal stopped the run: SIGINT or SIGTERM.
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_by: Option<&'static str>,
    seconds: f64,
    fps: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<MetricsReport>,
    /// Pictures in against frames out, with damaged units skipped and frames concealed.
    pictures: PictureCounts,
}

/// What the egress side counts.
#[derive(Default)]
struct Tally {
    chunks: u64,
    keyframes: u64,
    bytes: u64,
    generations: Vec<u64>,
    /// The input's audio, copied alongside the chunks.
    audio: Option<AudioCopy>,
}

impl Tally {
    fn add(&mut self, out: &mut ChunkOut, c: &EncodedChunk) -> Result<()> {
        out.write(c)?;
        if let (Some(audio), Some(mux)) = (&mut self.audio, out.mp4_muxer()) {
            audio.feed(mux, Some(c))?;
        }
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
    args.common.check_outputs(&[&args.output], &[&args.input])?;
    crate::sink_chunks::check_output(&args.output, args.fragmented, args.format, args.enc.codec)?;
    let gpu = args.common.resolve_gpus(None)?[0];
    stop::install()?;
    // Small pieces of an Annex-B stream keep what is in flight (drained when a signal stops
    // the run) to a few dozen pictures.
    let source = Source::open_track(&args.input, args.input_codec, 64 << 10, args.track)?;
    // The backend starts (CUDA, NVDEC) while the encoder and the output are set up.
    video_hw::backend::prepare_decode(args.common.backend, source.codec, gpu);
    let container_in = source.container;
    let mut notes = Vec::new();
    let audio = audio_copy::plan(
        &args.input,
        &source.mp4_tracks,
        &args.output,
        args.fragmented,
        args.no_audio,
        &mut notes,
    )?;
    let stdout = is_std(&args.output);
    let pending = (!stdout).then(|| PendingFile::new(&args.output));
    let mut out = ChunkOut::create(
        pending.as_ref().map_or(args.output.as_path(), |p| p.path()),
        args.fragmented,
        args.format,
        args.enc.codec,
    )?;
    if let (Some(audio), Some(mux)) = (&audio, out.mp4_muxer()) {
        audio.start(mux)?;
    }
    let container_out = out.kind();
    let mut dconfig = DecoderConfig::new(source.codec)
        .with_output(DecodeOutput::Native)
        .with_gpu(args.common.gpu)
        .with_on_error(args.on_error);
    if let Some(tb) = source.timebase {
        dconfig.timebase = tb;
    }
    // One file per process: the decoder is destroyed as the session closes, not left idle
    // for a session that will not come (see `decode`).
    dconfig.nvidia.keep_idle_decoders = false;
    let decoder = DecodeSession::new(args.common.backend, dconfig).context("opening decoder")?;
    let decoder_name = format!(
        "{} [{}]",
        decoder.backend(),
        decoder.summary().origin.implementation
    );
    let mut tally = Tally {
        audio,
        ..Tally::default()
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut progress = Progress::new("transcode", args.common.quiet);
    progress.set_total(source.frames);
    progress.set_rate(args.enc.fps());
    let read = crate::progress::byte_counter(&args.input, source.frames);
    if let Some((counter, total)) = &read {
        progress.set_total_bytes(counter.clone(), *total);
    }
    let read = read.map(|(c, _)| c).unwrap_or_default();
    let input_size = source.size;
    let source = source.inspect(move |i| crate::progress::count_input(&read, i));
    let start = std::time::Instant::now();
    let (decoded, encoder_name, metrics, pictures) =
        if let Some(input_size) = input_size.filter(|_| args.switches.is_empty()) {
            scheduled(
                &args,
                (source, input_size),
                decoder,
                &mut out,
                &mut tally,
                (&mut errors, &mut warnings),
                &mut progress,
            )?
        } else {
            direct(
                &args,
                source,
                decoder,
                &mut out,
                &mut tally,
                (&mut errors, &mut warnings),
                &mut progress,
            )?
        };
    if let Some(audio) = &mut tally.audio {
        if let Some(mux) = out.mp4_muxer() {
            audio.feed(mux, None)?;
        }
        notes.push(audio.describe());
    }
    let seconds = start.elapsed().as_secs_f64();
    progress.finish();
    let stopped = stop::requested().then(stop::signal_name);
    if stopped.is_none() {
        for spec in args.switches.iter().filter(|s| s.frame >= decoded) {
            warnings.push(format!(
                "--switch at frame {} not applied: the input ended after {decoded} frames",
                spec.frame
            ));
        }
    }
    if tally.chunks == 0 {
        // Nothing encoded: no file (the temporary one is removed), and the errors say why.
        super::print_errors(&errors);
        bail!(
            "no frame encoded from {} ({decoded} decoded, {} errors); no output written",
            args.input.display(),
            errors.len()
        );
    }
    out.finish()?;
    if let Some(p) = pending {
        p.commit()?;
    }
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
        warnings,
        stopped_by: stopped,
        seconds,
        fps: decoded as f64 / seconds.max(1e-9),
        metrics: metrics.filter(|_| args.metrics || args.common.wants_json()),
        pictures,
    };
    json_out::emit(&args.common, stdout, &report)?;
    if let Some(sig) = stopped {
        eprintln!(
            "video-hw: stopped by {sig}: {} frames encoded and written to {}",
            report.chunks,
            args.output.display()
        );
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
        for w in super::damage_warnings(&report.pictures) {
            eprintln!("  warning: {w}");
        }
        for n in &notes {
            eprintln!("  note: {n}");
        }
    }
    if args.metrics
        && let Some(m) = &report.metrics
    {
        eprintln!("{m}");
    }
    for w in &report.warnings {
        eprintln!("video-hw: warning: {w}");
    }
    super::print_errors(&report.errors);
    if let Some(code) = stop::exit_code() {
        return Ok(code);
    }
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
    (source, input_size): (impl Iterator<Item = Result<DecodeInput>> + Send, Dimensions),
    decoder: DecodeSession,
    out: &mut ChunkOut,
    tally: &mut Tally,
    (errors, warnings): (&mut Vec<String>, &mut Vec<String>),
    progress: &mut Progress,
) -> Result<(u64, String, Option<MetricsReport>, PictureCounts)> {
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
        stop::until_stopped(source).map(|r| r.map(IngestItem::from).map_err(backend_error)),
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
                Output::Error { stage, error } => {
                    crate::lost_device::note(&error);
                    stop::file_error(errors, warnings, format!("{}: {error}", stage.name()))
                }
            }
            Ok(())
        },
    )?;
    let report = metrics.report();
    video_hw::metrics::print_if_requested(args.common.backend, &report);
    let pictures = report.pictures;
    Ok((summary.frames_decoded, encoder_name, Some(report), pictures))
}

/// With `--switch` (or an input whose size is not known up front): decode and encode sessions
/// driven from this thread, so that switches land on exact frame numbers. Conversions run
/// here, never on a decoder or encoder worker.
fn direct(
    args: &TranscodeArgs,
    source: impl Iterator<Item = Result<DecodeInput>>,
    mut decoder: DecodeSession,
    out: &mut ChunkOut,
    tally: &mut Tally,
    (errors, warnings): (&mut Vec<String>, &mut Vec<String>),
    progress: &mut Progress,
) -> Result<(u64, String, Option<MetricsReport>, PictureCounts)> {
    let mut encoder: Option<EncodeSession> = None;
    // The configuration of the generation in force; a switch builds on it.
    let mut active: Option<video_hw::EncoderConfig> = None;
    let mut decoded = 0u64;
    // The size set by --size or a size switch; otherwise the encoder follows the input.
    let mut target: Option<Dimensions> = args.size;
    let mut last_input: Option<Dimensions> = None;
    let mut encode_errors: Vec<String> = Vec::new();
    let mut write = |c: Result<EncodedChunk, VideoError>| -> Result<()> {
        match c {
            Ok(c) => tally.add(out, &c),
            Err(e) => {
                crate::lost_device::note(&e);
                encode_errors.push(e.to_string());
                Ok(())
            }
        }
    };
    let mut on_frame = |f: Result<DecodedFrame, VideoError>| -> Result<()> {
        let frame = match f {
            Ok(frame) => frame,
            Err(e) => {
                stop::file_error(errors, warnings, e.to_string());
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
            let mut config = active.clone().unwrap_or_else(|| enc.config().clone());
            config.dimensions = size;
            enc.request_session_switch(SessionSwitchRequest {
                config: config.clone(),
                mode: SwitchMode::DrainThenSwap,
                force_idr_on_activate: true,
            })?;
            active = Some(config);
        }
        last_input = Some(size);
        for spec in args.switches.iter().filter(|s| s.frame == index) {
            let base = active.get_or_insert_with(|| enc.config().clone());
            let request = spec.request(base);
            let wanted = request.config.clone();
            match switch_and_settle(enc, request, &mut write)? {
                SwitchOutcome::Active => {
                    if spec.size.is_some() {
                        target = spec.size;
                    }
                    active = Some(wanted);
                }
                SwitchOutcome::RolledBack(reason) => warnings.push(format!(
                    "switch at frame {index} rolled back ({reason}): encoding goes on at the previous settings"
                )),
            }
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
    for input in stop::until_stopped(source) {
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
    let s = decoder.summary();
    let pictures = PictureCounts {
        counted: s.pictures,
        lost: s.pictures_lost,
        extra: s.frames_extra,
        damaged: s.damaged_units,
        concealed: s.pictures_concealed,
    };
    let name = format!(
        "{} [{}]",
        encoder.backend(),
        encoder.summary().origin.implementation
    );
    Ok((decoded, name, None, pictures))
}
