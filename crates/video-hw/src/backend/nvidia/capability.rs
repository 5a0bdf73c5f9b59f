//! What NVDEC decodes on this GPU, asked of the hardware (`cuvidGetDecoderCaps`) by the
//! probe, for every bit depth and the chroma formats this adapter outputs (4:2:0, 4:0:0).

use super::decoder::query_caps;
use super::ffi::{self, Nvcuvid};
use crate::api::codec::Codec;
use crate::backend::{Backend, DecodeCapability, FormatLimit};
use crate::bitstream::stream_features::FieldCoding;

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

/// NVDEC's table for `codec` (a context must be current); `notes` collects query failures.
pub(super) fn query(
    lib: &Nvcuvid,
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
            match query_caps(lib, codec, bit_depth, chroma) {
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
pub(super) fn unsupported_on(
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
        field_coding: match codec {
            Codec::H264 => vec![
                FieldCoding::Progressive,
                FieldCoding::Fields,
                FieldCoding::Mbaff,
            ],
            // Every other codec codes frames only.
            _ => vec![FieldCoding::Progressive],
        },
        inexact: Vec::new(),
        remedy: remedy(),
    }
}
