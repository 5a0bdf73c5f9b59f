//! `video-hw soak`: a long pattern -> encode -> decode -> transform (RGB) -> encode loop with
//! periodic session switches, watching host memory (RSS) and counting every frame.
//!
//! Exit status: 0 when no frame was lost, no error occurred and the RSS growth after the
//! warm-up stayed within `--max-rss-growth-mb`; 1 otherwise.
//!
//! The default bound, 32 MB of fitted growth after the warm-up, sits far above the noise of a
//! healthy run (the loop keeps only a handful of frames in flight, each under 1 MB at 640x360
//! RGB, and the allocator's arenas settle during the warm-up) and below what a leak produces
//! over a 5-minute run: a leaked frame-sized buffer or session per switch (dozens of switches),
//! or a few KB per frame (tens of thousands of frames).

mod rss;

use super::{finish_encode, reap_ready_decode, submit_decode, submit_encode};
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use video_hw::transform::{TransformSpec, frame_to_encode_input, transform_frame};
use video_hw::{
    Backend, BitstreamLayout, Codec, DecodeInput, DecodeOutput, DecodeSession, DecodedFrame,
    DecoderConfig, Dimensions, EncodeSession, EncodedChunk, EncoderConfig, PixelFormat,
    RateControl, SessionSwitchRequest, SwitchMode, SwitchStats, VideoError, pattern,
};

/// Arguments of `soak`.
#[derive(Args, Debug)]
pub struct SoakArgs {
    /// How long to run: e.g. 30s, 5m, 1h (a bare number is seconds).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Duration,
    /// Switch the encoders' configuration every N frames, alternating a bitrate change and a
    /// size change (0: never).
    #[arg(long, default_value_t = 300)]
    pub switch_every: u64,
    /// Picture size of the pattern (the other size used by switches is 3/4 of it).
    #[arg(long, default_value = "640x360")]
    pub size: Dimensions,
    /// Codec of both encoders.
    #[arg(long, default_value = "h264")]
    pub codec: Codec,
    /// Largest RSS growth (MB, least-squares fit over the samples after the warm-up) that
    /// still passes.
    #[arg(long, default_value_t = 32.0)]
    pub max_rss_growth_mb: f64,
    /// Warm-up excluded from the RSS trend (default: 20 % of the duration, at most 60 s).
    #[arg(long, value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    #[command(flatten)]
    pub common: crate::Common,
}

/// Parses `90`, `90s`, `5m`, `1h`, `500ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 30s, 5m or 1h"))?;
    let secs = match unit {
        "ms" => v / 1000.0,
        "s" => v,
        "m" | "min" => v * 60.0,
        "h" => v * 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (ms, s, m, h)")),
    };
    if !(0.0..=30.0 * 86_400.0).contains(&secs) || secs == 0.0 {
        return Err(format!("duration `{s}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Frames into and out of one stage.
#[derive(Debug, Default, Clone, Serialize)]
struct StageCount {
    stage: &'static str,
    frames_in: u64,
    frames_out: u64,
}

#[derive(Debug, Serialize)]
struct RssReport {
    available: bool,
    source: Option<&'static str>,
    warmup_s: f64,
    sample_interval_s: f64,
    /// `[seconds since start, MB]`.
    samples: Vec<(f64, f64)>,
    start_mb: Option<f64>,
    end_mb: Option<f64>,
    peak_mb: Option<f64>,
    slope_mb_per_min: Option<f64>,
    growth_after_warmup_mb: Option<f64>,
    bound_mb: f64,
    within_bound: bool,
}

#[derive(Debug, Serialize)]
struct SoakReport {
    date_utc: String,
    duration_s: f64,
    backend: String,
    implementation: String,
    codec: String,
    sizes: [String; 2],
    switch_every: u64,
    frames_generated: u64,
    frames_out: u64,
    frames_lost: u64,
    stages: Vec<StageCount>,
    first_encoder_switches: SwitchStats,
    second_encoder_switches: SwitchStats,
    errors: u64,
    error_messages: Vec<String>,
    rss: RssReport,
    gpu_memory: String,
    passed: bool,
}

/// The four configurations a switch cycles through: each switch changes either the bitrate
/// or the size, alternately.
fn schedule(base: &EncoderConfig, alt: Dimensions) -> [EncoderConfig; 4] {
    let with = |size: Dimensions, bitrate: u32| {
        let mut c = base.clone();
        c.dimensions = size;
        c.rate_control = RateControl::Vbr {
            bitrate,
            max_bitrate: bitrate * 2,
        };
        c
    };
    let base_size = base.dimensions;
    [
        with(base_size, 2_000_000),
        with(base_size, 1_000_000),
        with(alt, 1_000_000),
        with(alt, 2_000_000),
    ]
}

fn three_quarters(size: Dimensions) -> Result<Dimensions> {
    let shrink = |v: u32| ((v * 3 / 4) & !1).max(16);
    Ok(Dimensions::new(
        shrink(size.width()),
        shrink(size.height()),
    )?)
}

struct Loop {
    dec: DecodeSession,
    enc_b: EncodeSession,
    out_size: Dimensions,
    counts: [StageCount; 4],
    errors: u64,
    messages: Vec<String>,
    chunks_b: u64,
}

impl Loop {
    fn error(&mut self, e: impl std::fmt::Display) {
        self.errors += 1;
        if self.messages.len() < 10 {
            self.messages.push(e.to_string());
        }
    }

    /// Decodes the chunks of the first encoder, converts every frame to RGB at the output size
    /// and encodes it again.
    fn feed(&mut self, chunks: Vec<Result<EncodedChunk, VideoError>>) -> Result<()> {
        let mut frames: Vec<Result<DecodedFrame, VideoError>> = Vec::new();
        for c in chunks {
            match c {
                Ok(c) => {
                    self.counts[0].frames_out += 1;
                    self.counts[1].frames_in += 1;
                    submit_decode(&mut self.dec, DecodeInput::annexb(c.data), &mut |f| {
                        frames.push(f);
                        Ok(())
                    })?;
                }
                Err(e) => self.error(format!("first encoder: {e}")),
            }
        }
        reap_ready_decode(&mut self.dec, &mut |f| {
            frames.push(f);
            Ok(())
        })?;
        self.convert_and_encode(frames)
    }

    fn convert_and_encode(&mut self, frames: Vec<Result<DecodedFrame, VideoError>>) -> Result<()> {
        let spec = TransformSpec::to(PixelFormat::Rgb24).with_size(self.out_size);
        let mut chunks = 0u64;
        let mut errs = Vec::new();
        for f in frames {
            let frame = match f {
                Ok(f) => f,
                Err(e) => {
                    self.error(format!("decoder: {e}"));
                    continue;
                }
            };
            self.counts[1].frames_out += 1;
            self.counts[2].frames_in += 1;
            let rgb = match transform_frame(&frame, &spec).and_then(frame_to_encode_input) {
                Ok(rgb) => rgb,
                Err(e) => {
                    self.error(format!("transform: {e}"));
                    continue;
                }
            };
            self.counts[2].frames_out += 1;
            self.counts[3].frames_in += 1;
            submit_encode(&mut self.enc_b, rgb, &mut |c| {
                match c {
                    Ok(_) => chunks += 1,
                    Err(e) => errs.push(e.to_string()),
                }
                Ok(())
            })?;
        }
        self.chunks_b += chunks;
        self.counts[3].frames_out += chunks;
        for e in errs {
            self.error(format!("second encoder: {e}"));
        }
        Ok(())
    }
}

/// Runs the soak.
pub fn run(args: SoakArgs) -> Result<ExitCode> {
    if args.max_rss_growth_mb < 0.0 {
        bail!("--max-rss-growth-mb must not be negative");
    }
    let quiet = args.common.quiet;
    let date_utc = super::bench::utc_now();
    let mut base = EncoderConfig::new(args.codec, args.size);
    base.gop_length = 60;
    base.layout = BitstreamLayout::AnnexB;
    let alt = three_quarters(args.size)?;
    let configs = schedule(&base, alt);
    let mut enc_a =
        EncodeSession::new(args.common.backend, configs[0].clone()).context("opening encoder")?;
    let backend = enc_a.backend();
    let dec = DecodeSession::new(
        backend,
        DecoderConfig::new(args.codec).with_output(DecodeOutput::Cpu(PixelFormat::Nv12)),
    )
    .context("opening decoder")?;
    let enc_b = EncodeSession::new(backend, configs[0].clone()).context("opening encoder")?;
    let mut lp = Loop {
        dec,
        enc_b,
        out_size: args.size,
        counts: [
            StageCount {
                stage: "encode (pattern)",
                ..Default::default()
            },
            StageCount {
                stage: "decode",
                ..Default::default()
            },
            StageCount {
                stage: "transform (RGB24)",
                ..Default::default()
            },
            StageCount {
                stage: "encode (RGB)",
                ..Default::default()
            },
        ],
        errors: 0,
        messages: Vec::new(),
        chunks_b: 0,
    };
    let warmup = args
        .warmup
        .unwrap_or_else(|| (args.duration / 5).min(Duration::from_secs(60)));
    let sample_every = Duration::from_secs(1).min(args.duration / 10);
    let start = Instant::now();
    let mut samples: Vec<(f64, f64)> = rss::current_mb()
        .map(|m| vec![(0.0, m)])
        .unwrap_or_default();
    let mut next_sample = start + sample_every;
    let mut next_progress = start + Duration::from_secs(10);
    let mut state = 0usize;
    let mut size = args.size;
    let mut generated = 0u64;
    while start.elapsed() < args.duration {
        if args.switch_every > 0 && generated > 0 && generated.is_multiple_of(args.switch_every) {
            state = (state + 1) % configs.len();
            let next = configs[state].clone();
            let size_change = next.dimensions != size;
            size = next.dimensions;
            let request = SessionSwitchRequest {
                config: next.clone(),
                mode: if size_change {
                    SwitchMode::DrainThenSwap
                } else {
                    SwitchMode::Immediate
                },
                force_idr_on_activate: size_change,
            };
            if let Err(e) = enc_a.request_session_switch(request) {
                lp.error(format!("switching the first encoder: {e}"));
            }
            // The second encoder always sees the output size: switch its bitrate only.
            let mut b = lp.enc_b.config().clone();
            b.rate_control = next.rate_control;
            if let Err(e) = lp.enc_b.request_session_switch(SessionSwitchRequest {
                config: b,
                mode: SwitchMode::Immediate,
                force_idr_on_activate: false,
            }) {
                lp.error(format!("switching the second encoder: {e}"));
            }
        }
        let picture = pattern::encode_input(size, generated)?;
        generated += 1;
        lp.counts[0].frames_in += 1;
        let mut chunks = Vec::new();
        submit_encode(&mut enc_a, picture, &mut |c| {
            chunks.push(c);
            Ok(())
        })?;
        lp.feed(chunks)?;
        let now = Instant::now();
        if now >= next_sample {
            next_sample = now + sample_every;
            if let Some(mb) = rss::current_mb() {
                samples.push(((now - start).as_secs_f64(), mb));
            }
        }
        if !quiet && now >= next_progress {
            next_progress = now + Duration::from_secs(10);
            eprintln!(
                "soak: {:.0}/{:.0} s, {generated} frames in, {} out, RSS {}, {} errors",
                (now - start).as_secs_f64(),
                args.duration.as_secs_f64(),
                lp.chunks_b,
                samples
                    .last()
                    .map_or("n/a".to_owned(), |s| format!("{:.1} MB", s.1)),
                lp.errors
            );
        }
    }
    // Drain every stage in order.
    let mut chunks = Vec::new();
    finish_encode(&mut enc_a, &mut |c| {
        chunks.push(c);
        Ok(())
    })?;
    lp.feed(chunks)?;
    lp.dec.flush().context("flushing the decoder")?;
    let mut frames = Vec::new();
    reap_ready_decode(&mut lp.dec, &mut |f| {
        frames.push(f);
        Ok(())
    })?;
    lp.convert_and_encode(frames)?;
    let mut tail = 0u64;
    let mut tail_errors = Vec::new();
    finish_encode(&mut lp.enc_b, &mut |c| {
        match c {
            Ok(_) => tail += 1,
            Err(e) => tail_errors.push(e.to_string()),
        }
        Ok(())
    })?;
    lp.chunks_b += tail;
    lp.counts[3].frames_out += tail;
    for e in tail_errors {
        lp.error(format!("second encoder: {e}"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(mb) = rss::current_mb() {
        samples.push((elapsed, mb));
    }
    let a_summary = enc_a.summary();
    let b_summary = lp.enc_b.summary();
    lp.errors += a_summary.switches.failed + b_summary.switches.failed;

    let after: Vec<(f64, f64)> = samples
        .iter()
        .copied()
        .filter(|s| s.0 >= warmup.as_secs_f64())
        .collect();
    let slope_per_s = rss::slope(&after);
    let span = match (after.first(), after.last()) {
        (Some(a), Some(b)) => b.0 - a.0,
        _ => 0.0,
    };
    let growth = slope_per_s.map(|s| s * span);
    let within = growth.is_none_or(|g| g <= args.max_rss_growth_mb);
    // End to end, and stage by stage (a stage that lost frames shows even if a later
    // stage somehow made up the count).
    let stage_deficit: u64 = lp
        .counts
        .iter()
        .map(|c| c.frames_in.saturating_sub(c.frames_out))
        .sum();
    let lost = generated.saturating_sub(lp.chunks_b).max(stage_deficit);
    let passed = lost == 0 && lp.errors == 0 && within;
    let report = SoakReport {
        date_utc,
        duration_s: elapsed,
        backend: backend.to_string(),
        implementation: a_summary.origin.implementation.clone(),
        codec: args.codec.to_string(),
        sizes: [args.size.to_string(), alt.to_string()],
        switch_every: args.switch_every,
        frames_generated: generated,
        frames_out: lp.chunks_b,
        frames_lost: lost,
        stages: lp.counts.to_vec(),
        first_encoder_switches: a_summary.switches,
        second_encoder_switches: b_summary.switches,
        errors: lp.errors,
        error_messages: lp.messages.clone(),
        rss: RssReport {
            available: !samples.is_empty(),
            source: rss::source(),
            warmup_s: warmup.as_secs_f64(),
            sample_interval_s: sample_every.as_secs_f64(),
            start_mb: samples.first().map(|s| s.1),
            end_mb: samples.last().map(|s| s.1),
            peak_mb: samples.iter().map(|s| s.1).reduce(f64::max),
            slope_mb_per_min: slope_per_s.map(|s| s * 60.0),
            growth_after_warmup_mb: growth,
            bound_mb: args.max_rss_growth_mb,
            within_bound: within,
            samples,
        },
        gpu_memory: match backend {
            Backend::Nvidia => {
                "not implemented: GPU memory sampling on NVIDIA is not built yet".into()
            }
            _ => format!("not sampled ({backend} backend)"),
        },
        passed,
    };
    crate::json_out::emit(&args.common, false, &report)?;
    if !quiet {
        let r = &report.rss;
        eprintln!(
            "soak {} on {} [{}]: {:.0} s, {} frames in, {} out, {} lost, {} errors, {} switches (first encoder); RSS {} -> {} MB (peak {}), slope {} MB/min after {:.0} s warm-up, growth {} MB (bound {} MB): {}",
            report.codec,
            report.backend,
            report.implementation,
            report.duration_s,
            report.frames_generated,
            report.frames_out,
            report.frames_lost,
            report.errors,
            report.first_encoder_switches.activated,
            opt(r.start_mb),
            opt(r.end_mb),
            opt(r.peak_mb),
            opt(r.slope_mb_per_min),
            r.warmup_s,
            opt(r.growth_after_warmup_mb),
            r.bound_mb,
            if report.passed { "PASS" } else { "FAIL" }
        );
        for m in &report.error_messages {
            eprintln!("soak: error: {m}");
        }
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn opt(v: Option<f64>) -> String {
    v.map_or("n/a".to_owned(), |v| format!("{v:.2}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_reject_nonsense() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn switches_alternate_between_a_bitrate_change_and_a_size_change() {
        let size = Dimensions::new(640, 360).unwrap();
        let alt = three_quarters(size).unwrap();
        assert_eq!(alt, Dimensions::new(480, 270).unwrap());
        let configs = schedule(&EncoderConfig::new(Codec::H264, size), alt);
        for i in 0..configs.len() {
            let (a, b) = (&configs[i], &configs[(i + 1) % configs.len()]);
            let size_changed = a.dimensions != b.dimensions;
            let rate_changed = a.rate_control != b.rate_control;
            assert!(
                size_changed != rate_changed,
                "switch {i} changes exactly one thing"
            );
            assert_eq!(size_changed, i % 2 == 1, "switch {i}");
        }
    }
}
