//! `video-hw-nvbench`: decode throughput of N concurrent sessions on one input.
//!
//! ```text
//! video-hw-nvbench --input in1080.h264 --codec h264 --sessions 7 --output gpu [--runs 3] [--backend nvidia]
//! ```
//! Each session runs on a thread of its own and decodes the whole file through
//! `DecodeSession` (Annex-B chunks in, frames reaped and dropped). Sessions are created
//! before the clock starts (decoder creation excluded, as PyNvVideoCodec's figure is); the
//! clock stops when the last session has flushed its last frame (closing the sessions is not
//! timed). Prints one JSON object: the median run's
//! frames, seconds and aggregate fps, every run's fps, and the NVDEC counters.
//!
//! The reaping thread waits in `reap_timeout` when nothing is ready (it wakes as soon as a
//! frame arrives); `--poll` makes it spin on `try_reap` instead (yielding), which costs a core
//! per session. `--queue` sets the session's output queue (default 32 frames). Every run also
//! reports the process's CPU time, so a figure limited by the host shows as such.
//!
//! Input goes in 64 KiB chunks (`--chunk`): the session's flush buffers every frame of the
//! inputs still in flight, so 1 MiB chunks (about 50 pictures each at 1080p, 8 in flight) kept
//! hundreds of frames, and their pooled buffers, alive at the end of every stream, and the
//! pools fell back to allocating (`cuMemAlloc`, which serialises the sessions).

use anyhow::{Context, Result, bail};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use video_hw::{
    Backend, Codec, DecodeInput, DecodeOutput, DecodeSession, DecoderConfig, PixelFormat,
};

struct Args {
    input: String,
    codec: Codec,
    sessions: usize,
    output: DecodeOutput,
    runs: usize,
    backend: Backend,
    chunk: usize,
    queue: usize,
    poll: bool,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        input: String::new(),
        codec: Codec::H264,
        sessions: 1,
        output: DecodeOutput::Gpu,
        runs: 3,
        backend: Backend::Nvidia,
        chunk: 64 << 10,
        queue: 32,
        poll: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--input" => a.input = value()?,
            "--codec" => a.codec = value()?.parse()?,
            "--sessions" => a.sessions = value()?.parse()?,
            "--runs" => a.runs = value()?.parse()?,
            "--backend" => a.backend = value()?.parse()?,
            "--chunk" => a.chunk = value()?.parse()?,
            "--queue" => a.queue = value()?.parse()?,
            "--wait" => a.poll = false,
            "--poll" => a.poll = true,
            "--output" => {
                a.output = match value()?.as_str() {
                    "gpu" => DecodeOutput::Gpu,
                    "native" => DecodeOutput::Native,
                    "metadata" => DecodeOutput::MetadataOnly,
                    other => match other.strip_prefix("gpu-") {
                        Some(f) => DecodeOutput::GpuConverted(f.parse::<PixelFormat>()?),
                        None => DecodeOutput::Cpu(other.parse::<PixelFormat>()?),
                    },
                }
            }
            "-h" | "--help" => {
                println!(
                    "video-hw-nvbench --input FILE --codec h264|hevc --sessions N \
                     --output gpu|gpu-rgb24|nv12|i420|rgb24|rgba|bgra|native|metadata [--runs R] [--backend B] \
                     [--chunk BYTES] [--queue FRAMES] [--poll]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    if a.input.is_empty() || a.sessions == 0 || a.runs == 0 || a.chunk == 0 || a.queue == 0 {
        bail!("--input is required; --sessions, --runs and --chunk must be positive");
    }
    Ok(a)
}

/// Takes every frame ready now; whether there was any.
fn reap_some(dec: &mut DecodeSession, frames: &mut u64) -> Result<bool> {
    let mut any = false;
    while dec.try_reap()?.is_some() {
        *frames += 1;
        any = true;
    }
    Ok(any)
}

/// Decodes `data` once through `dec`; returns the frame count. With `poll`, the caller
/// never sleeps waiting for frames (it yields), so the worker never has to wake it.
fn decode_once(dec: &mut DecodeSession, data: &[u8], chunk: usize, poll: bool) -> Result<u64> {
    let mut frames = 0u64;
    for piece in data.chunks(chunk) {
        let mut input = DecodeInput::annexb(piece);
        // try_submit + reap: never block in submit while the worker waits for us to reap.
        while let Err(rejected) = dec.try_submit(input) {
            input = rejected.input;
            if !reap_some(dec, &mut frames)? {
                if poll {
                    std::thread::yield_now();
                } else if dec.reap_timeout(Duration::from_millis(5))?.is_some() {
                    frames += 1;
                }
            }
        }
        reap_some(dec, &mut frames)?;
    }
    dec.flush()?;
    reap_some(dec, &mut frames)?;
    Ok(frames)
}

/// CPU time of this process so far (user + system), from `/proc/self/stat`; 0 where that
/// file does not exist.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (indices 11 and 12 here), in clock ticks of
    // 1/100 s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// One run: `n` sessions created, then timed together. Returns (frames, seconds, CPU seconds).
fn run(args: &Args, data: &Arc<Vec<u8>>) -> Result<(u64, f64, f64)> {
    let barrier = Arc::new(Barrier::new(args.sessions + 1));
    let mut threads = Vec::new();
    for _ in 0..args.sessions {
        let (barrier, data) = (barrier.clone(), data.clone());
        let mut config = DecoderConfig::new(args.codec).with_output(args.output);
        config.output_queue = args.queue;
        let (backend, chunk, poll) = (args.backend, args.chunk, args.poll);
        threads.push(std::thread::spawn(
            move || -> Result<(u64, Instant, DecodeSession)> {
                let session = DecodeSession::new(backend, config);
                barrier.wait();
                let mut dec = session?;
                let n = decode_once(&mut dec, &data, chunk, poll)?;
                // The session is closed after the clock stops: decoder creation and
                // destruction are both outside the figure.
                Ok((n, Instant::now(), dec))
            },
        ));
    }
    barrier.wait();
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let mut frames = 0;
    let mut last = started;
    let mut sessions = Vec::new();
    for t in threads {
        let (n, done, dec) = t
            .join()
            .map_err(|_| anyhow::anyhow!("session thread panicked"))??;
        frames += n;
        last = last.max(done);
        sessions.push(dec);
    }
    let cpu = cpu_seconds() - cpu_before;
    drop(sessions);
    Ok((frames, (last - started).as_secs_f64(), cpu))
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let data = Arc::new(std::fs::read(&args.input).with_context(|| args.input.clone())?);
    // Warm-up: driver, context and allocator start-up are not what is measured.
    let warm = Args {
        sessions: 1,
        ..parse_args()?
    };
    run(&warm, &data)?;
    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    let monitor = video_hw::diagnostics::utilization_monitor(0).ok();
    let mut results = Vec::new();
    for _ in 0..args.runs {
        results.push(run(&args, &data)?);
    }
    // NVDEC and GPU utilisation over the timed runs (session opening and closing included).
    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    let utilization = serde_json::to_value(monitor.map(|m| m.stop()))?;
    #[cfg(not(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    )))]
    let utilization = serde_json::Value::Null;
    let mut by_fps = results.clone();
    by_fps.sort_by(|a, b| (a.0 as f64 / a.1).total_cmp(&(b.0 as f64 / b.1)));
    let (frames, seconds, cpu) = by_fps[by_fps.len() / 2];
    let output = match args.output {
        DecodeOutput::Gpu => "gpu".to_string(),
        DecodeOutput::Native => "native".to_string(),
        DecodeOutput::MetadataOnly => "metadata".to_string(),
        DecodeOutput::Cpu(f) => f.to_string(),
        DecodeOutput::GpuConverted(f) => format!("gpu-{f}"),
    };
    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    let counters = serde_json::to_value(video_hw::diagnostics::nvdec_counters())?;
    #[cfg(not(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    )))]
    let counters = serde_json::Value::Null;
    let env: Vec<String> = [
        "VIDEO_HW_NV_SYNC",
        "VIDEO_HW_NV_CONTEXT",
        "VIDEO_HW_NV_COPY",
        "VIDEO_HW_NV_DISPLAY_DELAY",
    ]
    .iter()
    .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
    .collect();
    let report = serde_json::json!({
        "input": args.input,
        "codec": args.codec.name(),
        "backend": args.backend.name(),
        "sessions": args.sessions,
        "output": output,
        "frames": frames,
        "seconds": seconds,
        "fps": frames as f64 / seconds,
        "output_queue": args.queue,
        "reaper": if args.poll { "poll" } else { "wait" },
        "runs_fps": results.iter().map(|(f, s, _)| *f as f64 / s).collect::<Vec<_>>(),
        "cpu_seconds": cpu,
        "cpu_cores_busy": cpu / seconds,
        "env": env,
        "counters": counters,
        "utilization": utilization,
    });
    println!("{report}");
    Ok(())
}
