//! The NVIDIA backend, in three rooms: [`nvdec`] (decode through `libnvcuvid`), [`nvenc`]
//! (encode through `libnvidia-encode`) and [`cuda`] (the driver API through cudarc: context,
//! streams, buffers, pools, kernels, the CUDA transform). Every library is opened at run time,
//! so building needs no CUDA toolkit, SDK or header.
//!
//! - [`probe`]: what the backend offers here, asked once per process.
//! - [`stats`]: process-wide counters (copies, bytes, time, RGB path, decode status).
//! - [`nvml`]: decoder and GPU utilisation through NVML, for reports.

pub(crate) mod cuda;
pub(crate) mod nvdec;
pub(crate) mod nvenc;
pub(crate) mod nvml;
mod probe;
pub(crate) mod stats;

use super::{DecoderBackend, DecoderFactory};
use crate::api::config::DecoderConfig;
use crate::api::error::{Result, VideoError};
/// The CUDA transform and the RGB packing, where `backend/mod.rs` names them.
pub(crate) use cuda::{rgb, transform as cuda_transform};
pub(crate) use nvenc::encoder_factory;
pub use nvenc::{nvenc_abi_layout, nvenc_open_check};
pub(crate) use probe::{
    decode_capability, environment, gpus, nvdec_engines, prepare, probe, probe_decode_codec,
};
use std::sync::OnceLock;

/// A factory that builds the NVDEC decoder on the session's worker thread.
pub(crate) fn decoder_factory(config: &DecoderConfig) -> Result<DecoderFactory> {
    let (lib, device) = probe::environment_on(config.gpu).map_err(VideoError::unsupported)?;
    // A GPU that does not exist is refused here, naming the ones that do.
    cuda::device(config.gpu)?;
    let config = config.clone();
    Ok(Box::new(move || {
        let dec = nvdec::decoder::NvdecDecoder::new(lib, &config, device)?;
        Ok(Box::new(dec) as Box<dyn DecoderBackend>)
    }))
}

/// Size and field offsets of every NVDEC struct this crate declares (for the ABI test).
pub fn nvdec_abi_layout() -> Vec<(&'static str, usize)> {
    nvdec::ffi::abi_layout()
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
