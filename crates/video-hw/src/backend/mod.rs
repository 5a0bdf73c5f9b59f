//! Backend adapters: one [`DecoderBackend`] / [`EncoderBackend`] per platform API.
//!
//! Adapters are plain synchronous objects; the session layer runs each one on a worker
//! thread of its own, so an adapter never needs to be `Send` and never sees the caller's
//! threads. Selection (`Backend::Auto`) and probing live here too.

use crate::api::codec::{Codec, Dimensions};
use crate::api::config::{DecoderConfig, EncoderConfig};
use crate::api::encode_input::EncodeInput;
use crate::api::error::{Result, VideoError};
use crate::api::frame::DecodedFrame;
use crate::api::packet::EncodedChunk;
use crate::bitstream::AccessUnit;

pub mod capability;
mod engines;
mod gpus;
mod prepare;
pub use engines::{MAX_SOFTWARE_ENGINES, decode_engines, decode_session_cost};
pub use gpus::{gpus, resolve_gpus};
pub use prepare::prepare_decode;
#[cfg(test)]
mod color_paths_tests;
pub(crate) use capability::Candidate;
pub use capability::{CodingTool, DecodeCapability, FormatLimit, Hop, InexactTool};

#[cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]
pub(crate) mod nvidia;
pub mod software;
mod videotoolbox;

/// NVDEC and GPU utilisation through NVML, public through [`crate::diagnostics`].
#[cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]
pub use nvidia::nvml::utilization_monitor;
/// NVIDIA diagnostics, public through [`crate::diagnostics`].
#[cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]
pub(crate) use nvidia::{
    gpu_memory_info, nvdec_abi_layout, nvenc_abi_layout, nvenc_open_check,
    stats::snapshot as nvdec_counters,
};

pub use crate::api::backend_kind::Backend;

/// The VideoToolbox double for the contract suite's "videotoolbox (double)" row (feature
/// `vt-double`, tests only): `Backend::VideoToolbox` sessions opened from the calling thread
/// run the VideoToolbox adapters against it while the guard lives.
#[cfg(any(test, feature = "vt-double"))]
#[doc(hidden)]
pub use videotoolbox::double::{VtDoubleGuard, on_this_thread as vt_double_on_this_thread};

/// What one backend can do for one codec in one direction.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CodecSupport {
    /// The codec.
    pub codec: Codec,
    /// Largest picture, when the backend states one.
    pub max_width: Option<u32>,
    /// Largest picture height, when the backend states one.
    pub max_height: Option<u32>,
    /// Bit depths supported.
    pub bit_depths: Vec<u8>,
    /// Which implementation serves it (e.g. `openh264 2.x`, `ffmpeg libavcodec`).
    pub implementation: String,
}

/// What a backend reported about itself at run time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackendReport {
    /// The backend.
    pub backend: Backend,
    /// Whether it can open sessions here.
    pub available: bool,
    /// Why not, or notes (driver version, device name).
    pub detail: String,
    /// Decode support by codec.
    pub decode: Vec<CodecSupport>,
    /// Encode support by codec.
    pub encode: Vec<CodecSupport>,
    /// What each decoder implementation decodes exactly (checked at every sequence header).
    #[serde(default)]
    pub decode_capabilities: Vec<DecodeCapability>,
    /// The GPUs it runs on, each with its decode engines and limits (NVIDIA: every CUDA
    /// device, from [`probe`]; empty for the backends without a choice of GPU).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<crate::api::gpus::GpuInfo>,
}

impl BackendReport {
    /// A report for a backend that cannot run here.
    pub fn unavailable(backend: Backend, why: impl Into<String>) -> Self {
        Self {
            backend,
            available: false,
            detail: why.into(),
            decode: Vec::new(),
            encode: Vec::new(),
            decode_capabilities: Vec::new(),
            gpus: Vec::new(),
        }
    }

    /// Whether it decodes `codec`.
    pub fn decodes(&self, codec: Codec) -> bool {
        self.available && self.decode.iter().any(|c| c.codec == codec)
    }

    /// Whether it encodes `codec`.
    pub fn encodes(&self, codec: Codec) -> bool {
        self.available && self.encode.iter().any(|c| c.codec == codec)
    }
}

/// A decoder adapter. It is created on, and only used from, the session's worker thread.
pub(crate) trait DecoderBackend {
    /// Decodes one access unit (Annex-B NAL units with its pts); frames that became ready,
    /// in presentation order, are appended to `out`.
    fn decode(&mut self, au: &AccessUnit, out: &mut Vec<DecodedFrame>) -> Result<()>;

    /// Drains every frame still held by the decoder into `out`; the decoder stays usable.
    fn flush(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()>;

    /// Implementation name for summaries (e.g. `openh264`).
    fn implementation(&self) -> String;

    /// Frames asked for in a format the adapter converts to on its GPU
    /// ([`decoder_converts_on_gpu`]) that it converted on the CPU instead, so far (the
    /// session counts them as fallbacks).
    fn conversion_fallbacks(&self) -> u64 {
        0
    }

    /// Pictures handed out so far whose damage (their own or a reference's) the decoder
    /// concealed under [`crate::OnError::Skip`]; the session reports them in its summary.
    fn concealed_pictures(&self) -> u64 {
        0
    }

    /// What this adapter decodes exactly; the session checks every sequence against it.
    fn capability(&self) -> DecodeCapability;
}

/// What an encoder adapter can change without a new session (the session's switch plan
/// reads it; see `session/generation.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct InPlace {
    /// Rate-control targets (same mode).
    pub bitrate: bool,
    /// Frame rate.
    pub fps: bool,
    /// Picture size, up to this maximum.
    pub max_dimensions: Option<Dimensions>,
}

/// An encoder adapter. It is created on, and only used from, the session's worker thread.
pub(crate) trait EncoderBackend {
    /// Encodes one picture; chunks that became ready, in decode order, are appended to `out`.
    fn encode(&mut self, input: &EncodeInput, out: &mut Vec<EncodedChunk>) -> Result<()>;

    /// Drains every chunk still held by the encoder into `out`; the encoder stays usable.
    fn flush(&mut self, out: &mut Vec<EncodedChunk>) -> Result<()>;

    /// Implementation name for summaries (e.g. `openh264`).
    fn implementation(&self) -> String;

    /// What this adapter can change without a new session (default: nothing).
    fn in_place(&self) -> InPlace {
        InPlace::default()
    }

    /// Applies `new` in place; only called for changes [`EncoderBackend::in_place`] allows.
    fn reconfigure(&mut self, new: &EncoderConfig) -> Result<()> {
        let _ = new;
        Err(VideoError::unsupported(
            "this encoder cannot be reconfigured in place",
        ))
    }
}

/// Builds a decoder adapter on the worker thread.
pub(crate) type DecoderFactory = Box<dyn FnOnce() -> Result<Box<dyn DecoderBackend>> + Send>;
/// Builds an encoder adapter on the worker thread.
pub(crate) type EncoderFactory = Box<dyn FnOnce() -> Result<Box<dyn EncoderBackend>> + Send>;

/// Probes every backend compiled into this build.
pub fn probe() -> Vec<BackendReport> {
    Backend::CONCRETE.iter().map(|b| probe_one(*b)).collect()
}

/// Probes one concrete backend (`Auto` probes nothing and reports unavailable).
pub fn probe_one(backend: Backend) -> BackendReport {
    #[cfg(any(test, feature = "vt-double"))]
    if backend == Backend::VideoToolbox && videotoolbox::double::active().is_some() {
        return videotoolbox::double::probe();
    }
    match backend {
        Backend::Software => software::probe(),
        #[cfg(all(
            feature = "backend-nvidia",
            any(target_os = "linux", target_os = "windows")
        ))]
        Backend::Nvidia => nvidia::probe(),
        #[cfg(not(all(
            feature = "backend-nvidia",
            any(target_os = "linux", target_os = "windows")
        )))]
        Backend::Nvidia => BackendReport::unavailable(
            backend,
            "the NVIDIA backend is not in this build (feature backend-nvidia, Linux or Windows)",
        ),
        #[cfg(all(feature = "backend-vt", target_vendor = "apple"))]
        Backend::VideoToolbox => videotoolbox::probe(),
        #[cfg(not(all(feature = "backend-vt", target_vendor = "apple")))]
        Backend::VideoToolbox => BackendReport::unavailable(
            backend,
            if cfg!(target_vendor = "apple") {
                "the VideoToolbox backend is not compiled in (feature `backend-vt`)"
            } else {
                "VideoToolbox exists only on Apple platforms"
            },
        ),
        Backend::Auto => BackendReport::unavailable(backend, "auto is not a concrete backend"),
    }
}

/// The outcome of picking a backend: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Selection {
    /// The backend that serves the session.
    pub backend: Backend,
    /// Why it was chosen (and why better ones were passed over).
    pub reason: String,
    /// Where a decode session under `Auto` moved on since, and why (oldest first).
    #[serde(default)]
    pub hops: Vec<Hop>,
}

/// What `backend` offers for decoding (`decode`) or encoding. Decode selection does not ask
/// NVIDIA whether NVENC works: that opens an encode session, which a decode-only process
/// should not pay for at start-up; nor NVDEC about other codecs than `codec`.
#[cfg_attr(
    not(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    )),
    allow(unused_variables)
)]
fn probe_for(backend: Backend, decode: bool, codec: Codec) -> BackendReport {
    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    if decode && backend == Backend::Nvidia {
        return nvidia::probe_decode_codec(codec);
    }
    let _ = codec;
    probe_one(backend)
}

fn select(requested: Backend, codec: Codec, decode: bool) -> Result<(Selection, BackendReport)> {
    let what = if decode { "decode" } else { "encode" };
    let serves = |r: &BackendReport| {
        if decode {
            r.decodes(codec)
        } else {
            r.encodes(codec)
        }
    };
    if requested != Backend::Auto {
        let report = probe_for(requested, decode, codec);
        if !report.available {
            return Err(VideoError::unsupported(format!(
                "backend {requested} is not available: {}",
                report.detail
            )));
        }
        if !serves(&report) {
            return Err(VideoError::unsupported(format!(
                "backend {requested} cannot {what} {codec} here: {}{}",
                report.detail,
                capability::remedy_for(codec, decode)
            )));
        }
        let reason = format!("{requested} requested");
        return Ok((
            Selection {
                backend: requested,
                reason,
                hops: Vec::new(),
            },
            report,
        ));
    }
    let mut passed = Vec::new();
    for b in Backend::CONCRETE {
        let report = probe_for(b, decode, codec);
        if serves(&report) {
            let reason = if passed.is_empty() {
                format!("auto: {b} is the best available backend for {codec} {what}")
            } else {
                format!(
                    "auto: picked {b} for {codec} {what}; passed over {}",
                    passed.join("; ")
                )
            };
            let hops = Vec::new();
            return Ok((
                Selection {
                    backend: b,
                    reason,
                    hops,
                },
                report,
            ));
        }
        let why = if report.available {
            format!("no {codec} {what}")
        } else {
            report.detail.clone()
        };
        passed.push(format!("{b} ({why})"));
    }
    Err(VideoError::unsupported(format!(
        "no backend can {what} {codec} here: {}{}",
        passed.join("; "),
        capability::remedy_for(codec, decode)
    )))
}

/// Which backend a decode session for `codec` on `requested` would run on, and why, without
/// opening one (what [`crate::DecodeSession::new`] would pick).
pub fn select_decoder(requested: Backend, codec: Codec) -> Result<Selection> {
    select(requested, codec, true).map(|(selection, _)| selection)
}

/// Whether decode sessions on `backend` convert to `format` on the GPU themselves when asked
/// for `DecodeOutput::Cpu(format)`: NVIDIA's CUDA kernel and VideoToolbox's Metal kernel, for
/// packed RGB, straight from the decoded picture. The session prefers this path
/// ([`crate::ConversionPath::Decoder`]).
pub fn decoder_converts_on_gpu(backend: Backend, format: crate::api::frame::PixelFormat) -> bool {
    use crate::api::frame::PixelFormat::{Argb, Bgra, Rgb24, Rgba};
    let rgb = matches!(format, Rgb24 | Rgba | Bgra | Argb);
    let nvidia = cfg!(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ));
    let vt = cfg!(all(feature = "backend-vt", target_vendor = "apple"));
    rgb && match backend {
        Backend::Nvidia => nvidia,
        Backend::VideoToolbox => vt,
        _ => false,
    }
}

/// Frees the device memory the process keeps for later sessions. NVIDIA: buffers of frames
/// already dropped, pooled per GPU and frame size, up to an eighth of the GPU's memory and at
/// least 4 GiB in all, so that the next decode allocates nothing; and the idle decoders of
/// sessions that ended in the last two seconds
/// ([`NvidiaOptions::keep_idle_decoders`](crate::NvidiaOptions::keep_idle_decoders)), which
/// are destroyed now. Frames still held keep theirs. Nothing to do elsewhere.
pub fn release_cached_gpu_memory() {
    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    {
        nvidia::nvdec::shelf::release_idle();
        nvidia::cuda::surface_pool::release_idle();
    }
}

/// Whether `backend`'s decoder converts its pictures to `format` and keeps them in device
/// memory ([`crate::api::config::DecodeOutput::GpuConverted`]): NVIDIA's CUDA kernel, packed
/// RGB only, in builds with the NVIDIA backend.
#[cfg_attr(
    not(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    )),
    allow(unused_variables)
)]
pub fn decoder_converts_on_device(
    backend: Backend,
    format: crate::api::frame::PixelFormat,
) -> bool {
    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    if backend == Backend::Nvidia {
        return nvidia::rgb::packing(format).is_some();
    }
    false
}

/// The TransformLayer's GPU path on NVIDIA on device 0: NV12/P016 frames in CUDA memory
/// (decode sessions with [`crate::api::config::DecodeOutput::Gpu`]) to packed RGB (RGB24, RGBA, BGRA) in
/// host memory through the CUDA kernel, for [`crate::transform::Transformer::with_gpu`].
/// `Unsupported` without the NVIDIA backend or driver. Sessions pick it themselves where it
/// is the fastest path ([`crate::FramePlacement`]).
pub fn cuda_transform() -> Result<std::sync::Arc<dyn crate::transform::GpuTransform>> {
    gpu_transform(Backend::Nvidia, crate::api::frame::PixelFormat::Rgb24, 0)
        .unwrap_or_else(|| Err(VideoError::unsupported("the CUDA transform needs the NVIDIA backend (feature backend-nvidia, Linux or Windows)")))
}

/// The [`crate::transform::GpuTransform`] of `backend` on device `gpu` that converts its GPU
/// frames to `format`, if it has one (`None`: none in this build or for this format).
#[cfg_attr(
    not(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    )),
    allow(unused_variables)
)]
pub(crate) fn gpu_transform(
    backend: Backend,
    format: crate::api::frame::PixelFormat,
    gpu: u32,
) -> Option<Result<std::sync::Arc<dyn crate::transform::GpuTransform>>> {
    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    if backend == Backend::Nvidia && nvidia::rgb::packing(format).is_some() {
        return Some(
            nvidia::environment()
                .map_err(VideoError::unsupported)
                .and_then(|_| nvidia::cuda_transform::shared(gpu))
                .map(|t| t as std::sync::Arc<dyn crate::transform::GpuTransform>),
        );
    }
    None
}

/// The decoder chain of a session: the selected backend first, followed under `Auto` by every
/// later backend of [`Backend::CONCRETE`] that decodes the codec here and can deliver
/// `config.output` (the session moves on to them when the first refuses the stream).
pub(crate) fn decoder_chain(
    requested: Backend,
    selected: Backend,
    config: &DecoderConfig,
) -> Result<Vec<Candidate>> {
    let first = Candidate {
        backend: selected,
        factory: decoder_factory(selected, config)?,
    };
    let mut chain = vec![first];
    if requested == Backend::Auto {
        let later = Backend::CONCRETE
            .into_iter()
            .skip_while(|b| *b != selected)
            .skip(1)
            .filter(|b| delivers(*b, config.output));
        for backend in later.filter(|b| probe_for(*b, true, config.codec).decodes(config.codec)) {
            if let Ok(factory) = decoder_factory(backend, config) {
                chain.push(Candidate { backend, factory });
            }
        }
    }
    Ok(chain)
}

/// Whether `backend`'s adapters can hand frames out as `output` (device frames need a GPU
/// backend).
fn delivers(backend: Backend, output: crate::api::config::DecodeOutput) -> bool {
    match output {
        crate::api::config::DecodeOutput::Gpu => {
            matches!(backend, Backend::Nvidia | Backend::VideoToolbox)
        }
        crate::api::config::DecodeOutput::GpuConverted(f) => decoder_converts_on_device(backend, f),
        _ => true,
    }
}

/// A factory that builds `backend`'s decoder adapter on the worker thread.
fn decoder_factory(backend: Backend, config: &DecoderConfig) -> Result<DecoderFactory> {
    #[cfg(any(test, feature = "vt-double"))]
    if let (Backend::VideoToolbox, Some(shared)) = (backend, videotoolbox::double::active()) {
        return videotoolbox::double::decoder_factory(shared, config);
    }
    Ok(match backend {
        Backend::Software => software::decoder_factory(config)?,
        #[cfg(all(
            feature = "backend-nvidia",
            any(target_os = "linux", target_os = "windows")
        ))]
        Backend::Nvidia => nvidia::decoder_factory(config)?,
        #[cfg(all(feature = "backend-vt", target_vendor = "apple"))]
        Backend::VideoToolbox => videotoolbox::decoder_factory(config)?,
        other => {
            return Err(VideoError::unsupported(format!(
                "{other} decoding is not implemented in this build"
            )));
        }
    })
}

/// Picks the encoder backend and returns a factory that builds it on the worker thread.
pub(crate) fn encoder_factory(
    requested: Backend,
    config: &EncoderConfig,
) -> Result<(Selection, EncoderFactory)> {
    let (selection, _) = select(requested, config.codec, false)?;
    #[cfg(any(test, feature = "vt-double"))]
    if let (Backend::VideoToolbox, Some(shared)) =
        (selection.backend, videotoolbox::double::active())
    {
        return Ok((
            selection,
            videotoolbox::double::encoder_factory(shared, config)?,
        ));
    }
    let factory = match selection.backend {
        Backend::Software => software::encoder_factory(config)?,
        #[cfg(all(feature = "backend-vt", target_vendor = "apple"))]
        Backend::VideoToolbox => videotoolbox::encoder_factory(config)?,
        #[cfg(all(
            feature = "backend-nvidia",
            any(target_os = "linux", target_os = "windows")
        ))]
        Backend::Nvidia => nvidia::encoder_factory(config)?,
        other => {
            return Err(VideoError::unsupported(format!(
                "{other} encoding is not implemented in this build"
            )));
        }
    };
    Ok((selection, factory))
}
