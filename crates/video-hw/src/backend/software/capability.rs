//! What the software decoders decode exactly.
//!
//! OpenH264's table comes from decoding every H.264 row of the conformance suite and streams
//! made with libx264 (see `docs/architecture.md`, "Capability checks and fallback"), compared
//! with FFmpeg's MD5: what it gets wrong is refused.

// Without a software decoder in the build (the macOS check) the tables are not built.
#![cfg_attr(
    not(any(feature = "sw-openh264", feature = "sw-ffmpeg")),
    allow(unused_imports)
)]

use crate::api::codec::Codec;
use crate::backend::capability::{formats, software_remedy};
use crate::backend::{Backend, CodingTool, DecodeCapability, FormatLimit, InexactTool};
use crate::bitstream::stream_features::FieldCoding;

/// OpenH264's largest picture side (4096x2304 and 2160x3840 decode exactly, 4112x2160 not).
#[cfg(feature = "sw-openh264")]
const OPENH264_MAX: (u32, u32) = (4096, 4096);
/// OpenH264's largest picture in macroblocks, its level 5.2 frame size (4096x2304 decodes,
/// 4096x2320 and 4096x4096 fail with "no parameter sets").
#[cfg(feature = "sw-openh264")]
const OPENH264_MAX_MBS: u32 = 36864;

/// What OpenH264 decodes exactly. Found against FFmpeg's MD5:
/// - B-pictures with the deblocking filter drift (every libx264 stream with B-frames, Main or
///   High, spatial or temporal direct, with or without weighted prediction; 10 conformance
///   rows); the same streams with `no-deblock` are exact, as are temporal direct and CAVLC
///   with the 8x8 transform on their own.
/// - PPS scaling matrices fail at the first keyframe (FRExt1_Panasonic).
/// - Field coding, 4:0:0, 4:2:2, 4:4:4, more than 8 bits and pictures above 36864
///   macroblocks are not decoded (errors or wrong pictures).
#[cfg(feature = "sw-openh264")]
pub(crate) fn openh264() -> DecodeCapability {
    DecodeCapability {
        backend: Backend::Software,
        implementation: format!("OpenH264 {}", super::openh264::OPENH264_VERSION),
        codec: Codec::H264,
        profiles: Vec::new(),
        formats: formats(&[8], &[1], OPENH264_MAX)
            .into_iter()
            .map(|l| FormatLimit {
                max_macroblocks: Some(OPENH264_MAX_MBS),
                ..l
            })
            .collect(),
        field_coding: vec![FieldCoding::Progressive],
        inexact: [
            CodingTool::DeblockedBPictures,
            CodingTool::PictureScalingMatrix,
        ]
        .into_iter()
        .map(|tool| InexactTool {
            tool,
            profiles: Vec::new(),
        })
        .collect(),
        remedy: software_remedy(),
    }
}

/// What FFmpeg's decoder, as this backend wires it, decodes exactly: every profile and
/// field coding of `codec`, 4:2:0 (and 4:0:0) at 8 or 10 bits (its output is I420 or P016).
#[cfg(feature = "sw-ffmpeg")]
pub(crate) fn ffmpeg(codec: Codec, version: &str) -> DecodeCapability {
    DecodeCapability {
        backend: Backend::Software,
        implementation: format!("FFmpeg {version}"),
        codec,
        profiles: Vec::new(),
        // 4:0:0 comes out of libavcodec as 4:2:0 with neutral chroma (HPCAMOLQ/HPCVMOLQ exact).
        formats: formats(&[8, 10], &[0, 1], (16384, 16384)),
        field_coding: vec![
            FieldCoding::Progressive,
            FieldCoding::Fields,
            FieldCoding::Mbaff,
        ],
        inexact: Vec::new(),
        remedy: software_remedy(),
    }
}
