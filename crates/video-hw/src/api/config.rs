//! Session configuration.

use super::codec::{Codec, Dimensions, Rational, Timebase};
use super::error::{Result, VideoError};
use super::frame::PixelFormat;
use super::packet::BitstreamLayout;
use std::time::Duration;

pub use super::nvidia_options::NvidiaOptions;

/// What a decoder hands back for each picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecodeOutput {
    /// CPU planes in the backend's natural layout (I420 for software, NV12 for hardware).
    #[default]
    Native,
    /// CPU planes converted to this format.
    Cpu(PixelFormat),
    /// Frames stay in GPU memory where the backend can ([`crate::FrameData::Gpu`]).
    Gpu,
    /// Frames stay in GPU memory, converted there to this packed RGB format (RGB24, RGBA,
    /// BGRA, ARGB) by the decoder's kernel, straight from its picture: one tightly packed
    /// plane ([`crate::GpuSurface::planes`]`[0]`, pitch `width * bytes per pixel`) of the
    /// visible picture, ready for a tensor. NVIDIA only; other backends and formats are
    /// `Unsupported`.
    GpuConverted(PixelFormat),
    /// No pixels at all, only sizes, colour and timestamps (fast counting and probing).
    MetadataOnly,
}

/// Where decoded frames live between the decoder and the caller. The session turns this and
/// [`DecodeOutput`] into one [`ConversionPath`] (see [`crate::DecodeSession::conversion`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FramePlacement {
    /// The library's choice: the fastest exact path. A single session lets a decoder that
    /// converts on its GPU do so (NVDEC's kernel), else converts on the CPU; a segmented
    /// decode ([`crate::decode_segmented`]) keeps frames in device memory while they wait for
    /// their turn and converts them through the backend's [`crate::transform::GpuTransform`]
    /// where there is one.
    #[default]
    Auto,
    /// Host memory: frames are converted before they enter the session's output queue (by
    /// the decoder on its GPU where it can, else on the CPU).
    Host,
    /// Device memory: frames stay on the GPU until they are reaped. With
    /// [`DecodeOutput::Native`] the caller gets them there (as with [`DecodeOutput::Gpu`]);
    /// with [`DecodeOutput::Cpu`] they are converted when reaped, through the backend's
    /// [`crate::transform::GpuTransform`]. `Unsupported` on backends without device frames.
    Device,
}

/// How a session turns the decoder's frames into the [`DecodeOutput`] asked for, chosen
/// when it opens (fastest exact path first) and reported by
/// [`crate::DecodeSession::conversion`]. Every frame's outcome is counted in the session's
/// [`crate::metrics::Metrics`] as a [`crate::transform::TransformPath`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversionPath {
    /// Nothing to convert: native, GPU-resident or metadata-only output.
    #[default]
    None,
    /// The decoder converts on its own GPU, straight from its picture (NVDEC's CUDA kernel,
    /// VideoToolbox's Metal kernel); a frame it could not convert there is converted on the
    /// CPU and counted as a fallback.
    Decoder,
    /// Frames stay in device memory and the backend's
    /// [`crate::transform::GpuTransform`] converts them when they are reaped.
    GpuTransform,
    /// The CPU transform converts each frame: on the thread that reaps, or on the transform
    /// pool of a [`crate::pipeline::PipelineScheduler`] that drives the session.
    Cpu,
}

/// What a decoder does with a damaged access unit (one the backend cannot decode cleanly).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Skip it or conceal it and go on: the unit is counted in
    /// [`crate::DecodeSummary::damaged_units`] (its message kept in `damage`), pictures the
    /// decoder concealed in `pictures_concealed`, and decoding resumes at the next decodable
    /// picture. No error is delivered for it. The default, as in FFmpeg.
    #[default]
    Skip,
    /// Deliver each damaged unit as an `InvalidBitstream` error from `reap`, with no
    /// concealment, so that the caller can stop at the first one.
    Stop,
}

impl OnError {
    /// The name used on the command line (`skip`, `stop`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Skip => "skip",
            Self::Stop => "stop",
        }
    }
}

impl std::str::FromStr for OnError {
    type Err = VideoError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "skip" => Ok(Self::Skip),
            "stop" => Ok(Self::Stop),
            other => Err(VideoError::invalid_input(format!(
                "unknown error policy {other:?}: use skip or stop"
            ))),
        }
    }
}

/// Decoder settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderConfig {
    /// The codec of the input.
    pub codec: Codec,
    /// What each frame carries.
    pub output: DecodeOutput,
    /// Timebase of the timestamps the caller attaches and receives.
    pub timebase: Timebase,
    /// Frame rate used to make up timestamps for input that has none (default 30).
    pub fps_hint: Rational,
    /// Inputs accepted but not yet decoded before `submit` reports backpressure.
    pub max_in_flight: usize,
    /// Decoded frames held for `reap` before the decoder waits.
    pub output_queue: usize,
    /// How long a blocking `submit` waits for a credit.
    pub submit_timeout: Duration,
    /// Parameter sets known out of band (from an avcC/hvcC record), as raw NAL units.
    pub parameter_sets: Vec<Vec<u8>>,
    /// Where frames live on their way to the caller (default: the library's choice).
    pub placement: FramePlacement,
    /// The GPU to decode on, as the driver numbers them (default 0; CUDA device ordinal on
    /// NVIDIA). Backends without a choice of GPU ignore it.
    pub gpu: u32,
    /// Tuning of the NVIDIA decoder (environment overrides in [`NvidiaOptions`]).
    pub nvidia: NvidiaOptions,
    /// What happens to damaged access units (default [`OnError::Skip`]).
    pub on_error: OnError,
}

impl DecoderConfig {
    /// Defaults for `codec`: native output, 90 kHz, 8 inputs in flight, 8 frames queued.
    pub fn new(codec: Codec) -> Self {
        Self {
            codec,
            output: DecodeOutput::Native,
            timebase: Timebase::MPEG_90K,
            fps_hint: Rational { num: 30, den: 1 },
            max_in_flight: 8,
            output_queue: 8,
            submit_timeout: Duration::from_secs(5),
            parameter_sets: Vec::new(),
            placement: FramePlacement::Auto,
            gpu: 0,
            nvidia: NvidiaOptions::default(),
            on_error: OnError::Skip,
        }
    }

    /// Sets the output kind.
    pub fn with_output(mut self, output: DecodeOutput) -> Self {
        self.output = output;
        self
    }

    /// Sets where frames live on their way to the caller.
    pub fn with_placement(mut self, placement: FramePlacement) -> Self {
        self.placement = placement;
        self
    }

    /// Sets the GPU to decode on.
    pub fn with_gpu(mut self, gpu: u32) -> Self {
        self.gpu = gpu;
        self
    }

    /// Sets what happens to damaged access units.
    pub fn with_on_error(mut self, on_error: OnError) -> Self {
        self.on_error = on_error;
        self
    }

    /// Checks the bounds; `InvalidInput` on a zero queue.
    pub fn validate(&self) -> Result<()> {
        if self.max_in_flight == 0 || self.output_queue == 0 {
            return Err(VideoError::invalid_input(
                "max_in_flight and output_queue must be at least 1",
            ));
        }
        Ok(())
    }
}

/// How the encoder spends bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateControl {
    /// Constant bitrate, bits per second.
    Cbr {
        /// Target bits per second.
        bitrate: u32,
    },
    /// Variable bitrate around a target, capped at a peak.
    Vbr {
        /// Target bits per second.
        bitrate: u32,
        /// Peak bits per second.
        max_bitrate: u32,
    },
    /// Constant quantiser.
    Cqp {
        /// Quantiser (0-51).
        qp: u8,
    },
}

impl RateControl {
    /// The target bitrate, if the mode has one.
    pub fn bitrate(self) -> Option<u32> {
        match self {
            RateControl::Cbr { bitrate } | RateControl::Vbr { bitrate, .. } => Some(bitrate),
            RateControl::Cqp { .. } => None,
        }
    }
}

/// Encoder settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderConfig {
    /// The codec to produce.
    pub codec: Codec,
    /// Picture size; every input must have it.
    pub dimensions: Dimensions,
    /// Frame rate.
    pub fps: Rational,
    /// Rate control.
    pub rate_control: RateControl,
    /// Frames from one keyframe to the next (0: only the first frame).
    pub gop_length: u32,
    /// Consecutive B-frames (0: none; output in presentation order).
    pub b_frames: u32,
    /// Trade compression for the lowest latency.
    pub low_latency: bool,
    /// Delimiting of the output packets.
    pub layout: BitstreamLayout,
    /// Timebase of pts/dts.
    pub timebase: Timebase,
    /// Pictures accepted but not yet encoded before `submit` reports backpressure.
    pub max_in_flight: usize,
    /// Encoded chunks held for `reap` before the encoder waits.
    pub output_queue: usize,
    /// How long a blocking `submit` waits for a credit.
    pub submit_timeout: Duration,
    /// The GPU to encode on, as the driver numbers them (default 0; CUDA device ordinal on
    /// NVIDIA). Backends without a choice of GPU ignore it.
    pub gpu: u32,
}

impl EncoderConfig {
    /// Defaults: 30 fps, 2 Mbit/s VBR, GOP of 60, no B-frames, Annex-B, 90 kHz.
    pub fn new(codec: Codec, dimensions: Dimensions) -> Self {
        Self {
            codec,
            dimensions,
            fps: Rational { num: 30, den: 1 },
            rate_control: RateControl::Vbr {
                bitrate: 2_000_000,
                max_bitrate: 4_000_000,
            },
            gop_length: 60,
            b_frames: 0,
            low_latency: false,
            layout: BitstreamLayout::AnnexB,
            timebase: Timebase::MPEG_90K,
            max_in_flight: 4,
            output_queue: 16,
            submit_timeout: Duration::from_secs(5),
            gpu: 0,
        }
    }

    /// Sets the GPU to encode on.
    pub fn with_gpu(mut self, gpu: u32) -> Self {
        self.gpu = gpu;
        self
    }

    /// Checks values every backend needs; `InvalidInput` otherwise.
    pub fn validate(&self) -> Result<()> {
        if self.max_in_flight == 0 || self.output_queue == 0 {
            return Err(VideoError::invalid_input(
                "max_in_flight and output_queue must be at least 1",
            ));
        }
        if self.fps.num == 0 || self.fps.den == 0 {
            return Err(VideoError::invalid_input("fps must be positive"));
        }
        match self.rate_control {
            RateControl::Cbr { bitrate: 0 } | RateControl::Vbr { bitrate: 0, .. } => {
                return Err(VideoError::invalid_input("bitrate must be positive"));
            }
            RateControl::Vbr {
                bitrate,
                max_bitrate,
            } if max_bitrate < bitrate => {
                return Err(VideoError::invalid_input(format!(
                    "VBR peak {max_bitrate} is below the target {bitrate}"
                )));
            }
            RateControl::Cqp { qp } if qp > 51 => {
                return Err(VideoError::invalid_input(format!("QP {qp} is above 51")));
            }
            _ => {}
        }
        if let Some(n) = self.layout.length_size()
            && !matches!(n, 1 | 2 | 4)
        {
            return Err(VideoError::invalid_input(format!(
                "length prefix of {n} bytes (must be 1, 2 or 4)"
            )));
        }
        Ok(())
    }
}
