//! What the NVIDIA backend offers here: the driver and libraries present, and what NVDEC
//! (and NVENC) decode and encode on device 0, asked once per process.

use super::nvdec::calls::{LibraryCalls, library};
use super::nvdec::capability::{self, query_caps};
use super::nvdec::ffi;
use super::{cuda, held_primary, nvenc, stats};
use crate::api::codec::Codec;
use crate::backend::{Backend, BackendReport, CodecSupport};
use std::sync::OnceLock;

/// Why the backend cannot run here, or the library, device 0's name and driver version.
pub(crate) fn environment() -> std::result::Result<(&'static ffi::Nvcuvid, String), String> {
    environment_on(0)
}

/// Why the backend cannot run on device `gpu`, or the library, its name and the driver
/// version.
pub(crate) fn environment_on(
    gpu: u32,
) -> std::result::Result<(&'static ffi::Nvcuvid, String), String> {
    let driver = cuda::driver()?;
    let lib = library()?;
    let major = driver.version / 1000;
    let minor = (driver.version % 1000) / 10;
    Ok((
        lib,
        format!("{} (CUDA driver {major}.{minor})", driver.name(gpu)),
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
                report.gpus = gpus();
            }
            report
        })
        .clone()
}

/// The driver, NVDEC's library and device `gpu`'s primary context, set up once per process
/// and device (`cuInit` and the context are most of a short run's start-up), or why not.
fn base(gpu: u32) -> std::result::Result<(&'static ffi::Nvcuvid, String), String> {
    static DRIVER: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DRIVER
        .get_or_init(|| {
            stats::trace_origin();
            let t = std::time::Instant::now();
            environment()?;
            stats::trace("probe: libcuda, cuInit, libnvcuvid", t);
            Ok(())
        })
        .clone()?;
    let (lib, device) = environment_on(gpu)?;
    let t = std::time::Instant::now();
    held_primary(gpu).map_err(|e| e.to_string())?;
    stats::trace("probe: primary context", t);
    Ok((lib, device))
}

/// What NVDEC does for one codec on one device.
struct CodecProbe {
    /// The 8/10-bit 4:2:0 summary, when NVDEC decodes the codec at all.
    support: Option<CodecSupport>,
    /// Every format NVDEC decodes exactly.
    capability: crate::backend::DecodeCapability,
    /// NVDEC engines that decode it (`nNumNVDECs`).
    engines: usize,
    /// Query failures and the engine count, for the report.
    notes: Vec<String>,
}

type ProbeCell = OnceLock<std::result::Result<CodecProbe, String>>;

/// NVDEC's answers for `codec` on device `gpu`, asked once per process, device and codec
/// (`cuvidGetDecoderCaps` for each bit depth and chroma format: milliseconds each, so a
/// decode asks only of its own codec), or why the backend cannot run there.
fn codec_probe(gpu: u32, codec: Codec) -> std::result::Result<&'static CodecProbe, String> {
    // One cell per device and codec, made once and kept (a few per GPU): the lock is held
    // only to find the cell, so that devices and codecs are asked about concurrently.
    static CELLS: std::sync::Mutex<Vec<((u32, Codec), &'static ProbeCell)>> =
        std::sync::Mutex::new(Vec::new());
    let cell: &'static ProbeCell = {
        let mut cells = CELLS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match cells.iter().find(|(key, _)| *key == (gpu, codec)) {
            Some((_, cell)) => cell,
            None => {
                let cell: &'static ProbeCell = Box::leak(Box::new(OnceLock::new()));
                cells.push(((gpu, codec), cell));
                cell
            }
        }
    };
    cell.get_or_init(|| {
        let (lib, device) = base(gpu)?;
        let t = std::time::Instant::now();
        let calls = LibraryCalls::new(lib);
        let mut notes = Vec::new();
        let capability = capability::query(&calls, codec, &device, &mut notes);
        let mut depths = Vec::new();
        let (mut max_w, mut max_h, mut engines) = (0, 0, 0);
        for depth in [8u8, 10] {
            match query_caps(&calls, codec, depth, ffi::cudaVideoChromaFormat_420) {
                Ok(c) if c.bIsSupported != 0 => {
                    depths.push(depth);
                    max_w = max_w.max(c.nMaxWidth);
                    max_h = max_h.max(c.nMaxHeight);
                    if depth == 8 {
                        notes.push(format!("{codec}: {} NVDEC engine(s)", c.nNumNVDECs));
                        engines = usize::from(c.nNumNVDECs);
                    }
                }
                Ok(_) => {}
                Err(e) => notes.push(format!("{codec} {depth}-bit caps: {e}")),
            }
        }
        stats::trace(&format!("probe: {codec} decoder capabilities"), t);
        let support = (!depths.is_empty()).then(|| CodecSupport {
            codec,
            max_width: Some(max_w),
            max_height: Some(max_h),
            bit_depths: depths,
            implementation: "nvdec".into(),
        });
        Ok(CodecProbe {
            support,
            capability,
            engines,
            notes,
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// The backend's start-up and NVDEC's answers for `codec` on device `gpu`, for
/// [`crate::backend::prepare_decode`] on a thread of its own.
pub(crate) fn prepare(gpu: u32, codec: Codec) {
    let _ = codec_probe(gpu, codec);
}

/// How many NVDEC engines of device `gpu` decode `codec` (0 when NVDEC does not decode it
/// there or the backend cannot run).
pub(crate) fn nvdec_engines(gpu: u32, codec: Codec) -> usize {
    codec_probe(gpu, codec).map_or(0, |p| p.engines)
}

/// Every CUDA device with its decode engines and limits for H.264 and HEVC (empty without
/// the driver).
pub(crate) fn gpus() -> Vec<crate::api::gpus::GpuInfo> {
    let Ok(driver) = cuda::driver() else {
        return Vec::new();
    };
    (0..driver.devices)
        .map(|gpu| {
            let mut notes = Vec::new();
            let (pci_bus_id, memory_bytes) = cuda::device_facts(gpu).unwrap_or_else(|e| {
                notes.push(e.to_string());
                (String::new(), 0)
            });
            let mut decoders = Vec::new();
            for codec in [Codec::H264, Codec::Hevc] {
                match codec_probe(gpu, codec) {
                    Ok(p) => {
                        decoders.extend(p.support.as_ref().map(|s| crate::api::gpus::GpuDecoder {
                            codec,
                            engines: p.engines,
                            max_width: s.max_width.unwrap_or(0),
                            max_height: s.max_height.unwrap_or(0),
                        }))
                    }
                    Err(why) => notes.push(why),
                }
            }
            crate::api::gpus::GpuInfo {
                index: gpu,
                name: driver.name(gpu).to_owned(),
                pci_bus_id,
                memory_bytes,
                decoders,
                notes,
            }
        })
        .collect()
}

/// What NVDEC offers on device 0 (encode not asked) for `codecs`.
fn report_for(codecs: &[Codec]) -> BackendReport {
    let device = match base(0) {
        Ok((_, device)) => device,
        Err(why) => return BackendReport::unavailable(Backend::Nvidia, why),
    };
    let mut decode = Vec::new();
    let mut capabilities = Vec::new();
    let mut notes = Vec::new();
    for codec in codecs {
        match codec_probe(0, *codec) {
            Ok(p) => {
                decode.extend(p.support.clone());
                capabilities.push(p.capability.clone());
                notes.extend(p.notes.iter().cloned());
            }
            Err(why) => return BackendReport::unavailable(Backend::Nvidia, why),
        }
    }
    let available = !decode.is_empty();
    BackendReport {
        backend: Backend::Nvidia,
        available,
        detail: if available {
            format!("{device}; {}", notes.join("; "))
        } else {
            format!(
                "{device}: NVDEC decodes none of {} here ({})",
                codecs
                    .iter()
                    .map(|c| c.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                notes.join("; ")
            )
        },
        decode,
        encode: Vec::new(),
        decode_capabilities: capabilities,
        gpus: Vec::new(),
    }
}

/// What NVDEC offers on device 0 for every codec (encode not asked).
fn probe_decode() -> BackendReport {
    report_for(&Codec::ALL)
}

/// What NVDEC offers on device 0 for `codec` alone (encode not asked): what a decode session
/// needs, without asking NVDEC about the other codecs.
pub(crate) fn probe_decode_codec(codec: Codec) -> BackendReport {
    report_for(&[codec])
}

/// What NVDEC decodes of `codec` on device `gpu` (asked once per process and device).
pub(crate) fn decode_capability(gpu: u32, codec: Codec) -> crate::backend::DecodeCapability {
    codec_probe(gpu, codec)
        .map(|p| p.capability.clone())
        .unwrap_or_else(|_| capability::unsupported_on("this GPU", codec, Vec::new()))
}
