//! `video-hw encode`.

use super::{EncodeOpts, SwitchOutcome, finish_encode, submit_encode, switch_and_settle};
use crate::json_out::usage;
use crate::output_file::{PendingFile, is_std};
use crate::progress::Progress;
use crate::sink_chunks::ChunkOut;
use crate::y4m_io::{self, Y4mReader};
use crate::{input_file, json_out, stop};
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use video_hw::transform::{TransformSpec, transform_input};
use video_hw::{
    ColorDescription, Dimensions, EncodeInput, EncodeSession, PixelFormat, Rational, pattern,
};

/// Arguments of `encode`.
#[derive(Args, Debug)]
pub struct EncodeArgs {
    /// Frames to encode (`-` for stdin): Y4M (by its header; size, rate and format from it),
    /// or raw frames with --size and --pix-fmt. Omit with --pattern.
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
    /// Picture size, e.g. 1280x720: required for raw input (which carries no size); 640x360
    /// for --pattern.
    #[arg(long)]
    pub size: Option<Dimensions>,
    /// Pixel format of raw input: i420 (default), nv12, rgb24, rgba, bgra, argb.
    #[arg(long = "pix-fmt")]
    pub pix_fmt: Option<PixelFormat>,
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
    /// Errors of the run (a frame the encoder refused...).
    errors: Vec<String>,
    /// Things done otherwise than asked (a switch past the end, a switch rolled back).
    warnings: Vec<String>,
    /// Set when a signal stopped the run: SIGINT or SIGTERM.
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_by: Option<&'static str>,
}

/// Where the pictures come from.
enum Pictures {
    Pattern,
    Raw(Box<dyn std::io::Read + Send>),
    Y4m(Y4mReader),
}

/// Opens the input: Y4M by its header, else raw frames, which need `--size`.
fn open_input(args: &EncodeArgs) -> Result<(Pictures, Dimensions, PixelFormat, Option<Rational>)> {
    let path = match (&args.input, args.pattern) {
        (Some(_), true) => usage!("give an input file or --pattern, not both"),
        (None, false) => usage!("give an input file of frames (Y4M or raw), or --pattern"),
        (None, true) => {
            let size = args.size.unwrap_or(Dimensions::new(640, 360)?);
            return Ok((Pictures::Pattern, size, PixelFormat::I420, None));
        }
        (Some(p), false) => p,
    };
    let mut reader = input_file::open(path)?;
    let head = input_file::read_up_to(&mut *reader, 10)?;
    let reader: Box<dyn std::io::Read + Send> =
        Box::new(std::io::Cursor::new(head.clone()).chain(reader));
    if y4m_io::sniff(&head) {
        let y = Y4mReader::new(reader, path)?;
        if let Some(s) = args.size.filter(|s| *s != y.size) {
            bail!("--size {s} given, but the Y4M header says {}", y.size);
        }
        if let Some(f) = args.pix_fmt.filter(|f| *f != y.format) {
            bail!("--pix-fmt {f} given, but the Y4M header says {}", y.format);
        }
        let (size, format, rate) = (y.size, y.format, y.rate);
        return Ok((Pictures::Y4m(y), size, format, Some(rate)));
    }
    if y4m_io::is_y4m_path(path) {
        bail!(
            "{} is named .y4m but has no YUV4MPEG2 header",
            path.display()
        );
    }
    let Some(size) = args.size else {
        bail!(
            "{} is raw frames, which carry no picture size: pass --size WxH (and --pix-fmt, default i420), or give a Y4M file (ffmpeg -f yuv4mpegpipe)",
            path.display()
        );
    };
    let format = args.pix_fmt.unwrap_or(PixelFormat::I420);
    Ok((Pictures::Raw(reader), size, format, None))
}

/// Encodes raw frames, a Y4M stream or the test pattern.
pub fn run(args: EncodeArgs) -> Result<ExitCode> {
    let inputs: Vec<&Path> = args.input.iter().map(|p| p.as_path()).collect();
    args.common.check_outputs(&[&args.output], &inputs)?;
    crate::sink_chunks::check_output(&args.output, args.fragmented, args.format, args.enc.codec)?;
    if args.frames == Some(0) {
        usage!("--frames 0: nothing to encode");
    }
    args.common.resolve_gpus(None)?;
    stop::install()?;
    let (mut pictures, input_size, input_format, rate) = open_input(&args)?;
    let frame_bytes = input_format.frame_size(input_size);
    let limit = args.frames.or(args.pattern.then_some(300));
    let mut config = args.enc.config(input_size).with_gpu(args.common.gpu);
    if let (None, Some(r)) = (args.enc.fps, rate) {
        config.fps = r;
    }
    let mut session = EncodeSession::new(args.common.backend, config).context("opening encoder")?;
    let stdout = is_std(&args.output);
    let pending = (!stdout).then(|| PendingFile::new(&args.output));
    let mut out = ChunkOut::create(
        pending.as_ref().map_or(args.output.as_path(), |p| p.path()),
        args.fragmented,
        args.format,
        args.enc.codec,
    )?;
    let mut progress = Progress::new("encode", args.common.quiet);
    // The total: --frames, else a raw file holds its size over the frame size.
    let raw_frames = match (&pictures, &args.input) {
        (Pictures::Raw(_), Some(p)) if !is_std(p) => std::fs::metadata(p)
            .ok()
            .map(|m| m.len() / frame_bytes.max(1) as u64),
        _ => None,
    };
    progress.set_total(limit.or(raw_frames));
    progress.set_rate(session.config().fps);
    let mut written = 0u64;
    let mut errors: Vec<String> = Vec::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut on_chunk = |c: Result<video_hw::EncodedChunk, video_hw::VideoError>| -> Result<()> {
        match c {
            Ok(c) => {
                out.write(&c)?;
                written += 1;
            }
            Err(e) => {
                crate::lost_device::note(&e);
                errors.push(e.to_string())
            }
        }
        Ok(())
    };
    let mut n = 0u64;
    let mut size = input_size;
    let mut active = session.config().clone();
    while limit.is_none_or(|l| n < l) && !stop::requested() {
        for spec in args.switches.iter().filter(|s| s.frame == n) {
            let request = spec.request(&active);
            let wanted = request.config.clone();
            match switch_and_settle(&mut session, request, &mut on_chunk)? {
                SwitchOutcome::Active => {
                    size = wanted.dimensions;
                    active = wanted;
                }
                SwitchOutcome::RolledBack(reason) => warnings.push(format!(
                    "switch at frame {n} rolled back ({reason}): encoding goes on at {size}"
                )),
            }
        }
        let raw = match &mut pictures {
            Pictures::Pattern => {
                EncodeInput::packed(PixelFormat::I420, size, pattern::i420_frame(size, n))?
            }
            Pictures::Y4m(y) => match y.next_frame()? {
                Some(buf) => EncodeInput::packed(input_format, input_size, buf)?,
                None => break,
            },
            Pictures::Raw(r) => {
                let buf = input_file::read_up_to(&mut **r, frame_bytes)?;
                if buf.is_empty() {
                    break;
                }
                if buf.len() < frame_bytes {
                    bail!(
                        "input ends inside frame {n}: {} of {frame_bytes} bytes ({input_size} {input_format} frames are {frame_bytes} bytes)",
                        buf.len(),
                    );
                }
                EncodeInput::packed(input_format, input_size, buf)?
            }
        };
        let picture = if raw.dimensions() == size {
            raw
        } else {
            // A size switch on file input: scale here, on the caller's thread.
            let spec = TransformSpec::to(PixelFormat::I420).with_size(size);
            transform_input(&raw, &ColorDescription::default(), &spec)?
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
    let stopped = stop::requested().then(stop::signal_name);
    for spec in args.switches.iter().filter(|s| s.frame >= n) {
        if stopped.is_none() {
            warnings.push(format!(
                "--switch at frame {} not applied: the input ended after {n} frames",
                spec.frame
            ));
        }
    }
    let seconds = progress.elapsed();
    progress.finish();
    let s = session.summary();
    if written == 0 {
        // Nothing encoded: no file (the temporary one is removed), and the errors say why.
        super::print_errors(&errors);
        bail!(
            "no frame encoded from {n} input frames ({} errors); no output written",
            errors.len()
        );
    }
    out.finish()?;
    if let Some(p) = pending {
        p.commit()?;
    }
    let report = EncodeReport {
        output: args.output.display().to_string(),
        codec: args.enc.codec.to_string(),
        backend: session.backend().to_string(),
        selection: session.selection().reason.clone(),
        implementation: s.origin.implementation.clone(),
        size: input_size.to_string(),
        frames_in: s.frames_in,
        chunks: s.chunks_out,
        keyframes: s.keyframes,
        bytes: s.bytes_out,
        seconds,
        fps: s.frames_in as f64 / seconds.max(1e-9),
        errors,
        warnings,
        stopped_by: stopped,
    };
    json_out::emit(&args.common, stdout, &report)?;
    if let Some(sig) = stopped {
        eprintln!(
            "video-hw: stopped by {sig}: {written} frames encoded and written to {}",
            args.output.display()
        );
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
    for w in &report.warnings {
        eprintln!("video-hw: warning: {w}");
    }
    super::print_errors(&report.errors);
    if let Some(code) = stop::exit_code() {
        return Ok(code);
    }
    if !report.errors.is_empty() || written != s.frames_in {
        eprintln!(
            "video-hw: {} errors, {written} of {} frames written",
            report.errors.len(),
            s.frames_in
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
