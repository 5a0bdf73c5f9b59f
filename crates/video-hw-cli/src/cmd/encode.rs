//! `video-hw encode`.

use super::{EncodeOpts, finish_encode, submit_encode};
use crate::input_file;
use crate::progress::Progress;
use crate::sink_chunks::ChunkOut;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use video_hw::transform::{TransformSpec, transform_input};
use video_hw::{ColorDescription, Dimensions, EncodeInput, EncodeSession, PixelFormat, pattern};

/// Arguments of `encode`.
#[derive(Args, Debug)]
pub struct EncodeArgs {
    /// Raw frames to encode (`-` for stdin); omit with --pattern.
    pub input: Option<PathBuf>,
    /// Where to write: MP4 for .mp4/.m4v/.mov, Annex-B for .h264/.264/.h265/.265 (`-` for
    /// stdout, Annex-B unless --fragmented); any other name needs --format.
    #[arg(short, long)]
    pub output: PathBuf,
    /// What to write whatever the output's name: mp4, h264 or hevc (Annex-B).
    #[arg(long)]
    pub format: Option<crate::sink_chunks::OutputFormat>,
    /// Write a fragmented MP4 (one fragment per keyframe; works on stdout, for live output).
    #[arg(long)]
    pub fragmented: bool,
    /// Encode a generated moving test pattern instead of a file.
    #[arg(long)]
    pub pattern: bool,
    /// Number of frames (default: all of the input; 300 for --pattern).
    #[arg(long)]
    pub frames: Option<u64>,
    /// Picture size of the input, e.g. 1280x720.
    #[arg(long, default_value = "640x360")]
    pub size: Dimensions,
    /// Pixel format of the raw input: i420, nv12, rgb24, rgba, bgra, argb.
    #[arg(long = "pix-fmt", default_value = "i420")]
    pub pix_fmt: PixelFormat,
    /// Make every Nth frame a forced keyframe (0: never).
    #[arg(long, default_value_t = 0)]
    pub force_keyframe_every: u64,
    /// Switch the encoder configuration at a frame: FRAME:key=value[,key=value...] with keys
    /// bitrate, fps, size, codec, gop, mode=immediate|keyframe|drain (repeatable).
    #[arg(long = "switch")]
    pub switches: Vec<super::switch_spec::SwitchSpec>,
    #[command(flatten)]
    pub enc: EncodeOpts,
    #[command(flatten)]
    pub common: crate::Common,
}

#[derive(Serialize)]
struct EncodeReport {
    output: String,
    codec: String,
    backend: String,
    selection: String,
    implementation: String,
    size: String,
    frames_in: u64,
    chunks: u64,
    keyframes: u64,
    bytes: u64,
    seconds: f64,
    fps: f64,
}

/// Encodes raw frames or the test pattern.
pub fn run(args: EncodeArgs) -> Result<ExitCode> {
    crate::sink_chunks::check_output(&args.output, args.fragmented, args.format, args.enc.codec)?;
    let frame_bytes = args.pix_fmt.frame_size(args.size);
    let mut reader = match (&args.input, args.pattern) {
        (Some(_), true) => bail!("give an input file or --pattern, not both"),
        (None, false) => bail!("give an input file of raw frames, or --pattern"),
        (Some(p), false) => Some(input_file::open(p)?),
        (None, true) => None,
    };
    let limit = args.frames.or(args.pattern.then_some(300));
    let config = args.enc.config(args.size).with_gpu(args.common.gpu);
    let mut session = EncodeSession::new(args.common.backend, config).context("opening encoder")?;
    let mut out = ChunkOut::create(&args.output, args.fragmented, args.format, args.enc.codec)?;
    let mut progress = Progress::new("encode", args.common.quiet);
    let mut written = 0u64;
    let mut errors: Vec<String> = Vec::new();
    let mut on_chunk = |c: Result<video_hw::EncodedChunk, video_hw::VideoError>| -> Result<()> {
        match c {
            Ok(c) => {
                out.write(&c)?;
                written += 1;
            }
            Err(e) => errors.push(e.to_string()),
        }
        Ok(())
    };
    let mut n = 0u64;
    let mut size = args.size;
    while limit.is_none_or(|l| n < l) {
        for spec in args.switches.iter().filter(|s| s.frame == n) {
            let request = spec.request(session.config());
            size = request.config.dimensions;
            session
                .request_session_switch(request)
                .context("requesting a session switch")?;
        }
        let picture = match &mut reader {
            None => EncodeInput::packed(PixelFormat::I420, size, pattern::i420_frame(size, n))?,
            Some(r) => {
                let buf = input_file::read_up_to(&mut **r, frame_bytes)?;
                if buf.is_empty() {
                    break;
                }
                if buf.len() < frame_bytes {
                    bail!(
                        "input ends inside frame {n}: {} of {frame_bytes} bytes ({} {} frames are {frame_bytes} bytes)",
                        buf.len(),
                        args.size,
                        args.pix_fmt
                    );
                }
                let raw = EncodeInput::packed(args.pix_fmt, args.size, buf)?;
                if size == args.size {
                    raw
                } else {
                    // A size switch on file input: scale here, on the caller's thread.
                    let spec = TransformSpec::to(PixelFormat::I420).with_size(size);
                    transform_input(&raw, &ColorDescription::default(), &spec)?
                }
            }
        };
        let force =
            args.force_keyframe_every > 0 && n > 0 && n.is_multiple_of(args.force_keyframe_every);
        submit_encode(
            &mut session,
            picture.with_force_keyframe(force),
            &mut on_chunk,
        )?;
        n += 1;
        progress.tick(n);
    }
    finish_encode(&mut session, &mut on_chunk)?;
    out.finish()?;
    let seconds = progress.elapsed();
    progress.finish();
    let s = session.summary();
    let report = EncodeReport {
        output: args.output.display().to_string(),
        codec: args.enc.codec.to_string(),
        backend: session.backend().to_string(),
        selection: session.selection().reason.clone(),
        implementation: s.origin.implementation.clone(),
        size: args.size.to_string(),
        frames_in: s.frames_in,
        chunks: s.chunks_out,
        keyframes: s.keyframes,
        bytes: s.bytes_out,
        seconds,
        fps: s.frames_in as f64 / seconds.max(1e-9),
    };
    if args.common.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if !args.common.quiet {
        eprintln!(
            "encoded {} frames ({}) into {} chunks, {} bytes, {} keyframes, in {:.2} s ({:.1} fps) on {} [{}] ({})",
            report.frames_in,
            report.size,
            report.chunks,
            report.bytes,
            report.keyframes,
            report.seconds,
            report.fps,
            report.backend,
            report.implementation,
            report.selection
        );
    }
    if s.errors > 0 || written != s.frames_in {
        eprintln!(
            "video-hw: {} errors, {} of {} frames written",
            s.errors, written, s.frames_in
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
