//! The Apple half of the VideoToolbox backend (Apple platforms with `backend-vt` only): the
//! real implementation of the calls (`videotoolbox::calls`) over `VTDecompressionSession`,
//! `VTCompressionSession`, Core Media, Core Video, and the Metal NV12 -> RGB conversion. All
//! of the backend's `unsafe` is here; the control logic is in `videotoolbox::{decoder,
//! encoder}`.
//!
//! Everything that needs no Apple call lives in the parent module and is tested on every
//! platform. This module has been type-checked for `aarch64-apple-darwin` but has not yet run
//! on a Mac.

mod callback;
mod cf;
mod decode;
mod encode;
mod metal;

use super::calls::{MetalCalls, MetalOpener};
use super::capability;
use super::decoder::VtDecoder;
use super::encoder::VtEncoder;
use crate::api::codec::Codec;
use crate::api::config::{DecoderConfig, EncoderConfig};
use crate::api::error::Result;
use crate::backend::Backend;
use crate::backend::{BackendReport, CodecSupport, DecoderFactory, EncoderFactory};
use objc2_core_media::{CMVideoCodecType, kCMVideoCodecType_H264, kCMVideoCodecType_HEVC};
use objc2_video_toolbox::VTIsHardwareDecodeSupported;

/// The codecs this backend opens sessions for.
const VT_CODECS: [Codec; 2] = [Codec::H264, Codec::Hevc];

/// The Core Media codec type of `codec`; `Unsupported` for codecs this backend does not
/// open sessions for.
pub(crate) fn codec_type(codec: Codec) -> Result<CMVideoCodecType> {
    match codec {
        Codec::H264 => Ok(kCMVideoCodecType_H264),
        Codec::Hevc => Ok(kCMVideoCodecType_HEVC),
        other => Err(crate::api::error::VideoError::unsupported(format!(
            "VideoToolbox sessions are opened for H.264 and HEVC here, not {other}"
        ))),
    }
}

/// What VideoToolbox offers here: H.264 and HEVC, decode and encode (VideoToolbox falls back
/// to Apple's software codecs where the hardware lacks one; the detail says which are
/// hardware).
pub(crate) fn probe() -> BackendReport {
    let support = |codec| CodecSupport {
        codec,
        max_width: None,
        max_height: None,
        bit_depths: vec![8],
        implementation: "VideoToolbox".to_string(),
    };
    let hw = |codec| {
        // SAFETY: a plain query taking a codec type by value.
        codec_type(codec).is_ok_and(|t| unsafe { VTIsHardwareDecodeSupported(t) })
    };
    BackendReport {
        backend: Backend::VideoToolbox,
        available: true,
        detail: format!(
            "VideoToolbox; hardware decode: h264={}, hevc={}",
            hw(Codec::H264),
            hw(Codec::Hevc)
        ),
        decode: VT_CODECS.iter().map(|c| support(*c)).collect(),
        encode: VT_CODECS.iter().map(|c| support(*c)).collect(),
        decode_capabilities: VT_CODECS
            .iter()
            .map(|c| capability::decode_capability(*c))
            .collect(),
        gpus: Vec::new(),
    }
}

/// A factory that opens a VideoToolbox decoder on the worker thread.
pub(crate) fn decoder_factory(config: &DecoderConfig) -> Result<DecoderFactory> {
    codec_type(config.codec)?;
    let config = config.clone();
    Ok(Box::new(move || {
        let metal: MetalOpener<cf::SendPixelBuffer> = Box::new(|target| {
            metal::MetalConverter::new(target)
                .map(|m| Box::new(m) as Box<dyn MetalCalls<cf::SendPixelBuffer>>)
        });
        let decoder = VtDecoder::new(decode::AppleDecodeCalls, config, metal)?;
        Ok(Box::new(decoder) as Box<dyn crate::backend::DecoderBackend>)
    }))
}

/// A factory that opens a VideoToolbox encoder on the worker thread.
pub(crate) fn encoder_factory(config: &EncoderConfig) -> Result<EncoderFactory> {
    config.validate()?;
    super::sample::output_layout(config.codec, config.layout)?;
    let config = config.clone();
    Ok(Box::new(move || {
        let encoder = VtEncoder::new(encode::AppleEncodeCalls, config)?;
        Ok(Box::new(encoder) as Box<dyn crate::backend::EncoderBackend>)
    }))
}
