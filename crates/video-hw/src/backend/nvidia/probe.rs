//! What the NVIDIA backend offers here: the driver and libraries present, and what NVDEC
//! (and NVENC) decode and encode on device 0, asked once per process.

use super::nvdec::calls::{LibraryCalls, library};
use super::nvdec::capability::{self, query_caps};
use super::nvdec::ffi;
use super::{cuda, held_primary, nvenc, stats};
use crate::api::codec::Codec;
use crate::backend::{Backend, BackendReport, CodecSupport};
use std::sync::OnceLock;

/// Why the backend cannot run here, or the library, device name and driver version.
pub(crate) fn environment() -> std::result::Result<(&'static ffi::Nvcuvid, String), String> {
    let driver = cuda::driver()?;
    let lib = library()?;
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

/// NVDEC engines on device 0 by codec (8-bit 4:2:0 caps' `nNumNVDECs`), set by the probe.
static ENGINES: OnceLock<Vec<(Codec, usize)>> = OnceLock::new();

/// How many NVDEC engines of device 0 decode `codec` (0 when the probe found none or the
/// backend cannot run here).
pub(crate) fn nvdec_engines(codec: Codec) -> usize {
    probe_decode();
    ENGINES
        .get()
        .and_then(|e| e.iter().find(|(c, _)| *c == codec))
        .map_or(0, |(_, n)| *n)
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
    let calls = LibraryCalls::new(lib);
    let mut decode = Vec::new();
    let mut notes = Vec::new();
    let mut engines = Vec::new();
    let capabilities: Vec<_> = Codec::ALL
        .iter()
        .map(|c| capability::query(&calls, *c, &device, &mut notes))
        .collect();
    for codec in Codec::ALL {
        let mut depths = Vec::new();
        let (mut max_w, mut max_h) = (0, 0);
        for depth in [8u8, 10] {
            match query_caps(&calls, codec, depth, ffi::cudaVideoChromaFormat_420) {
                Ok(c) if c.bIsSupported != 0 => {
                    depths.push(depth);
                    max_w = max_w.max(c.nMaxWidth);
                    max_h = max_h.max(c.nMaxHeight);
                    if depth == 8 {
                        notes.push(format!("{codec}: {} NVDEC engine(s)", c.nNumNVDECs));
                        engines.push((codec, usize::from(c.nNumNVDECs)));
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
    let _ = ENGINES.set(engines);
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
