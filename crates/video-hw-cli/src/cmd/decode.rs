//! `video-hw decode`.

use super::{reap_ready_decode, submit_decode};
use crate::input;
use crate::progress::Progress;
use crate::sink::FrameSink;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use video_hw::{Codec, DecodeInput, DecodeOutput, DecodeSession, DecoderConfig, PixelFormat};

/// Arguments of `decode`.
#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// Annex-B H.264/HEVC stream to decode (`-` for stdin).
    pub input: PathBuf,
    /// Write the decoded frames here as raw planar YUV (I420, cropped) or packed RGB (`-` for stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Print the MD5 of all decoded frames (planar, cropped, output order) as 32 hex digits.
    #[arg(long)]
    pub md5: bool,
    /// Codec of the input (default: from the extension, else from the stream).
    #[arg(long)]
    pub codec: Option<Codec>,
    /// Pixel format of the frames the decoder returns: nv12, i420, rgb24, rgba, bgra.
    #[arg(long = "to")]
    pub to: Option<PixelFormat>,
    /// Decode this many copies of the input at once, one session each, and report the
    /// aggregate frame rate (the input is read into memory).
    #[arg(long, default_value_t = 1)]
    pub sessions: usize,
    /// Bytes handed to the decoder per submit.
    #[arg(long, default_value_t = 1 << 20)]
    pub chunk_size: usize,
    #[command(flatten)]
    pub common: crate::Common,
}

#[derive(Serialize)]
struct DecodeReport {
    input: String,
    codec: Codec,
    backend: String,
    selection: String,
    implementation: String,
    sessions: usize,
    frames: u64,
    errors: Vec<String>,
    sizes: Vec<String>,
    seconds: f64,
    fps: f64,
    md5: Option<String>,
}

/// Decodes a stream.
pub fn run(args: DecodeArgs) -> Result<ExitCode> {
    if args.sessions == 0 {
        bail!("--sessions must be at least 1");
    }
    if args.chunk_size == 0 {
        bail!("--chunk-size must be at least 1");
    }
    let mut reader = input::open(&args.input)?;
    let head = input::read_up_to(&mut *reader, 64 * 1024)?;
    if head.is_empty() {
        bail!("{} is empty", args.input.display());
    }
    let codec = input::detect_codec(args.codec, &args.input, &head)?;
    let output = match args.to {
        Some(f) => DecodeOutput::Cpu(f),
        None if args.md5 || args.output.is_some() => DecodeOutput::Cpu(PixelFormat::I420),
        None => DecodeOutput::MetadataOnly,
    };
    let config = DecoderConfig::new(codec).with_output(output);
    let report = if args.sessions == 1 {
        decode_stream(&args, config, head, reader)?
    } else {
        decode_many(&args, config, head, reader)?
    };
    if args.md5
        && let Some(m) = &report.md5
    {
        println!("{m}");
    }
    if args.common.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if !args.common.quiet {
        eprintln!(
            "decoded {} frames of {} in {:.2} s ({:.1} fps) on {} [{}] ({})",
            report.frames,
            codec,
            report.seconds,
            report.fps,
            report.backend,
            report.implementation,
            report.selection
        );
    }
    for e in report.errors.iter().take(5) {
        eprintln!("video-hw: error: {e}");
    }
    if report.errors.len() > 5 {
        eprintln!("video-hw: ... and {} more errors", report.errors.len() - 5);
    }
    Ok(if report.errors.is_empty() && report.frames > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn decode_stream(
    args: &DecodeArgs,
    config: DecoderConfig,
    head: Vec<u8>,
    mut reader: Box<dyn std::io::Read + Send>,
) -> Result<DecodeReport> {
    let codec = config.codec;
    let mut session = DecodeSession::new(args.common.backend, config).context("opening decoder")?;
    let mut sink = FrameSink::new(args.output.as_deref(), args.md5)?;
    let mut progress = Progress::new("decode", args.common.quiet);
    let mut frames = 0u64;
    let mut errors = Vec::new();
    let mut sizes: Vec<String> = Vec::new();
    let mut scratch = Vec::new();
    let mut on_frame = |f: Result<video_hw::DecodedFrame, video_hw::VideoError>| -> Result<()> {
        match f {
            Ok(frame) => {
                let size = frame.dimensions().to_string();
                if sizes.last() != Some(&size) {
                    sizes.push(size);
                }
                sink.put(&frame, &mut scratch)?;
                frames += 1;
                progress.tick(frames);
            }
            Err(e) => errors.push(e.to_string()),
        }
        Ok(())
    };
    let mut chunk = head;
    loop {
        if !chunk.is_empty() {
            submit_decode(&mut session, DecodeInput::annexb(chunk), &mut on_frame)?;
        }
        chunk = input::read_up_to(&mut *reader, args.chunk_size)?;
        if chunk.is_empty() {
            break;
        }
    }
    session.flush()?;
    reap_ready_decode(&mut session, &mut on_frame)?;
    let seconds = progress.elapsed();
    progress.finish();
    let summary = session.summary();
    Ok(DecodeReport {
        input: args.input.display().to_string(),
        codec,
        backend: session.backend().to_string(),
        selection: session.selection().reason.clone(),
        implementation: summary.implementation,
        sessions: 1,
        frames,
        errors,
        sizes,
        seconds,
        fps: frames as f64 / seconds.max(1e-9),
        md5: sink.finish()?,
    })
}

/// Decodes `sessions` copies of the input concurrently; every copy must give the same MD5.
fn decode_many(
    args: &DecodeArgs,
    config: DecoderConfig,
    mut data: Vec<u8>,
    mut reader: Box<dyn std::io::Read + Send>,
) -> Result<DecodeReport> {
    reader.read_to_end(&mut data).context("reading input")?;
    let data: Arc<[u8]> = data.into();
    let backend = args.common.backend;
    let chunk_size = args.chunk_size;
    let md5 = args.md5;
    // Open every session first so that start-up is not part of the timing.
    let mut sessions = Vec::with_capacity(args.sessions);
    for i in 0..args.sessions {
        sessions.push(
            DecodeSession::new(backend, config.clone())
                .with_context(|| format!("opening decoder {i}"))?,
        );
    }
    let first = &sessions[0];
    let (backend_name, selection) = (
        first.backend().to_string(),
        first.selection().reason.clone(),
    );
    let start = std::time::Instant::now();
    let handles: Vec<_> = sessions
        .into_iter()
        .map(|mut session| {
            let data = data.clone();
            std::thread::spawn(
                move || -> Result<(u64, Vec<String>, Option<String>, String)> {
                    let mut sink = FrameSink::new(None, md5)?;
                    let (mut frames, mut errors, mut scratch) = (0u64, Vec::new(), Vec::new());
                    let mut on_frame =
                        |f: Result<video_hw::DecodedFrame, video_hw::VideoError>| -> Result<()> {
                            match f {
                                Ok(frame) => {
                                    sink.put(&frame, &mut scratch)?;
                                    frames += 1;
                                }
                                Err(e) => errors.push(e.to_string()),
                            }
                            Ok(())
                        };
                    for chunk in data.chunks(chunk_size) {
                        submit_decode(&mut session, DecodeInput::annexb(chunk), &mut on_frame)?;
                    }
                    session.flush()?;
                    reap_ready_decode(&mut session, &mut on_frame)?;
                    let implementation = session.summary().implementation;
                    Ok((frames, errors, sink.finish()?, implementation))
                },
            )
        })
        .collect();
    let mut frames = 0;
    let mut errors = Vec::new();
    let mut digests = Vec::new();
    let mut implementation = String::new();
    for h in handles {
        let (f, e, d, imp) = h
            .join()
            .map_err(|_| anyhow::anyhow!("a decode thread panicked"))??;
        frames += f;
        errors.extend(e);
        digests.push(d);
        implementation = imp;
    }
    let seconds = start.elapsed().as_secs_f64();
    if digests.windows(2).any(|w| w[0] != w[1]) {
        errors.push(format!("sessions disagree on the output: {digests:?}"));
    }
    Ok(DecodeReport {
        input: Path::new(&args.input).display().to_string(),
        codec: config.codec,
        backend: backend_name,
        selection,
        implementation,
        sessions: args.sessions,
        frames,
        errors,
        sizes: Vec::new(),
        seconds,
        fps: frames as f64 / seconds.max(1e-9),
        md5: digests.into_iter().next().flatten(),
    })
}
