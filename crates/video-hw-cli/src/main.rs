//! The `video-hw` command: probe backends, decode, encode and transcode H.264/HEVC.

mod audio_copy;
mod cmd;
mod decode_source;
mod frame_layout;
mod input_file;
mod json_out;
mod logging;
mod lost_device;
mod output_file;
mod progress;
mod sink;
mod sink_chunks;
mod stop;
mod stream_demux;
mod y4m_io;

use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
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
    /// No progress, summary or log messages on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More log messages on stderr: `-v` shows the decoder and encoder libraries' own errors
    /// (FFmpeg, OpenH264), `-vv` their warnings, `-vvv` everything.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Print one machine-readable JSON document: the summary, or `{"error": {"class",
    /// "message"}}` on failure. On stdout, or on stderr when stdout carries media (`-o -`).
    #[arg(long, global = true)]
    pub json: bool,
    /// Write the JSON document to this file instead (implies --json).
    #[arg(long = "json-file", global = true, value_name = "FILE")]
    pub json_file: Option<PathBuf>,
    /// Overwrite existing output files without asking.
    #[arg(short = 'y', global = true, conflicts_with = "no_overwrite")]
    pub overwrite: bool,
    /// Never overwrite an existing output file (exit 2 instead).
    #[arg(short = 'n', global = true)]
    pub no_overwrite: bool,
}

impl Common {
    /// Whether a JSON document was asked for.
    pub fn wants_json(&self) -> bool {
        self.json || self.json_file.is_some()
    }

    /// The overwrite policy from `-y` / `-n`.
    pub fn overwrite_policy(&self) -> output_file::Overwrite {
        match (self.overwrite, self.no_overwrite) {
            (true, _) => output_file::Overwrite::Yes,
            (_, true) => output_file::Overwrite::No,
            _ => output_file::Overwrite::Ask,
        }
    }

    /// The GPUs to run on: those of `gpus` (`--gpus`) or the one of `--gpu`, checked against
    /// the driver when the backend may use it (a GPU that does not exist is an error naming
    /// the ones that do, never a silent fallback).
    pub fn resolve_gpus(&self, gpus: Option<&video_hw::GpuSelection>) -> anyhow::Result<Vec<u32>> {
        let default = video_hw::GpuSelection::List(vec![self.gpu]);
        let asked = gpus.unwrap_or(&default);
        if gpus.is_none() && self.gpu == 0 {
            // The default: GPU 0, which a session checks when it opens.
            return Ok(vec![0]);
        }
        Ok(video_hw::backend::resolve_gpus(self.backend, asked)?)
    }

    /// Checks the command's outputs (and `--json-file`) against its inputs and the overwrite
    /// policy ([`output_file::check`]).
    pub fn check_outputs(&self, outputs: &[&Path], inputs: &[&Path]) -> anyhow::Result<()> {
        let mut all = outputs.to_vec();
        all.extend(self.json_file.as_deref());
        output_file::check(&all, inputs, self.overwrite_policy())
    }
}

impl Command {
    fn common(&self) -> &Common {
        match self {
            Command::Probe(a) => &a.common,
            Command::Decode(a) => &a.common,
            Command::Encode(a) => &a.common,
            Command::Transcode(a) => &a.common,
            Command::Roundtrip(a) => &a.common,
            Command::Bench(a) => &a.common,
            Command::Soak(a) => &a.common,
        }
    }

    /// Whether the command writes media to stdout (`-o -`).
    fn media_on_stdout(&self) -> bool {
        let out = match self {
            Command::Decode(a) => a.output.as_deref(),
            Command::Encode(a) => Some(a.output.as_path()),
            Command::Transcode(a) => Some(a.output.as_path()),
            _ => None,
        };
        out.is_some_and(output_file::is_std)
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let common = cli.command.common().clone();
    let media_on_stdout = cli.command.media_on_stdout();
    logging::init(logging::level(common.quiet, common.verbose));
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
        Ok(code) => lost_device::exit_code(code),
        Err(e) => {
            eprintln!("video-hw: error: {e:#}");
            let class = json_out::class_of(&e);
            json_out::emit_error(&common, media_on_stdout, class, format!("{e:#}"));
            lost_device::note_class(class);
            stop::exit_code().unwrap_or_else(|| lost_device::exit_code(ExitCode::from(2)))
        }
    }
}

/// A command line clap refuses: its message as usual, and as a JSON error document when
/// `--json` is among the arguments, or in the `--json-file` named (when no such file exists
/// yet: a refused command line replaces nothing).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let args: Vec<String> = std::env::args().collect();
    let json = args.iter().any(|a| a == "--json");
    let json_file = json_file_arg(&args);
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
        || (!json && json_file.is_none())
    {
        e.exit();
    }
    let _ = e.print();
    let message = e.render().to_string();
    let doc = serde_json::json!({ "error": { "class": "usage", "message": message.trim() } });
    match json_file {
        Some(path) if !path.exists() => {
            let _ = output_file::write_whole(&path, format!("{doc:#}\n").as_bytes());
        }
        Some(_) => {}
        None => println!("{doc:#}"),
    }
    ExitCode::from(2)
}

/// The file `--json-file F` (or `--json-file=F`) names among raw arguments.
fn json_file_arg(args: &[String]) -> Option<PathBuf> {
    args.iter().enumerate().find_map(|(i, a)| {
        if a == "--json-file" {
            args.get(i + 1).map(PathBuf::from)
        } else {
            a.strip_prefix("--json-file=").map(PathBuf::from)
        }
    })
}
