//! NVENC encode: `libnvidia-encode` opened at run time, our own FFI ([`ffi`], checked against
//! `nvEncodeAPI.h` by `tests/nvenc_abi.rs`), the NVENC calls behind a trait ([`calls`]) and
//! the adapter with its buffer ring ([`encoder`]).
//!
//! NVENC encode has not yet run on hardware with an NVENC engine: what is checked is the
//! ABI, our ring/reap/switch logic against a double of the calls ([`double`], tests only),
//! and the `Unsupported` answer on GPUs without NVENC (the H100).

pub(crate) mod calls;
#[cfg(test)]
mod double;
pub(crate) mod encoder;
pub(crate) mod ffi;
pub(crate) mod library;

use super::super::{CodecSupport, EncoderBackend, EncoderFactory};
use crate::api::config::EncoderConfig;
use crate::api::error::{Result, VideoError};
use std::sync::OnceLock;

/// Opens a session for `codec` on device `gpu`, or says why NVENC cannot run here
/// (`Unsupported`).
fn open(codec: crate::api::codec::Codec, gpu: u32) -> Result<calls::DriverCalls> {
    let lib = library::library()
        .map_err(|why| VideoError::unsupported(format!("NVENC is not available: {why}")))?;
    calls::DriverCalls::open(lib, codec, gpu).map_err(|e| {
        if e.kind() == crate::api::error::ErrorKind::Unsupported {
            e.while_doing("NVENC is not available on this GPU")
        } else {
            e
        }
    })
}

/// What NVENC encodes here: found by opening (and closing) a session, once per process.
/// `Err` says why encode is not offered.
pub(crate) fn probe() -> std::result::Result<Vec<CodecSupport>, String> {
    static REPORT: OnceLock<std::result::Result<Vec<CodecSupport>, String>> = OnceLock::new();
    REPORT
        .get_or_init(|| {
            let session = open(crate::api::codec::Codec::H264, 0).map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            for codec in encoder::CODECS {
                if let Ok((w, h)) = session.max_size(codec)
                    && w > 0
                    && h > 0
                {
                    out.push(CodecSupport {
                        codec,
                        max_width: Some(w),
                        max_height: Some(h),
                        bit_depths: vec![8],
                        implementation: "nvenc".into(),
                    });
                }
            }
            if out.is_empty() {
                return Err("NVENC opened a session but reports no H.264/HEVC encode".into());
            }
            Ok(out)
        })
        .clone()
}

/// A factory that builds the NVENC encoder on the session's worker thread.
pub(crate) fn encoder_factory(config: &EncoderConfig) -> Result<EncoderFactory> {
    library::library()
        .map_err(|why| VideoError::unsupported(format!("NVENC is not available: {why}")))?;
    let config = config.clone();
    Ok(Box::new(move || {
        let calls = open(config.codec, config.gpu)?;
        let enc = encoder::NvencEncoder::new(
            calls,
            &config,
            encoder::NvencOptions::default(),
            format!(
                "nvenc (API {}.{})",
                ffi::NVENCAPI_MAJOR_VERSION,
                ffi::NVENCAPI_MINOR_VERSION
            ),
        )?;
        Ok(Box::new(enc) as Box<dyn EncoderBackend>)
    }))
}

/// Opens an NVENC session on device 0 and closes it: `Ok` where NVENC can encode `codec`,
/// otherwise the error a session would get (for tests and tools).
pub fn nvenc_open_check(codec: crate::api::codec::Codec) -> Result<()> {
    open(codec, 0).map(drop)
}

/// Sizes, offsets and constants of every NVENC declaration (for the ABI test).
pub fn nvenc_abi_layout() -> Vec<(String, usize)> {
    ffi::abi_layout()
}
