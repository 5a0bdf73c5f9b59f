//! One module per subcommand, plus the encoder options they share.

pub mod bench;
pub mod decode;
pub mod encode;
pub mod probe;
pub mod roundtrip;
pub mod soak;
pub mod switch_spec;
pub mod transcode;

use anyhow::{Result, bail};
use clap::Args;
use std::time::Duration;
use video_hw::{
    BitstreamLayout, Codec, DecodeInput, DecodeSession, DecodedFrame, Dimensions, EncodeInput,
    EncodeSession, EncodedChunk, EncoderConfig, RateControl, Rational, Rejected, VideoError,
};

/// Encoder settings shared by `encode`, `transcode` and `roundtrip`.
#[derive(Args, Debug, Clone)]
pub struct EncodeOpts {
    /// Output codec: h264 or hevc.
    #[arg(long = "codec", default_value = "h264")]
    pub codec: Codec,
    /// Target bitrate, e.g. 2M, 800k or 1500000 (bits per second).
    #[arg(long, default_value = "2M", value_parser = parse_bitrate)]
    pub bitrate: u32,
    /// Rate control: vbr, cbr or cqp.
    #[arg(long, default_value = "vbr", value_parser = ["vbr", "cbr", "cqp"])]
    pub rc: String,
    /// Quantiser for --rc cqp.
    #[arg(long, default_value_t = 26)]
    pub qp: u8,
    /// Frames per second (default: a Y4M input's own rate, else 30).
    #[arg(long)]
    pub fps: Option<Rational>,
    /// Frames from one keyframe to the next.
    #[arg(long, default_value_t = 60)]
    pub gop: u32,
    /// Consecutive B-frames.
    #[arg(long = "bframes", default_value_t = 0)]
    pub b_frames: u32,
    /// Lowest latency over compression.
    #[arg(long)]
    pub low_latency: bool,
}

impl EncodeOpts {
    /// `--fps`, or 30.
    pub fn fps(&self) -> Rational {
        self.fps.unwrap_or(Rational { num: 30, den: 1 })
    }

    /// The encoder configuration for pictures of `size`.
    pub fn config(&self, size: Dimensions) -> EncoderConfig {
        let mut c = EncoderConfig::new(self.codec, size);
        c.fps = self.fps();
        c.rate_control = match self.rc.as_str() {
            "cbr" => RateControl::Cbr {
                bitrate: self.bitrate,
            },
            "cqp" => RateControl::Cqp { qp: self.qp },
            _ => RateControl::Vbr {
                bitrate: self.bitrate,
                max_bitrate: self.bitrate.saturating_mul(2),
            },
        };
        c.gop_length = self.gop;
        c.b_frames = self.b_frames;
        c.low_latency = self.low_latency;
        c.layout = BitstreamLayout::AnnexB;
        c
    }
}

/// Parses `2M`, `800k`, `1500000`.
pub fn parse_bitrate(s: &str) -> Result<u32, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1_000.0),
        Some('m' | 'M') => (&s[..s.len() - 1], 1_000_000.0),
        _ => (s, 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a bitrate like 2M or 800k"))?;
    let bits = v * mult;
    if !(1.0..=u32::MAX as f64).contains(&bits) {
        return Err(format!("bitrate `{s}` is out of range"));
    }
    Ok(bits as u32)
}

/// A session the commands feed: inputs in with backpressure, outputs reaped (a decoder's
/// frames, an encoder's chunks).
pub trait Feed {
    /// What goes in.
    type In;
    /// What comes out.
    type Out;
    /// [`DecodeSession::submit`] / [`EncodeSession::submit`].
    fn submit(&mut self, input: Self::In) -> Result<(), Rejected<Self::In>>;
    /// The next output, waiting at most `timeout`.
    fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<Self::Out>, VideoError>;
    /// The next output, if one is ready.
    fn try_reap(&mut self) -> Result<Option<Self::Out>, VideoError>;
}

/// [`Feed`] for a session type from its own methods of the same names.
macro_rules! feed {
    ($session:ty, $in:ty, $out:ty) => {
        impl Feed for $session {
            type In = $in;
            type Out = $out;
            fn submit(&mut self, input: $in) -> Result<(), Rejected<$in>> {
                <$session>::submit(self, input)
            }
            fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<$out>, VideoError> {
                <$session>::reap_timeout(self, timeout)
            }
            fn try_reap(&mut self) -> Result<Option<$out>, VideoError> {
                <$session>::try_reap(self)
            }
        }
    };
}

feed!(DecodeSession, DecodeInput, DecodedFrame);
feed!(EncodeSession, EncodeInput, EncodedChunk);

/// What a session hands back: an output, or an error it survived (a decode error, a failed
/// switch).
pub type OutputSink<'a, T> = dyn FnMut(Result<T, VideoError>) -> Result<()> + 'a;

/// Submits `input` to `session`, reaping outputs into `on_out` whenever it pushes back, then
/// every output that is ready.
pub fn submit_feed<S: Feed>(
    session: &mut S,
    mut input: S::In,
    on_out: &mut OutputSink<S::Out>,
) -> Result<()> {
    loop {
        match session.submit(input) {
            Ok(()) => break,
            Err(r) if r.kind() == video_hw::ErrorKind::Backpressure => {
                input = r.input;
                match session.reap_timeout(Duration::from_millis(50)) {
                    Ok(Some(out)) => on_out(Ok(out))?,
                    Ok(None) => {}
                    Err(e) => on_out(Err(e))?,
                }
            }
            Err(r) => bail!(r.error),
        }
    }
    reap_ready(session, on_out)
}

/// Hands every output that is ready now to `on_out`.
pub fn reap_ready<S: Feed>(session: &mut S, on_out: &mut OutputSink<S::Out>) -> Result<()> {
    loop {
        match session.try_reap() {
            Ok(Some(out)) => on_out(Ok(out))?,
            Ok(None) => return Ok(()),
            Err(e) => on_out(Err(e))?,
        }
    }
}

/// Submits `input` to a decoder, reaping frames into `on_frame` whenever it pushes back.
pub fn submit_decode(
    session: &mut DecodeSession,
    input: DecodeInput,
    on_frame: &mut OutputSink<DecodedFrame>,
) -> Result<()> {
    submit_feed(session, input, on_frame)
}

/// Hands every frame that is ready now to `on_frame`.
pub fn reap_ready_decode(
    session: &mut DecodeSession,
    on_frame: &mut OutputSink<DecodedFrame>,
) -> Result<()> {
    reap_ready(session, on_frame)
}

/// What an encoder hands back: a chunk, or an error it survived (e.g. a failed switch).
pub type ChunkSink<'a> = OutputSink<'a, EncodedChunk>;

/// Submits a picture to an encoder, reaping chunks into `on_chunk` whenever it pushes back.
pub fn submit_encode(
    session: &mut EncodeSession,
    input: EncodeInput,
    on_chunk: &mut ChunkSink,
) -> Result<()> {
    submit_feed(session, input, on_chunk)
}

/// Hands every chunk that is ready now to `on_chunk`.
pub fn reap_ready_encode(session: &mut EncodeSession, on_chunk: &mut ChunkSink) -> Result<()> {
    reap_ready(session, on_chunk)
}

/// Flushes an encoder and hands every remaining chunk to `on_chunk`.
pub fn finish_encode(session: &mut EncodeSession, on_chunk: &mut ChunkSink) -> Result<()> {
    session.flush()?;
    reap_ready_encode(session, on_chunk)
}

/// Prints the first errors of a run on stderr (at most 5 lines, then a count). Errors are
/// shown even with `-q`.
/// The warnings for damaged input that `--on-error skip` skipped or the decoder concealed
/// (empty when there was none).
pub fn damage_warnings(p: &video_hw::metrics::PictureCounts) -> Vec<String> {
    let mut out = Vec::new();
    if p.damaged > 0 {
        out.push(format!(
            "skipped {} damaged access unit{} (--on-error skip); {} of {} pictures did not come out",
            p.damaged,
            if p.damaged == 1 { "" } else { "s" },
            p.lost,
            p.counted
        ));
    }
    if p.concealed > 0 {
        out.push(format!(
            "{} {} damage the decoder concealed",
            p.concealed,
            if p.concealed == 1 {
                "frame carries"
            } else {
                "frames carry"
            }
        ));
    }
    out
}

pub fn print_errors(errors: &[String]) {
    for e in errors.iter().take(5) {
        eprintln!("video-hw: error: {e}");
    }
    if errors.len() > 5 {
        eprintln!("video-hw: ... and {} more errors", errors.len() - 5);
    }
}

/// How a session switch requested by the command ended.
pub enum SwitchOutcome {
    /// The new configuration is active (or will be, at the next keyframe).
    Active,
    /// It could not be activated: the previous generation stays, for this reason.
    RolledBack(String),
}

/// Requests `request` and, unless it waits for a keyframe, waits until the encoder has
/// activated it or rolled it back, reaping chunks into `on_chunk` meanwhile. The error of a
/// failed activation is the outcome, not an error of the run: the encode goes on at the
/// previous settings.
pub fn switch_and_settle(
    session: &mut EncodeSession,
    request: video_hw::SessionSwitchRequest,
    on_chunk: &mut ChunkSink,
) -> Result<SwitchOutcome> {
    let wait = request.mode != video_hw::SwitchMode::OnNextKeyframe;
    let settled = |s: &video_hw::SwitchStats| s.activated + s.failed + s.replaced;
    let before = session.summary().switches;
    session.request_session_switch(request)?;
    if !wait {
        return Ok(SwitchOutcome::Active);
    }
    let mut held = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let now = loop {
        let now = session.summary().switches;
        if settled(&now) > settled(&before) || std::time::Instant::now() > deadline {
            break now;
        }
        match session.reap_timeout(Duration::from_millis(10)) {
            Ok(Some(c)) => on_chunk(Ok(c))?,
            Ok(None) => {}
            Err(e) => held.push(e),
        }
    };
    let outcome = if now.failed > before.failed {
        // The failure is counted before its error is sent: take that error too (the
        // session's message ends "generation N stays active").
        let is_it = |e: &VideoError| e.to_string().contains("stays active");
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while !held.iter().any(is_it) && std::time::Instant::now() < deadline {
            match session.reap_timeout(Duration::from_millis(10)) {
                Ok(Some(c)) => on_chunk(Ok(c))?,
                Ok(None) => {}
                Err(e) => held.push(e),
            }
        }
        if let Some(i) = held.iter().position(is_it) {
            held.remove(i);
        }
        SwitchOutcome::RolledBack(
            now.switch_fail_reason
                .unwrap_or_else(|| "the encoder refused it".into()),
        )
    } else {
        SwitchOutcome::Active
    };
    for e in held {
        on_chunk(Err(e))?;
    }
    Ok(outcome)
}

/// Reads NVDEC and GPU utilisation during the run where the NVIDIA backend may run.
pub fn utilization_monitor(
    backend: video_hw::Backend,
    gpu: u32,
) -> Option<video_hw::metrics::UtilizationMonitor> {
    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    if matches!(backend, video_hw::Backend::Nvidia | video_hw::Backend::Auto) {
        return video_hw::diagnostics::utilization_monitor(gpu).ok();
    }
    let _ = (backend, gpu);
    None
}
