//! What each decoder implementation decodes exactly, and the check a session runs against
//! the stream before the first picture of every sequence.
//!
//! Every implementation (OpenH264, FFmpeg, NVDEC, VideoToolbox) declares one
//! [`DecodeCapability`] per codec, next to its adapter; NVDEC's come from the hardware
//! (`cuvidGetDecoderCaps`). The session compares the [`StreamFeatures`] of the stream (its
//! SPS, and the slice types where a tool is decided there) with the capability of the
//! adapter serving it; a stream the implementation would not decode exactly is refused with
//! `Unsupported`, naming the feature and the remedy. `probe` lists the same tables.

use super::Backend;
use crate::api::codec::Codec;
use crate::api::error::{Result, VideoError};
pub use crate::bitstream::stream_features::CodingTool;
use crate::bitstream::stream_features::{FieldCoding, StreamFeatures, chroma_name, profile_name};

/// A tool an implementation does not decode exactly, in the listed profiles.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InexactTool {
    /// The tool.
    pub tool: CodingTool,
    /// The `profile_idc` values where it is inexact (empty: every profile).
    pub profiles: Vec<u8>,
}

/// One decodable picture format and its size limits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FormatLimit {
    /// Bit depth (luma and chroma).
    pub bit_depth: u8,
    /// `chroma_format_idc` (0 4:0:0, 1 4:2:0, 2 4:2:2, 3 4:4:4).
    pub chroma_format_idc: u8,
    /// Widest coded picture, in luma samples.
    pub max_width: u32,
    /// Tallest coded picture, in luma samples.
    pub max_height: u32,
    /// Most macroblocks (16x16) in a coded picture, when limited apart from the sides.
    pub max_macroblocks: Option<u32>,
}

/// What one decoder implementation decodes exactly for one codec.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DecodeCapability {
    /// The backend it belongs to.
    pub backend: Backend,
    /// The implementation (`OpenH264 2.7.0`, `FFmpeg libavcodec 61.x`, `NVDEC on ...`).
    pub implementation: String,
    /// The codec.
    pub codec: Codec,
    /// The `profile_idc` values decoded (empty: any the formats allow).
    pub profiles: Vec<u8>,
    /// Bit depth x chroma formats decoded, each with its size limits.
    pub formats: Vec<FormatLimit>,
    /// Field codings decoded.
    pub field_coding: Vec<FieldCoding>,
    /// Tools decoded, but not exactly, in some profiles: refused.
    pub inexact: Vec<InexactTool>,
    /// What a user can do when this implementation refuses a stream.
    pub remedy: String,
}

impl DecodeCapability {
    /// `Ok` when this implementation decodes a sequence with `features` exactly; otherwise
    /// `Unsupported`, naming the feature and the remedy.
    pub fn check(&self, features: &StreamFeatures) -> Result<()> {
        self.refusal(features).map_or(Ok(()), |why| {
            Err(VideoError::unsupported(format!("{why}; {}", self.remedy)))
        })
    }

    /// Why `features` is refused (without the remedy), or `None`.
    fn refusal(&self, f: &StreamFeatures) -> Option<String> {
        let imp = &self.implementation;
        let codec = f.codec;
        if codec != self.codec {
            return Some(format!("{imp} does not decode {codec}"));
        }
        if !self.profiles.is_empty() && !self.profiles.contains(&f.profile_idc) {
            return Some(format!(
                "{imp} does not decode {codec} {} profile",
                f.profile_name()
            ));
        }
        let Some(format) = self
            .formats
            .iter()
            .find(|l| l.bit_depth == f.bit_depth && l.chroma_format_idc == f.chroma_format_idc)
        else {
            return Some(format!(
                "{imp} does not decode {}-bit {} {codec}",
                f.bit_depth,
                f.chroma_name()
            ));
        };
        let (w, h) = (f.coded.width(), f.coded.height());
        let mbs = w.div_ceil(16) * h.div_ceil(16);
        if let Some(max) = format.max_macroblocks
            && mbs > max
        {
            return Some(format!(
                "{imp} decodes {codec} pictures of up to {max} macroblocks, this stream's \
                 {w}x{h} has {mbs}"
            ));
        }
        if w > format.max_width || h > format.max_height {
            return Some(format!(
                "{imp} decodes {codec} {}-bit {} up to {}x{}, this stream is {w}x{h}",
                f.bit_depth,
                f.chroma_name(),
                format.max_width,
                format.max_height
            ));
        }
        if !self.field_coding.contains(&f.field_coding) {
            return Some(format!("{imp} does not decode {} {codec}", f.field_coding));
        }
        for rule in &self.inexact {
            if f.uses(rule.tool)
                && (rule.profiles.is_empty() || rule.profiles.contains(&f.profile_idc))
            {
                return Some(format!(
                    "{imp} does not decode {}-profile {} exactly",
                    f.profile_name(),
                    rule.tool
                ));
            }
        }
        None
    }

    /// One line per format and rule, for `probe`.
    pub fn describe(&self) -> String {
        let formats: Vec<String> = self
            .formats
            .iter()
            .map(|l| {
                format!(
                    "{}-bit {} up to {}x{}",
                    l.bit_depth,
                    chroma_name(l.chroma_format_idc),
                    l.max_width,
                    l.max_height
                )
            })
            .collect();
        let profiles = if self.profiles.is_empty() {
            "any profile".to_owned()
        } else {
            let names: Vec<String> = self
                .profiles
                .iter()
                .map(|p| profile_name(self.codec, *p))
                .collect();
            format!("profiles {}", names.join("/"))
        };
        let fields: Vec<String> = self.field_coding.iter().map(|f| f.to_string()).collect();
        let mut line = format!("{profiles}; {}; {}", formats.join(", "), fields.join(", "));
        if let Some(max) = self.formats.iter().filter_map(|l| l.max_macroblocks).max() {
            line.push_str(&format!("; at most {max} macroblocks"));
        }
        for rule in &self.inexact {
            let names: Vec<String> = rule
                .profiles
                .iter()
                .map(|p| profile_name(self.codec, *p))
                .collect();
            let profiles = if names.is_empty() {
                "any profile".to_owned()
            } else {
                names.join("/")
            };
            line.push_str(&format!("; refuses {} ({profiles})", rule.tool));
        }
        line
    }
}

/// Where a session moved from one backend to the next, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hop {
    /// The backend that refused the stream.
    pub from: Backend,
    /// The backend that took over.
    pub to: Backend,
    /// The refusal (an `unsupported:` message naming the feature).
    pub reason: String,
    /// Access units handed to the session before the hop (where the replay began: the last
    /// IDR/IRAP at or before it).
    pub at_access_unit: u64,
}

/// A backend the session may move to, with the factory that builds its adapter.
pub(crate) struct Candidate {
    /// The backend.
    pub backend: Backend,
    /// Builds its adapter on the worker thread.
    pub factory: super::DecoderFactory,
}

/// What adds `codec` support where no backend of this build serves it (`; ...`, or empty).
pub(crate) fn remedy_for(codec: Codec, decode: bool) -> String {
    let what = if decode { "decoding" } else { "encoding" };
    if cfg!(feature = "sw-ffmpeg") {
        format!("; {codec} {what} needs a GPU backend (NVIDIA, VideoToolbox) here")
    } else {
        format!(
            "; for {codec} {what} build with the sw-ffmpeg feature or use a GPU backend \
             (NVIDIA, VideoToolbox)"
        )
    }
}

/// The remedy every software refusal names.
#[cfg_attr(
    not(any(feature = "sw-openh264", feature = "sw-ffmpeg")),
    allow(dead_code, reason = "only the software tables name this remedy")
)]
pub(crate) fn software_remedy() -> String {
    if cfg!(feature = "sw-ffmpeg") {
        "use a GPU backend (NVIDIA, VideoToolbox)".to_owned()
    } else {
        "build with the sw-ffmpeg feature or use a GPU backend".to_owned()
    }
}

/// Formats of `depths` x `chromas`, all up to `max` x `max`.
pub(crate) fn formats(depths: &[u8], chromas: &[u8], max: (u32, u32)) -> Vec<FormatLimit> {
    depths
        .iter()
        .flat_map(|&bit_depth| {
            chromas.iter().map(move |&chroma_format_idc| FormatLimit {
                bit_depth,
                chroma_format_idc,
                max_width: max.0,
                max_height: max.1,
                max_macroblocks: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::codec::Dimensions;
    use crate::api::error::ErrorKind;

    fn features(profile_idc: u8, b_slices: bool) -> StreamFeatures {
        let tools = if b_slices {
            vec![CodingTool::BPictures]
        } else {
            Vec::new()
        };
        StreamFeatures {
            codec: Codec::H264,
            profile_idc,
            bit_depth: 8,
            chroma_format_idc: 1,
            coded: Dimensions::new(320, 240).unwrap(),
            field_coding: FieldCoding::Progressive,
            tools,
        }
    }

    fn capability() -> DecodeCapability {
        DecodeCapability {
            backend: Backend::Software,
            implementation: "Test".into(),
            codec: Codec::H264,
            profiles: Vec::new(),
            formats: formats(&[8], &[1], (1920, 1080)),
            field_coding: vec![FieldCoding::Progressive],
            inexact: vec![InexactTool {
                tool: CodingTool::BPictures,
                profiles: vec![100],
            }],
            remedy: "use another".into(),
        }
    }

    #[test]
    fn a_refusal_names_the_feature_and_the_remedy() {
        let c = capability();
        assert!(c.check(&features(100, false)).is_ok());
        assert!(c.check(&features(77, true)).is_ok());
        let e = c.check(&features(100, true)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert_eq!(
            e.to_string(),
            "unsupported: Test does not decode High-profile B-pictures exactly; use another"
        );
        let mut ten = features(110, false);
        ten.bit_depth = 10;
        assert!(
            c.check(&ten)
                .unwrap_err()
                .to_string()
                .contains("10-bit 4:2:0")
        );
        let mut big = features(100, false);
        big.coded = Dimensions::new(4096, 2160).unwrap();
        assert!(
            c.check(&big)
                .unwrap_err()
                .to_string()
                .contains("up to 1920x1080")
        );
        let mut field = features(77, false);
        field.field_coding = FieldCoding::Mbaff;
        assert!(c.check(&field).unwrap_err().to_string().contains("MBAFF"));
    }
}
