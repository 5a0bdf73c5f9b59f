//! The NVIDIA backend: NVDEC decode through `libnvcuvid` and CUDA (driver API through
//! cudarc), both opened at run time, so building needs no CUDA toolkit, SDK or header.
//!
//! - [`ffi`]: our declarations of the NVDEC API (checked against the SDK headers by
//!   `tests/nvdec_abi.rs`).
//! - [`cuda`]: the primary context shared by every session of the process, a stream per
//!   session, device and pinned buffers.
//! - [`decoder`]: the parser/decoder adapter.
//! - [`surface_pool`]: pooled device buffers behind GPU-resident frames.
//! - [`host_pool`]: recycled, page-locked host planes behind CPU frames.
//! - [`pitch_copy`]: the device-to-device copy kernel (an alternative to the copy engines).
//! - [`cuda_transform`]: the TransformLayer's GPU path (GPU frames -> host RGB by the kernel).
//! - [`rgb`]: NV12/P016 -> RGB by the CUDA kernel in `kernels/` (PTX committed; regenerate
//!   with `scripts/build-ptx.py`), with a CPU fallback.
//! - [`stats`]: process-wide counters (copies, bytes, time, RGB path, decode status).

mod capability;
pub(crate) mod cuda;
pub(crate) mod cuda_transform;
pub(crate) mod decoder;
pub(crate) mod ffi;
#[cfg(test)]
mod gpu_tests;
pub(crate) mod host_pool;
#[cfg(test)]
mod kernel_bench;
pub(crate) mod nvenc;
pub(crate) mod pitch_copy;
pub(crate) mod rgb;
pub(crate) mod stats;
pub(crate) mod surface_pool;

use super::{Backend, BackendReport, CodecSupport, DecoderBackend, DecoderFactory};
use crate::api::codec::Codec;
use crate::api::config::DecoderConfig;
use crate::api::error::{Result, VideoError};
pub(crate) use nvenc::encoder_factory;
pub use nvenc::{nvenc_abi_layout, nvenc_open_check};
use std::sync::OnceLock;

/// Why the backend cannot run here, or the library, device name and driver version.
pub(crate) fn environment() -> std::result::Result<(&'static ffi::Nvcuvid, String), String> {
    let driver = cuda::driver()?;
    let lib = decoder::library()?;
    let major = driver.version / 1000;
    let minor = (driver.version % 1000) / 10;
    Ok((
        lib,
        format!("{} (CUDA driver {major}.{minor})", driver.device_name),
    ))
}

/// What NVDEC and NVENC offer on device 0, asked once per process. Learning whether NVENC
/// works opens (and closes) an encode session, so decode-only callers use [`probe_decode`].
pub(crate) fn probe() -> BackendReport {
    static REPORT: OnceLock<BackendReport> = OnceLock::new();
    REPORT
        .get_or_init(|| {
            let mut report = probe_decode();
            if report.available {
                report.detail = format!(
                    "{}; encode: {}",
                    report.detail,
                    nvenc::probe().err().unwrap_or_else(|| "nvenc".into())
                );
                report.encode = nvenc::probe().unwrap_or_default();
            }
            report
        })
        .clone()
}

/// What NVDEC offers on device 0 (encode not asked), once per process.
pub(crate) fn probe_decode() -> BackendReport {
    static REPORT: OnceLock<BackendReport> = OnceLock::new();
    REPORT.get_or_init(probe_decode_uncached).clone()
}

fn probe_decode_uncached() -> BackendReport {
    let t = std::time::Instant::now();
    let (lib, device) = match environment() {
        Ok(e) => e,
        Err(why) => return BackendReport::unavailable(Backend::Nvidia, why),
    };
    stats::trace("probe: libcuda, cuInit, libnvcuvid", t);
    let t = std::time::Instant::now();
    let ctx = match held_primary(0) {
        Ok(c) => c,
        Err(e) => return BackendReport::unavailable(Backend::Nvidia, e.to_string()),
    };
    stats::trace("probe: primary context", t);
    let t = std::time::Instant::now();
    let mut decode = Vec::new();
    let mut notes = Vec::new();
    let capabilities: Vec<_> = Codec::ALL
        .iter()
        .map(|c| capability::query(lib, *c, &device, &mut notes))
        .collect();
    for codec in Codec::ALL {
        let mut depths = Vec::new();
        let (mut max_w, mut max_h) = (0, 0);
        for depth in [8u8, 10] {
            match decoder::query_caps(lib, codec, depth, ffi::cudaVideoChromaFormat_420) {
                Ok(c) if c.bIsSupported != 0 => {
                    depths.push(depth);
                    max_w = max_w.max(c.nMaxWidth);
                    max_h = max_h.max(c.nMaxHeight);
                    if depth == 8 {
                        notes.push(format!("{codec}: {} NVDEC engine(s)", c.nNumNVDECs));
                    }
                }
                Ok(_) => {}
                Err(e) => notes.push(format!("{codec} {depth}-bit caps: {e}")),
            }
        }
        if !depths.is_empty() {
            decode.push(CodecSupport {
                codec,
                max_width: Some(max_w),
                max_height: Some(max_h),
                bit_depths: depths,
                implementation: "nvdec".into(),
            });
        }
    }
    drop(ctx);
    stats::trace("probe: decoder capabilities", t);
    let available = !decode.is_empty();
    BackendReport {
        backend: Backend::Nvidia,
        available,
        detail: if available {
            format!("{device}; {}", notes.join("; "))
        } else {
            format!(
                "{device}: NVDEC decodes neither H.264 nor HEVC here ({})",
                notes.join("; ")
            )
        },
        decode,
        encode: Vec::new(),
        decode_capabilities: capabilities,
    }
}

/// What NVDEC decodes of `codec` here (from the probe, asked once per process).
pub(crate) fn decode_capability(codec: Codec) -> crate::backend::DecodeCapability {
    let report = probe_decode();
    report
        .decode_capabilities
        .iter()
        .find(|c| c.codec == codec)
        .cloned()
        .unwrap_or_else(|| capability::unsupported_on("this GPU", codec, Vec::new()))
}

/// A factory that builds the NVDEC decoder on the session's worker thread.
pub(crate) fn decoder_factory(config: &DecoderConfig) -> Result<DecoderFactory> {
    let (lib, device) = environment().map_err(VideoError::unsupported)?;
    let config = config.clone();
    Ok(Box::new(move || {
        let dec = decoder::NvdecDecoder::new(lib, &config, device)?;
        Ok(Box::new(dec) as Box<dyn DecoderBackend>)
    }))
}

/// Size and field offsets of every NVDEC struct this crate declares (for the ABI test).
pub fn nvdec_abi_layout() -> Vec<(&'static str, usize)> {
    ffi::abi_layout()
}

/// A reference on device `gpu`'s primary context held for the rest of the process, taken by
/// the first user (the probe, for device 0). Without it the probe's context would be torn
/// down when the probe ends and built again by the first session (creating a context costs a
/// large share of a short run's start-up), and sessions closing between two memory readings
/// would tear it down too (hiding or faking a leak).
pub(crate) fn held_primary(gpu: u32) -> Result<std::sync::Arc<cuda::Context>> {
    type Held = std::sync::Mutex<Vec<(u32, std::sync::Arc<cuda::Context>)>>;
    static HELD: OnceLock<Held> = OnceLock::new();
    let held = HELD.get_or_init(Default::default);
    let mut held = held
        .lock()
        .map_err(|_| VideoError::backend("the held CUDA contexts' lock is poisoned"))?;
    let ctx = match held.iter().find(|(g, _)| *g == gpu) {
        Some((_, c)) => c.clone(),
        None => {
            let c = cuda::Context::retain(gpu)?;
            held.push((gpu, c.clone()));
            c
        }
    };
    ctx.make_current()?;
    Ok(ctx)
}

/// Free and total memory of device 0 in bytes (`cuMemGetInfo`), for leak checks; needs the
/// driver. Keeps the primary context alive for the rest of the process.
pub fn gpu_memory_info() -> Result<(usize, usize)> {
    cuda::driver().map_err(VideoError::unsupported)?;
    held_primary(0)?;
    cuda::mem_get_info()
}
