//! The `video-hw` command: probe backends, decode, encode and transcode H.264/HEVC.

mod cmd;
mod decode_source;
mod input_file;
mod progress;
mod sink;
mod sink_chunks;
mod stream_demux;

use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;
use video_hw::Backend;

/// Hardware video decode and encode (NVIDIA, VideoToolbox, software) behind one command.
#[derive(Parser, Debug)]
#[command(name = "video-hw", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the backends, codecs and limits found at run time.
    Probe(cmd::probe::ProbeArgs),
    /// Decode an H.264/HEVC Annex-B stream to raw frames (or just an MD5 of them).
    Decode(cmd::decode::DecodeArgs),
    /// Encode raw frames or a generated test pattern to an Annex-B stream.
    Encode(cmd::encode::EncodeArgs),
    /// Decode a stream and encode it again.
    Transcode(cmd::transcode::TranscodeArgs),
    /// Encode a test pattern, decode it back and report quality: the quickest check that a
    /// backend works on this machine.
    Roundtrip(cmd::roundtrip::RoundtripArgs),
    /// Compare decode and encode speed with the matching FFmpeg command, verify the outputs,
    /// and write Markdown and JSON reports.
    Bench(cmd::bench::BenchArgs),
    /// Run an encode -> decode -> transform -> encode loop with session switches for a while,
    /// watching memory and counting every frame.
    Soak(cmd::soak::SoakArgs),
}

/// Options every command takes.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Backend: auto, software, nvidia or videotoolbox.
    #[arg(long, default_value = "auto", global = true)]
    pub backend: Backend,
    /// The GPU to decode and encode on, as the driver numbers them (CUDA device ordinal on
    /// NVIDIA; ignored by backends without a choice of GPU).
    #[arg(long, default_value_t = 0, global = true)]
    pub gpu: u32,
    /// No progress or summary on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print a machine-readable JSON summary on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Probe(a) => cmd::probe::run(a),
        Command::Decode(a) => cmd::decode::run(a),
        Command::Encode(a) => cmd::encode::run(a),
        Command::Transcode(a) => cmd::transcode::run(a),
        Command::Roundtrip(a) => cmd::roundtrip::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Soak(a) => cmd::soak::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("video-hw: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
