//! What NVDEC decodes on this GPU, asked of the hardware (`cuvidGetDecoderCaps`) by the
//! probe, for every bit depth and the chroma formats this adapter outputs (4:2:0, 4:0:0).

use super::calls::NvdecCalls;
use super::codec::{field_coding, nv_codec};
use super::ffi::{self, CUVIDDECODECAPS, cudaVideoChromaFormat};
use crate::api::codec::Codec;
use crate::api::error::Result;
use crate::backend::{Backend, DecodeCapability, FormatLimit};

/// The remedy an NVDEC refusal names.
fn remedy() -> String {
    if cfg!(feature = "sw-ffmpeg") {
        "--backend auto moves the stream to software decoding (FFmpeg)".to_owned()
    } else {
        "build with the sw-ffmpeg feature: --backend auto then moves the stream to software \
         decoding"
            .to_owned()
    }
}

/// Asks NVDEC what it can do for `codec` at `bit_depth` in `chroma` format (a context must be
/// current).
pub(crate) fn query_caps(
    calls: &impl NvdecCalls,
    codec: Codec,
    bit_depth: u8,
    chroma: cudaVideoChromaFormat,
) -> Result<CUVIDDECODECAPS> {
    let mut caps = CUVIDDECODECAPS {
        eCodecType: nv_codec(codec)?,
        eChromaFormat: chroma,
        nBitDepthMinus8: u32::from(bit_depth.saturating_sub(8)),
        ..Default::default()
    };
    calls.decoder_caps(&mut caps)?;
    Ok(caps)
}

/// NVDEC's table for `codec` (a context must be current); `notes` collects query failures.
pub(crate) fn query(
    calls: &impl NvdecCalls,
    codec: Codec,
    gpu: &str,
    notes: &mut Vec<String>,
) -> DecodeCapability {
    let mut formats = Vec::new();
    for bit_depth in [8u8, 10, 12] {
        for (chroma_format_idc, chroma) in [
            (1u8, ffi::cudaVideoChromaFormat_420),
            (0, ffi::cudaVideoChromaFormat_Monochrome),
        ] {
            match query_caps(calls, codec, bit_depth, chroma) {
                Ok(c) if c.bIsSupported != 0 => formats.push(FormatLimit {
                    bit_depth,
                    chroma_format_idc,
                    max_width: c.nMaxWidth,
                    max_height: c.nMaxHeight,
                    max_macroblocks: Some(c.nMaxMBCount),
                }),
                Ok(_) => {}
                Err(e) => notes.push(format!("{codec} {bit_depth}-bit caps: {e}")),
            }
        }
    }
    unsupported_on(gpu, codec, formats)
}

/// A table of `formats` for `codec` on `gpu` (empty: NVDEC refuses every stream of it).
pub(crate) fn unsupported_on(
    gpu: &str,
    codec: Codec,
    formats: Vec<FormatLimit>,
) -> DecodeCapability {
    DecodeCapability {
        backend: Backend::Nvidia,
        implementation: format!("NVDEC on {gpu}"),
        codec,
        profiles: Vec::new(),
        formats,
        field_coding: field_coding(codec),
        inexact: Vec::new(),
        remedy: remedy(),
    }
}
