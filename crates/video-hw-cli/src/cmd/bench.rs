//! `video-hw bench`: video-hw against the matching FFmpeg command on the same input, with
//! warm-up, repeats, optional verification of every output, and one report layout (JSON and
//! Markdown) for every backend.
//!
//! Both sides are timed as whole processes (video-hw runs its own binary as a child, like
//! FFmpeg); video-hw is also timed in-process in the steady state (sessions opened before the
//! clock starts), with the stage latencies recorded into a [`Metrics`] report.

mod ffmpeg;
mod inproc;
mod report;
mod stats;

use super::EncodeOpts;
use crate::input_file;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use ffmpeg::{Ffmpeg, RawSource};
use report::{BenchReport, FfmpegInfo, Machine, Side, VerifyLine, Workload};
use stats::{TimingStats, ratio};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Instant;
use video_hw::metrics::{Metrics, UtilizationReport};
use video_hw::{
    Backend, Codec, DecodeOutput, DecodeSession, DecoderConfig, Dimensions, EncodeSession,
    EncoderConfig, PixelFormat, bitstream, pattern,
};

pub use report::utc_now;

/// Which workloads to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WorkloadKind {
    /// Decode only.
    Decode,
    /// Encode only.
    Encode,
    /// Decode, then encode.
    Both,
}

/// Arguments of `bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Annex-B stream for the decode workload (default: one generated per run from the test
    /// pattern by video-hw's encoder, or by FFmpeg where video-hw cannot encode the codec).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Workloads to run.
    #[arg(long, value_enum, default_value = "both")]
    pub workload: WorkloadKind,
    /// Untimed runs of each side before the timed ones.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Timed runs of each side.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Check every output: ffprobe (codec, size, frame count), `ffmpeg -v error` decode,
    /// decoded MD5 against FFmpeg's (decode) and PSNR against the input (encode).
    #[arg(long)]
    pub verify: bool,
    /// Both encoders read the same raw I420 file (the pattern, written once to OUT/input.yuv);
    /// without it video-hw encodes the pattern generated in memory and FFmpeg its `testsrc2`.
    #[arg(long)]
    pub equal_raw_input: bool,
    /// The FFmpeg program (ffprobe is taken from the same folder).
    #[arg(long, default_value = "ffmpeg")]
    pub ffmpeg: PathBuf,
    /// FFmpeg `-threads` (0: FFmpeg's automatic default).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// libx264/libx265 `-preset` for the software encode comparison.
    #[arg(long, default_value = "medium")]
    pub preset: String,
    /// Concurrent sessions per run (separate processes on the whole-process side).
    #[arg(long, default_value_t = 1)]
    pub sessions: usize,
    /// Decode workload: video-hw decodes the one input with `auto` (the default, as
    /// `video-hw decode` does) or this many sessions at once (`video-hw decode --parallel`:
    /// pieces cut at IDR pictures, several NVDEC engines on NVIDIA), in the process and in the
    /// steady-state runs; FFmpeg decodes it as usual.
    #[arg(long, default_value = "auto", value_name = "auto|N")]
    pub parallel: video_hw::Parallelism,
    /// Decode workload: both sides write the frames to this file (such as `/dev/null`):
    /// `video-hw decode -o PATH`, FFmpeg `-f rawvideo -y PATH`. Without it both discard them
    /// (FFmpeg `-f null`).
    #[arg(long, value_name = "PATH")]
    pub write_to: Option<PathBuf>,
    /// Decode workload: deliver frames in host memory in this format (nv12, i420, rgb24,
    /// rgba, bgra) on both sides (`video-hw decode --to F`, FFmpeg `-pix_fmt F`); without it
    /// frames stay where the decoder puts them.
    #[arg(long = "to")]
    pub to: Option<video_hw::PixelFormat>,
    /// Folder for the reports (bench.json, bench.md), the generated input and the outputs.
    #[arg(long, default_value = "bench-out")]
    pub out: PathBuf,
    /// Picture size of generated input and of the encode workload (the default keeps one
    /// decode run well above process start-up time while a whole bench stays within a few
    /// minutes on 2 cores).
    #[arg(long, default_value = "1280x720")]
    pub size: Dimensions,
    /// Frames of generated input and of the encode workload.
    #[arg(long, default_value_t = 300)]
    pub frames: u64,
    /// Lowest mean PSNR (dB) an encode output must reach to pass verification.
    #[arg(long, default_value_t = 30.0)]
    pub min_psnr: f64,
    #[command(flatten)]
    pub enc: EncodeOpts,
    #[command(flatten)]
    pub common: crate::Common,
}

/// Everything a workload needs that is decided once per run.
struct Run<'a> {
    args: &'a BenchArgs,
    exe: PathBuf,
    backend: Backend,
    ff: Ffmpeg,
    metrics: Metrics,
    /// The pattern pictures (generated once, when a workload needs them).
    raw: Option<Arc<Vec<Vec<u8>>>>,
    /// OUT/input.yuv, once written.
    raw_file: Option<PathBuf>,
}

/// Runs the bench.
pub fn run(args: BenchArgs) -> Result<ExitCode> {
    if args.repeat == 0 || args.sessions == 0 || args.frames == 0 {
        crate::json_out::usage!("--repeat, --sessions and --frames must be at least 1");
    }
    let date_utc = utc_now();
    let ff = Ffmpeg::new(args.ffmpeg.clone(), args.threads, args.preset.clone());
    let ff_version = ff
        .version()
        .context("bench compares against FFmpeg: give its path with --ffmpeg")?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let exe = std::env::current_exe().context("cannot find the video-hw binary")?;
    let (backend, implementation) = resolve_backend(&args)?;
    let mut run = Run {
        args: &args,
        exe,
        backend,
        ff,
        metrics: Metrics::new(),
        raw: None,
        raw_file: None,
    };
    run.metrics.set_backend(backend.to_string());
    let mut workloads = Vec::new();
    let mut codec = args.enc.codec;
    if matches!(args.workload, WorkloadKind::Decode | WorkloadKind::Both) {
        let (w, c) = run.decode_workload()?;
        codec = c;
        workloads.push(w);
    }
    if matches!(args.workload, WorkloadKind::Encode | WorkloadKind::Both) {
        workloads.push(run.encode_workload()?);
    }
    let all_passed = workloads.iter().flat_map(|w| &w.verify).all(|v| v.passed);
    let report = BenchReport {
        schema_version: report::BENCH_SCHEMA_VERSION,
        date_utc,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine: Machine::here(),
        backend_requested: args.common.backend.to_string(),
        backend: backend.to_string(),
        implementation,
        codec: codec.to_string(),
        size: report_size(&args),
        fps: args.enc.fps().to_string(),
        sessions: args.sessions,
        warmup: args.warmup,
        repeat: args.repeat,
        equal_raw_input: args.equal_raw_input,
        ffmpeg: FfmpegInfo {
            path: args.ffmpeg.display().to_string(),
            version: ff_version,
            threads: args.threads,
            preset: args.preset.clone(),
        },
        workloads,
        verified: args.verify,
        all_verify_passed: all_passed,
        metrics: run.metrics.report(),
    };
    let json = serde_json::to_string_pretty(&report)?;
    let json_path = args.out.join("bench.json");
    let md_path = args.out.join("bench.md");
    std::fs::write(&json_path, format!("{json}\n"))
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    std::fs::write(&md_path, report.to_markdown())
        .with_context(|| format!("cannot write {}", md_path.display()))?;
    crate::json_out::emit(&args.common, false, &report)?;
    if !args.common.quiet {
        for w in &report.workloads {
            eprintln!(
                "{} {}: video-hw {:.1} fps (process), {:.1} fps (steady state); FFmpeg {:.1} fps; ratio {} (process), {} (steady state)",
                report.codec,
                w.name,
                w.video_hw.process.fps,
                w.video_hw.steady_state.as_ref().map_or(0.0, |s| s.fps),
                w.ffmpeg.process.fps,
                fmt_ratio(w.ratio_process),
                fmt_ratio(w.ratio_steady_state),
            );
            for v in w.verify.iter().filter(|v| !v.passed) {
                eprintln!("  verify FAILED: {} / {}: {}", v.subject, v.check, v.detail);
            }
        }
        if args.verify {
            let n: usize = report.workloads.iter().map(|w| w.verify.len()).sum();
            eprintln!(
                "verification: {}",
                if all_passed {
                    format!("all {n} checks passed")
                } else {
                    "FAILED".to_owned()
                }
            );
        }
        eprintln!("reports: {} and {}", md_path.display(), json_path.display());
    }
    Ok(if all_passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Resolves `auto` once, so that both sides and every child use the same backend: the backend
/// of an encoder for the codec, else of a decoder (a decode-only backend).
fn resolve_backend(args: &BenchArgs) -> Result<(Backend, String)> {
    let codec = args.enc.codec;
    let enc_err = match EncodeSession::new(args.common.backend, args.enc.config(args.size)) {
        Ok(s) => return Ok((s.backend(), s.summary().origin.implementation)),
        Err(e) => e,
    };
    match DecodeSession::new(args.common.backend, DecoderConfig::new(codec)) {
        Ok(s) => Ok((s.backend(), s.summary().origin.implementation)),
        Err(dec_err) => bail!(
            "backend {} has no {codec} encoder ({enc_err}) nor decoder ({dec_err})",
            args.common.backend
        ),
    }
}

/// The picture size the report names: the input's (first SPS) when only a given stream is
/// decoded, else the size of the generated pattern.
fn report_size(args: &BenchArgs) -> String {
    match (&args.input, args.workload) {
        (Some(path), WorkloadKind::Decode) => {
            crate::decode_source::Source::open(path, None, 64 << 10)
                .ok()
                .and_then(|s| s.size)
                .map_or_else(|| "input's own size".to_owned(), |d| d.to_string())
        }
        _ => args.size.to_string(),
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or("n/a".to_owned(), |r| format!("{r:.2}x"))
}

fn codec_ext(codec: Codec) -> &'static str {
    if codec == Codec::Hevc { "h265" } else { "h264" }
}

impl Run<'_> {
    fn say(&self, msg: &str) {
        if !self.args.common.quiet {
            eprintln!("bench: {msg}");
        }
    }

    /// The pattern pictures, generated on first use.
    fn raw(&mut self) -> Arc<Vec<Vec<u8>>> {
        let size = self.args.size;
        let frames = self.args.frames;
        Arc::clone(self.raw.get_or_insert_with(|| {
            Arc::new((0..frames).map(|i| pattern::i420_frame(size, i)).collect())
        }))
    }

    /// OUT/input.yuv with the pattern pictures, written on first use.
    fn raw_file(&mut self) -> Result<PathBuf> {
        if let Some(p) = &self.raw_file {
            return Ok(p.clone());
        }
        let path = self.args.out.join("input.yuv");
        let raw = self.raw();
        let mut bytes = Vec::with_capacity(raw.iter().map(Vec::len).sum());
        for f in raw.iter() {
            bytes.extend_from_slice(f);
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        self.raw_file = Some(path.clone());
        Ok(path)
    }

    fn raw_source(&mut self) -> Result<RawSource> {
        Ok(RawSource::File {
            path: self.raw_file()?,
            size: self.args.size,
            fps: self.args.enc.fps().to_string(),
        })
    }

    /// The decode input: the user's stream, or one generated from the pattern.
    fn decode_input(&mut self) -> Result<(PathBuf, Codec)> {
        if let Some(p) = &self.args.input {
            let mut r = input_file::open(p)?;
            let head = input_file::read_up_to(&mut *r, 64 * 1024)?;
            return Ok((p.clone(), input_file::detect_codec(None, p, &head)?.0));
        }
        let codec = self.args.enc.codec;
        let path = self.args.out.join(format!("input.{}", codec_ext(codec)));
        let config = self.args.enc.config(self.args.size);
        match self.encode_in_memory(&config) {
            Ok(stream) => {
                std::fs::write(&path, stream)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                self.say(&format!(
                    "decode input: {} frames of the pattern encoded by video-hw into {}",
                    self.args.frames,
                    path.display()
                ));
            }
            Err(e) => {
                self.say(&format!(
                    "video-hw cannot encode {codec} here ({e:#}); FFmpeg generates the decode input"
                ));
                let src = self.raw_source()?;
                let args =
                    self.ff
                        .encode_args(Backend::Software, &config, &src, self.args.frames, &path);
                self.ff.run(&args)?;
            }
        }
        Ok((path, codec))
    }

    fn encode_in_memory(&mut self, config: &EncoderConfig) -> Result<Vec<u8>> {
        let raw = self.raw();
        let mut session = EncodeSession::new(self.backend, config.clone())?;
        let mut stream = Vec::new();
        let size = self.args.size;
        for f in raw.iter() {
            let picture = video_hw::EncodeInput::packed(PixelFormat::I420, size, f.clone())?;
            super::submit_encode(&mut session, picture, &mut |c| {
                stream.extend_from_slice(&c?.data);
                Ok(())
            })?;
        }
        super::finish_encode(&mut session, &mut |c| {
            stream.extend_from_slice(&c?.data);
            Ok(())
        })?;
        Ok(stream)
    }

    fn decode_workload(&mut self) -> Result<(Workload, Codec)> {
        let (input, codec) = self.decode_input()?;
        let data =
            std::fs::read(&input).with_context(|| format!("cannot read {}", input.display()))?;
        let aus = bitstream::assemble_annexb(codec, &data);
        let units: Vec<Vec<u8>> = aus.iter().map(|au| au.to_annexb()).collect();
        let units = Arc::new(units);
        let to = self.args.to;
        let gpu = self.args.common.gpu;
        let config = DecoderConfig::new(codec)
            .with_gpu(gpu)
            .with_output(match to {
                Some(f) => DecodeOutput::Cpu(f),
                None => DecodeOutput::MetadataOnly,
            });
        let in_str = input.display().to_string();
        let mut vh_args: Vec<String> = [
            "decode",
            &in_str,
            "--codec",
            codec.name(),
            "--backend",
            &self.backend.to_string(),
            "--quiet",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        if let Some(f) = to {
            vh_args.extend(["--to".to_owned(), f.to_string()]);
        }
        if gpu != 0 {
            vh_args.extend(["--gpu".to_owned(), gpu.to_string()]);
        }
        let parallel = match (self.args.parallel, self.args.sessions) {
            (video_hw::Parallelism::Sessions(n), s) if n > 1 && s > 1 => {
                bail!("--parallel and --sessions exclude each other")
            }
            (_, s) if s > 1 => video_hw::Parallelism::Sessions(1),
            (p, _) => p,
        };
        vh_args.extend(["--parallel".to_owned(), parallel.to_string()]);
        let write_to = self.args.write_to.as_deref();
        if let Some(path) = write_to {
            vh_args.extend(["-y".to_owned(), "-o".to_owned(), path.display().to_string()]);
        }
        let plan = video_hw::ParallelPlan::new(self.backend, config.clone(), &aus, parallel);
        let plan = (plan.sessions() > 1).then_some(plan);
        let parallel = plan.as_ref().map_or(1, video_hw::ParallelPlan::sessions);
        drop(aus);
        let ff_args = self.ff.decode_args(self.backend, &input, to, write_to);
        let sessions = self.args.sessions;
        let (mut vh_t, mut ff_t, mut st_t) = (Vec::new(), Vec::new(), Vec::new());
        let (mut vh_u, mut ff_u) = (Vec::new(), Vec::new());
        let mut frames_per_session = None;
        let total = self.args.warmup + self.args.repeat;
        for i in 0..total {
            let timed = i >= self.args.warmup;
            self.say(&format!(
                "decode run {}/{total}{}",
                i + 1,
                if timed { "" } else { " (warm-up)" }
            ));
            let monitor = super::utilization_monitor(self.backend, gpu);
            let v = time_processes(&self.exe, &vh_args, sessions, |_| None)?;
            let v_u = monitor.map(|m| m.stop());
            let monitor = super::utilization_monitor(self.backend, gpu);
            let f = time_processes(&self.ff.ffmpeg, &ff_args, sessions, |_| None)?;
            let f_u = monitor.map(|m| m.stop());
            let s = match &plan {
                Some(plan) => inproc::decode_parallel(self.backend, plan, &self.metrics)?,
                None => inproc::decode(self.backend, &config, &units, sessions, &self.metrics)?,
            };
            let per = s.outputs / sessions as u64;
            match frames_per_session {
                None => frames_per_session = Some(per),
                Some(n) if n != per => {
                    bail!(
                        "decode gave {per} frames per session in run {}, {n} before",
                        i + 1
                    )
                }
                Some(_) => {}
            }
            if timed {
                vh_t.push(v);
                ff_t.push(f);
                st_t.push(s.seconds);
                vh_u.extend(v_u);
                ff_u.extend(f_u);
            }
        }
        let frames = frames_per_session.unwrap_or(0) * sessions as u64;
        let video_hw = Side {
            command: command_line(&self.exe, &vh_args),
            process: TimingStats::new(frames, vh_t),
            steady_state: Some(TimingStats::new(frames, st_t)),
            utilization: UtilizationReport::combine(&vh_u),
        };
        let ffmpeg = Side {
            command: command_line(&self.ff.ffmpeg, &ff_args),
            process: TimingStats::new(frames, ff_t),
            steady_state: None,
            utilization: UtilizationReport::combine(&ff_u),
        };
        let verify = if self.args.verify {
            self.verify_decode(&input, codec, frames_per_session.unwrap_or(0))?
        } else {
            Vec::new()
        };
        Ok((
            Workload {
                name: match (to, parallel) {
                    (Some(f), 1) => format!("decode to {f}"),
                    (None, 1) => "decode".into(),
                    (Some(f), n) => format!("decode to {f}, {n} sessions in parallel on one input"),
                    (None, n) => format!("decode, {n} sessions in parallel on one input"),
                },
                input: in_str,
                ratio_process: ratio(video_hw.process.fps, ffmpeg.process.fps),
                ratio_steady_state: video_hw
                    .steady_state
                    .as_ref()
                    .and_then(|s| ratio(s.fps, ffmpeg.process.fps)),
                video_hw,
                ffmpeg,
                verify,
            },
            codec,
        ))
    }

    fn verify_decode(&self, input: &Path, codec: Codec, frames: u64) -> Result<Vec<VerifyLine>> {
        let mut lines = Vec::new();
        let subject = "input stream";
        match self.ff.probe(input) {
            Ok(p) => {
                let want_codec = if codec == Codec::Hevc { "hevc" } else { "h264" };
                lines.push(VerifyLine {
                    subject: subject.into(),
                    check: "ffprobe codec and frame count".into(),
                    passed: p.codec == want_codec && p.frames == frames && p.frames > 0,
                    detail: format!(
                        "ffprobe: {} {}x{}, {} frames; video-hw decoded {frames} frames",
                        p.codec, p.width, p.height, p.frames
                    ),
                });
            }
            Err(e) => lines.push(failed(subject, "ffprobe", &e)),
        }
        lines.push(self.ffmpeg_decode_line(subject, input));
        // Bit-exact comparison of the decoded pictures with FFmpeg's decoder.
        let ours = Command::new(&self.exe)
            .args([
                "decode",
                &input.display().to_string(),
                "--md5",
                "--quiet",
                "--codec",
                codec.name(),
                "--backend",
                &self.backend.to_string(),
            ])
            .output()
            .context("running video-hw decode --md5")?;
        let ours_md5 = String::from_utf8_lossy(&ours.stdout).trim().to_owned();
        match self.ff.decoded_md5(input) {
            Ok(theirs) => lines.push(VerifyLine {
                subject: "video-hw decode".into(),
                check: "md5 of decoded I420 vs FFmpeg".into(),
                passed: ours.status.success() && ours_md5 == theirs,
                detail: format!("video-hw {ours_md5}, FFmpeg {theirs}"),
            }),
            Err(e) => lines.push(failed("video-hw decode", "md5 vs FFmpeg", &e)),
        }
        Ok(lines)
    }

    fn ffmpeg_decode_line(&self, subject: &str, path: &Path) -> VerifyLine {
        match self.ff.decode_errors(path) {
            Ok(errors) => VerifyLine {
                subject: subject.into(),
                check: "ffmpeg -v error decode".into(),
                passed: errors.is_empty(),
                detail: if errors.is_empty() {
                    "no errors".into()
                } else {
                    errors.lines().take(3).collect::<Vec<_>>().join("; ")
                },
            },
            Err(e) => failed(subject, "ffmpeg -v error decode", &e),
        }
    }

    fn encode_workload(&mut self) -> Result<Workload> {
        let args = self.args;
        let config = args.enc.config(args.size);
        let ext = codec_ext(config.codec);
        let raw_file = if args.equal_raw_input || args.verify {
            Some(self.raw_file()?)
        } else {
            None
        };
        let fps = args.enc.fps().to_string();
        let ff_source = match (&raw_file, args.equal_raw_input) {
            (Some(path), true) => RawSource::File {
                path: path.clone(),
                size: args.size,
                fps: fps.clone(),
            },
            _ => RawSource::TestSrc {
                size: args.size,
                fps: fps.clone(),
            },
        };
        let out_of = |who: &str, i: usize| {
            if i == 0 {
                args.out.join(format!("{who}.{ext}"))
            } else {
                args.out.join(format!("{who}-s{i}.{ext}"))
            }
        };
        let pictures = Arc::new(inproc::Pictures::new(args.size, &self.raw())?);
        let mut vh_args: Vec<String> = vec!["encode".into()];
        match (&raw_file, args.equal_raw_input) {
            (Some(path), true) => vh_args.push(path.display().to_string()),
            _ => vh_args.push("--pattern".into()),
        }
        let rc = &args.enc;
        vh_args.extend(
            [
                "--size",
                &args.size.to_string(),
                "--frames",
                &args.frames.to_string(),
                "--codec",
                rc.codec.name(),
                "--bitrate",
                &rc.bitrate.to_string(),
                "--rc",
                &rc.rc,
                "--qp",
                &rc.qp.to_string(),
                "--fps",
                &fps,
                "--gop",
                &rc.gop.to_string(),
                "--bframes",
                &rc.b_frames.to_string(),
                "--backend",
                &self.backend.to_string(),
                "--quiet",
                // Repeated runs write the same outputs.
                "-y",
            ]
            .iter()
            .map(|s| (*s).to_owned()),
        );
        if rc.low_latency {
            vh_args.push("--low-latency".into());
        }
        let vh_out = |i: usize| {
            let mut a = vh_args.clone();
            a.extend(["-o".to_owned(), out_of("video-hw", i).display().to_string()]);
            Some(a)
        };
        let ff_out = |i: usize| {
            Some(self.ff.encode_args(
                self.backend,
                &config,
                &ff_source,
                args.frames,
                &out_of("ffmpeg", i),
            ))
        };
        let sessions = args.sessions;
        let (mut vh_t, mut ff_t, mut st_t) = (Vec::new(), Vec::new(), Vec::new());
        let total = args.warmup + args.repeat;
        for i in 0..total {
            let timed = i >= args.warmup;
            self.say(&format!(
                "encode run {}/{total}{}",
                i + 1,
                if timed { "" } else { " (warm-up)" }
            ));
            let v = time_processes(&self.exe, &[], sessions, vh_out)?;
            let f = time_processes(&self.ff.ffmpeg, &[], sessions, ff_out)?;
            let s = inproc::encode(self.backend, &config, &pictures, sessions, &self.metrics)?;
            let want = args.frames * sessions as u64;
            if s.outputs != want {
                bail!(
                    "in-process encode gave {} chunks for {want} frames",
                    s.outputs
                );
            }
            if timed {
                vh_t.push(v);
                ff_t.push(f);
                st_t.push(s.seconds);
            }
        }
        let frames = args.frames * sessions as u64;
        let video_hw = Side {
            command: command_line(&self.exe, &vh_out(0).unwrap_or_default()),
            process: TimingStats::new(frames, vh_t),
            steady_state: Some(TimingStats::new(frames, st_t)),
            // Encode: NVENC has no utilisation reading here (decode workloads only).
            utilization: None,
        };
        let ffmpeg = Side {
            command: command_line(&self.ff.ffmpeg, &ff_out(0).unwrap_or_default()),
            process: TimingStats::new(frames, ff_t),
            steady_state: None,
            utilization: None,
        };
        let mut verify = Vec::new();
        if args.verify {
            let reference = self.raw_source()?;
            verify.extend(self.verify_encode(
                "video-hw output",
                &out_of("video-hw", 0),
                &config,
                &reference,
            ));
            verify.extend(self.verify_encode(
                "FFmpeg output",
                &out_of("ffmpeg", 0),
                &config,
                &ff_source,
            ));
        }
        Ok(Workload {
            name: "encode".into(),
            input: match (&raw_file, args.equal_raw_input) {
                (Some(p), true) => p.display().to_string(),
                _ => "pattern (video-hw) / testsrc2 (FFmpeg)".into(),
            },
            ratio_process: ratio(video_hw.process.fps, ffmpeg.process.fps),
            ratio_steady_state: video_hw
                .steady_state
                .as_ref()
                .and_then(|s| ratio(s.fps, ffmpeg.process.fps)),
            video_hw,
            ffmpeg,
            verify,
        })
    }

    fn verify_encode(
        &self,
        subject: &str,
        path: &Path,
        config: &EncoderConfig,
        reference: &RawSource,
    ) -> Vec<VerifyLine> {
        let mut lines = Vec::new();
        let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
        match self.ff.probe(path) {
            Ok(p) => {
                let want_codec = if config.codec == Codec::Hevc {
                    "hevc"
                } else {
                    "h264"
                };
                let (w, h) = (
                    u64::from(config.dimensions.width()),
                    u64::from(config.dimensions.height()),
                );
                lines.push(VerifyLine {
                    subject: subject.into(),
                    check: "ffprobe codec, size and frame count".into(),
                    passed: p.codec == want_codec
                        && (p.width, p.height) == (w, h)
                        && p.frames == self.args.frames,
                    detail: format!(
                        "{} {}x{}, {} frames (want {want_codec} {w}x{h}, {}), {bytes} bytes",
                        p.codec, p.width, p.height, p.frames, self.args.frames
                    ),
                });
            }
            Err(e) => lines.push(failed(subject, "ffprobe", &e)),
        }
        lines.push(self.ffmpeg_decode_line(subject, path));
        match self.ff.psnr(path, reference, self.args.frames) {
            Ok(db) => lines.push(VerifyLine {
                subject: subject.into(),
                check: "psnr vs input (ffmpeg psnr filter)".into(),
                passed: db >= self.args.min_psnr,
                detail: format!("{db:.2} dB mean (min {:.1} dB)", self.args.min_psnr),
            }),
            Err(e) => lines.push(failed(subject, "psnr", &e)),
        }
        lines
    }
}

fn failed(subject: &str, check: &str, e: &anyhow::Error) -> VerifyLine {
    VerifyLine {
        subject: subject.into(),
        check: check.into(),
        passed: false,
        detail: format!("{e:#}"),
    }
}

fn command_line(program: &Path, args: &[String]) -> String {
    std::iter::once(program.display().to_string())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Starts `sessions` processes of `program` at once and returns the wall time until the last
/// one exits. Process `i` gets `per_session(i)` as its arguments, or `args` when that is `None`.
fn time_processes(
    program: &Path,
    args: &[String],
    sessions: usize,
    per_session: impl Fn(usize) -> Option<Vec<String>>,
) -> Result<f64> {
    let start = Instant::now();
    let mut children = Vec::with_capacity(sessions);
    for i in 0..sessions {
        let a = per_session(i).unwrap_or_else(|| args.to_vec());
        let child = Command::new(program)
            .args(&a)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        children.push((child, a));
    }
    let mut failures = Vec::new();
    for (child, a) in children {
        let out = child.wait_with_output()?;
        if !out.status.success() {
            failures.push(format!(
                "{} ({}): {}",
                command_line(program, &a),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    if let Some(f) = failures.first() {
        bail!("{f}");
    }
    Ok(seconds)
}
