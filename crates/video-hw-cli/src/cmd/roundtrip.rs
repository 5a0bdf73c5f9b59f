//! `video-hw roundtrip`: encode a test pattern, decode it back, compare.

use super::{EncodeOpts, finish_encode, reap_ready_decode, submit_decode, submit_encode};
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::process::ExitCode;
use video_hw::{
    DecodeInput, DecodeOutput, DecodeSession, DecoderConfig, Dimensions, EncodeSession,
    PixelFormat, pattern,
};

/// Arguments of `roundtrip`.
#[derive(Args, Debug)]
pub struct RoundtripArgs {
    /// Picture size.
    #[arg(long, default_value = "640x360")]
    pub size: Dimensions,
    /// Number of frames.
    #[arg(long, default_value_t = 120)]
    pub frames: u64,
    /// Lowest acceptable mean luma+chroma PSNR in dB.
    #[arg(long, default_value_t = 30.0)]
    pub min_psnr: f64,
    /// Also keep the encoded stream here.
    #[arg(short, long)]
    pub output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub enc: EncodeOpts,
    #[command(flatten)]
    pub common: crate::Common,
}

#[derive(Serialize)]
struct RoundtripReport {
    size: String,
    codec: String,
    encoder: String,
    decoder: String,
    frames_encoded: u64,
    frames_decoded: u64,
    bytes: u64,
    mean_psnr_db: f64,
    min_psnr_db: f64,
    passed: bool,
}

/// Encodes the pattern, decodes it, and reports PSNR.
pub fn run(args: RoundtripArgs) -> Result<ExitCode> {
    let outputs: Vec<&std::path::Path> = args.output.iter().map(|p| p.as_path()).collect();
    args.common.check_outputs(&outputs, &[])?;
    let mut enc = EncodeSession::new(
        args.common.backend,
        args.enc.config(args.size).with_gpu(args.common.gpu),
    )
    .context("opening encoder")?;
    let mut stream = Vec::new();
    for i in 0..args.frames {
        let picture = video_hw::EncodeInput::packed(
            PixelFormat::I420,
            args.size,
            pattern::i420_frame(args.size, i),
        )?;
        submit_encode(&mut enc, picture, &mut |c| {
            stream.extend_from_slice(&c?.data);
            Ok(())
        })?;
    }
    finish_encode(&mut enc, &mut |c| {
        stream.extend_from_slice(&c?.data);
        Ok(())
    })?;
    if let Some(p) = &args.output {
        crate::output_file::write_whole(p, &stream)?;
    }
    let mut dec = DecodeSession::new(
        args.common.backend,
        DecoderConfig::new(args.enc.codec).with_output(DecodeOutput::Cpu(PixelFormat::I420)),
    )
    .context("opening decoder")?;
    let mut psnrs = Vec::new();
    let mut errors = Vec::new();
    let mut scratch = Vec::new();
    let size = args.size;
    let mut on_frame = |f: Result<video_hw::DecodedFrame, video_hw::VideoError>| -> Result<()> {
        match f {
            Ok(frame) => {
                scratch.clear();
                frame.write_planar(&mut scratch)?;
                let want = pattern::i420_frame(size, psnrs.len() as u64);
                psnrs.push(pattern::psnr(&scratch, &want)?);
            }
            Err(e) => errors.push(e),
        }
        Ok(())
    };
    submit_decode(&mut dec, DecodeInput::annexb(stream.clone()), &mut on_frame)?;
    dec.flush()?;
    reap_ready_decode(&mut dec, &mut on_frame)?;
    if let Some(e) = errors.first() {
        bail!("decoding the encoded pattern failed: {e}");
    }
    let finite: Vec<f64> = psnrs.iter().map(|p| p.min(99.0)).collect();
    let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
    let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let es = enc.summary();
    let report = RoundtripReport {
        size: size.to_string(),
        codec: args.enc.codec.to_string(),
        encoder: format!("{} [{}]", enc.backend(), es.origin.implementation),
        decoder: format!(
            "{} [{}]",
            dec.backend(),
            dec.summary().origin.implementation
        ),
        frames_encoded: es.frames_in,
        frames_decoded: psnrs.len() as u64,
        bytes: stream.len() as u64,
        mean_psnr_db: mean,
        min_psnr_db: if min.is_finite() { min } else { 0.0 },
        passed: psnrs.len() as u64 == args.frames && mean >= args.min_psnr,
    };
    crate::json_out::emit(&args.common, false, &report)?;
    if !args.common.quiet {
        eprintln!(
            "roundtrip {} {}: encoded {} frames on {} ({} bytes), decoded {} on {}; PSNR mean {:.2} dB, min {:.2} dB: {}",
            report.codec,
            report.size,
            report.frames_encoded,
            report.encoder,
            report.bytes,
            report.frames_decoded,
            report.decoder,
            report.mean_psnr_db,
            report.min_psnr_db,
            if report.passed { "PASS" } else { "FAIL" }
        );
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
