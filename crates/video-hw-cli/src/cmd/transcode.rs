//! `video-hw transcode`.

use super::{EncodeOpts, finish_encode, reap_ready_decode, submit_decode, submit_encode};
use crate::input;
use crate::progress::Progress;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use video_hw::{
    Codec, DecodeInput, DecodeOutput, DecodeSession, DecodedFrame, DecoderConfig, EncodeInput,
    EncodeSession, PixelFormat,
};
use video_hw::{SessionSwitchRequest, SwitchMode};

/// Arguments of `transcode`.
#[derive(Args, Debug)]
pub struct TranscodeArgs {
    /// Annex-B H.264/HEVC stream to read (`-` for stdin).
    pub input: PathBuf,
    /// Where to write the new Annex-B stream (`-` for stdout).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Codec of the input (default: from the extension, else from the stream).
    #[arg(long = "input-codec")]
    pub input_codec: Option<Codec>,
    /// Switch the encoder configuration at an input frame: FRAME:key=value[,key=value...]
    /// with keys bitrate, fps, size, codec, gop, mode=immediate|keyframe|drain (repeatable).
    #[arg(long = "switch")]
    pub switches: Vec<super::switch_spec::SwitchSpec>,
    #[command(flatten)]
    pub enc: EncodeOpts,
    #[command(flatten)]
    pub common: crate::Common,
}

#[derive(Serialize)]
struct TranscodeReport {
    input: String,
    output: String,
    decoder: String,
    encoder: String,
    frames_decoded: u64,
    frames_encoded: u64,
    chunks: u64,
    bytes: u64,
    errors: Vec<String>,
    seconds: f64,
    fps: f64,
}

/// Decodes and re-encodes a stream.
pub fn run(args: TranscodeArgs) -> Result<ExitCode> {
    let mut reader = input::open(&args.input)?;
    let head = input::read_up_to(&mut *reader, 64 * 1024)?;
    if head.is_empty() {
        bail!("{} is empty", args.input.display());
    }
    let codec = input::detect_codec(args.input_codec, &args.input, &head)?;
    let mut decoder = DecodeSession::new(
        args.common.backend,
        DecoderConfig::new(codec).with_output(DecodeOutput::Cpu(PixelFormat::I420)),
    )
    .context("opening decoder")?;
    let mut out: Box<dyn Write> = if args.output.as_os_str() == "-" {
        Box::new(std::io::BufWriter::new(std::io::stdout()))
    } else {
        Box::new(std::io::BufWriter::new(
            std::fs::File::create(&args.output)
                .with_context(|| format!("cannot create {}", args.output.display()))?,
        ))
    };
    let mut progress = Progress::new("transcode", args.common.quiet);
    let mut encoder: Option<EncodeSession> = None;
    let mut decoded = 0u64;
    let mut errors: Vec<String> = Vec::new();
    let mut scratch = Vec::new();
    let backend = args.common.backend;
    let enc_opts = args.enc.clone();
    let switches = args.switches.clone();
    let mut encode_errors: Vec<String> = Vec::new();
    let mut write_chunk = |c: Result<video_hw::EncodedChunk, video_hw::VideoError>| -> Result<()> {
        match c {
            Ok(c) => out.write_all(&c.data).context("writing output"),
            Err(e) => {
                encode_errors.push(e.to_string());
                Ok(())
            }
        }
    };
    // The size the encoder should produce: the input's, unless a --switch set one.
    let mut forced_size: Option<video_hw::Dimensions> = None;
    let mut input_size: Option<video_hw::Dimensions> = None;
    let mut on_frame = |f: Result<DecodedFrame, video_hw::VideoError>| -> Result<()> {
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
                EncodeSession::new(backend, enc_opts.config(size)).context("opening encoder")?,
            ),
        };
        // The input changed size mid-stream: follow it with a new generation.
        if input_size.is_some_and(|s| s != size) && forced_size.is_none() {
            let mut config = enc.config().clone();
            config.dimensions = size;
            enc.request_session_switch(SessionSwitchRequest {
                config,
                mode: SwitchMode::DrainThenSwap,
                force_idr_on_activate: true,
            })?;
        }
        input_size = Some(size);
        for spec in switches.iter().filter(|s| s.frame == index) {
            let request = spec.request(enc.config());
            if spec.size.is_some() {
                forced_size = spec.size;
            }
            enc.request_session_switch(request)
                .context("requesting a session switch")?;
        }
        let target = forced_size.unwrap_or(size);
        if target != size {
            bail!(
                "frame {index} is {size} but the encoder was switched to {target}: scaling needs the transform layer, which this build does not have yet"
            );
        }
        scratch.clear();
        frame.write_planar(&mut scratch)?;
        let mut picture =
            EncodeInput::packed(PixelFormat::I420, size, std::mem::take(&mut scratch))?;
        picture.pts = frame.pts;
        submit_encode(enc, picture, &mut write_chunk)
    };
    let mut chunk = head;
    while !chunk.is_empty() {
        submit_decode(&mut decoder, DecodeInput::annexb(chunk), &mut on_frame)?;
        chunk = input::read_up_to(&mut *reader, 1 << 20)?;
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
    finish_encode(&mut encoder, &mut write_chunk)?;
    out.flush().context("writing output")?;
    let seconds = progress.elapsed();
    progress.finish();
    let es = encoder.summary();
    let report = TranscodeReport {
        input: args.input.display().to_string(),
        output: args.output.display().to_string(),
        decoder: format!(
            "{} [{}]",
            decoder.backend(),
            decoder.summary().implementation
        ),
        encoder: format!("{} [{}]", encoder.backend(), es.implementation),
        frames_decoded: decoded,
        frames_encoded: es.frames_in,
        chunks: es.chunks_out,
        bytes: es.bytes_out,
        errors: errors.into_iter().chain(encode_errors).collect(),
        seconds,
        fps: decoded as f64 / seconds.max(1e-9),
    };
    if args.common.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if !args.common.quiet {
        eprintln!(
            "transcoded {} frames into {} chunks ({} bytes) in {:.2} s ({:.1} fps): decode on {}, encode on {}",
            report.frames_decoded,
            report.chunks,
            report.bytes,
            report.seconds,
            report.fps,
            report.decoder,
            report.encoder
        );
    }
    for e in report.errors.iter().take(5) {
        eprintln!("video-hw: error: {e}");
    }
    if report.errors.len() > 5 {
        eprintln!("video-hw: ... and {} more errors", report.errors.len() - 5);
    }
    Ok(
        if report.errors.is_empty() && report.chunks == report.frames_decoded {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}
