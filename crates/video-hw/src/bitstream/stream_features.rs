//! What a stream asks of a decoder: the features that decide whether a decoder
//! implementation decodes it exactly.
//!
//! Most features come from the sequence parameter set (profile, bit depth, chroma format,
//! field coding, size). Coding tools are decided by the PPS and the slice headers (whether
//! B-pictures occur, with the deblocking filter; scaling matrices in the PPS), so
//! [`StreamFeatureTracker`] reads every H.264 slice header and reports the features again
//! when a tool first appears in a sequence.

use super::access_unit::AccessUnit;
use super::nal::{self, h264_type, hevc_type};
use super::sps::{h264_sps, h264_stream_info, parse_hevc_sps};
use crate::api::codec::{Codec, Dimensions};
use crate::api::error::Result;
use h264_reader::Context;
use h264_reader::nal::NalHeader;
use h264_reader::nal::pps::PicParameterSet;
use h264_reader::nal::slice::{SliceFamily, SliceHeader};
use h264_reader::nal::sps::FrameMbsFlags;
use std::fmt;

/// An H.264 coding tool, decided by the PPS and slice headers, that some decoders do not
/// decode exactly.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CodingTool {
    /// B-slices (bi-predicted pictures).
    BPictures,
    /// B-slices with the deblocking filter on (`disable_deblocking_filter_idc` != 1).
    DeblockedBPictures,
    /// Scaling matrices sent in a PPS (`pic_scaling_matrix_present_flag` = 1).
    PictureScalingMatrix,
}

impl fmt::Display for CodingTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CodingTool::BPictures => "B-pictures",
            CodingTool::DeblockedBPictures => "B-pictures with the deblocking filter",
            CodingTool::PictureScalingMatrix => "pictures with PPS scaling matrices",
        })
    }
}

/// How the pictures of a sequence are coded with respect to fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldCoding {
    /// Frames only (H.264 `frame_mbs_only_flag` = 1; every HEVC stream).
    Progressive,
    /// Field pictures may occur (H.264 `frame_mbs_only_flag` = 0): PAFF.
    Fields,
    /// Field pictures and macroblock-adaptive frame/field coding (`mb_adaptive_frame_field_flag`).
    Mbaff,
}

impl fmt::Display for FieldCoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldCoding::Progressive => "progressive",
            FieldCoding::Fields => "interlaced (field pictures)",
            FieldCoding::Mbaff => "interlaced (MBAFF)",
        })
    }
}

/// The features of one coded video sequence that decide whether a decoder decodes it exactly.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreamFeatures {
    /// The codec.
    pub codec: Codec,
    /// `profile_idc` (H.264) / `general_profile_idc` (HEVC).
    pub profile_idc: u8,
    /// The larger of the luma and chroma bit depths.
    pub bit_depth: u8,
    /// `chroma_format_idc` (0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4).
    pub chroma_format_idc: u8,
    /// Coded size.
    pub coded: Dimensions,
    /// Field coding allowed by the SPS.
    pub field_coding: FieldCoding,
    /// The coding tools seen in the sequence so far, sorted (H.264 only: HEVC slices are not
    /// read, and this stays empty).
    pub tools: Vec<CodingTool>,
}

impl StreamFeatures {
    /// The features an SPS NAL unit (header included) states; `tools` starts empty.
    pub fn from_sps(codec: Codec, sps: &[u8]) -> Result<Self> {
        match codec {
            Codec::H264 => {
                let parsed = h264_sps(sps)?;
                let info = h264_stream_info(&parsed)?;
                let field_coding = match parsed.frame_mbs_flags {
                    FrameMbsFlags::Frames => FieldCoding::Progressive,
                    FrameMbsFlags::Fields {
                        mb_adaptive_frame_field_flag: false,
                    } => FieldCoding::Fields,
                    FrameMbsFlags::Fields {
                        mb_adaptive_frame_field_flag: true,
                    } => FieldCoding::Mbaff,
                };
                Ok(Self {
                    codec,
                    profile_idc: info.profile_idc,
                    bit_depth: info.bit_depth_luma.max(info.bit_depth_chroma),
                    chroma_format_idc: info.chroma_format_idc,
                    coded: info.coded,
                    field_coding,
                    tools: Vec::new(),
                })
            }
            Codec::Hevc => {
                let info = parse_hevc_sps(sps)?;
                Ok(Self {
                    codec,
                    profile_idc: info.profile_idc,
                    bit_depth: info.bit_depth_luma.max(info.bit_depth_chroma),
                    chroma_format_idc: info.chroma_format_idc,
                    coded: info.coded,
                    field_coding: FieldCoding::Progressive,
                    tools: Vec::new(),
                })
            }
            other => Err(crate::api::error::VideoError::unsupported(format!(
                "{other} has no sequence parameter set"
            ))),
        }
    }

    /// The profile's name (`High`, `Main 10`, ...), or its number when unknown.
    pub fn profile_name(&self) -> String {
        profile_name(self.codec, self.profile_idc)
    }

    /// The chroma format as `4:2:0`, `4:2:2`, `4:4:4` or `4:0:0`.
    pub fn chroma_name(&self) -> &'static str {
        chroma_name(self.chroma_format_idc)
    }

    /// Whether `tool` occurred in the sequence so far.
    pub fn uses(&self, tool: CodingTool) -> bool {
        self.tools.contains(&tool)
    }

    /// Adds `tool`; `true` when it is new.
    fn add(&mut self, tool: CodingTool) -> bool {
        match self.tools.binary_search(&tool) {
            Ok(_) => false,
            Err(i) => {
                self.tools.insert(i, tool);
                true
            }
        }
    }
}

impl fmt::Display for StreamFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} profile, {}-bit {}, {}, {}",
            self.codec,
            self.profile_name(),
            self.bit_depth,
            self.chroma_name(),
            self.coded,
            self.field_coding,
        )?;
        for t in &self.tools {
            write!(f, ", {t}")?;
        }
        Ok(())
    }
}

/// The name of a profile (`profile_idc` / `general_profile_idc`), or `profile N`.
pub fn profile_name(codec: Codec, profile_idc: u8) -> String {
    let known = match (codec, profile_idc) {
        (Codec::H264, 66) => "Baseline",
        (Codec::H264, 77) => "Main",
        (Codec::H264, 88) => "Extended",
        (Codec::H264, 100) => "High",
        (Codec::H264, 110) => "High 10",
        (Codec::H264, 122) => "High 4:2:2",
        (Codec::H264, 244) => "High 4:4:4 Predictive",
        (Codec::H264, 44) => "CAVLC 4:4:4 Intra",
        (Codec::Hevc, 1) => "Main",
        (Codec::Hevc, 2) => "Main 10",
        (Codec::Hevc, 3) => "Main Still Picture",
        (Codec::Hevc, 4) => "Range Extensions",
        _ => return format!("profile {profile_idc}"),
    };
    known.to_owned()
}

/// `4:0:0`, `4:2:0`, `4:2:2` or `4:4:4` for a `chroma_format_idc`.
pub fn chroma_name(chroma_format_idc: u8) -> &'static str {
    match chroma_format_idc {
        0 => "4:0:0",
        1 => "4:2:0",
        2 => "4:2:2",
        _ => "4:4:4",
    }
}

/// Follows the features of a stream access unit by access unit.
///
/// The latest SPS whose content differs from the one before starts a new set of features
/// (streams that keep several SPSs active at once are judged by the latest one). A coding
/// tool that first appears in a slice of the sequence updates them too.
pub struct StreamFeatureTracker {
    codec: Codec,
    last_sps: Option<Vec<u8>>,
    current: Option<StreamFeatures>,
    /// H.264 parameter sets, to read slice headers.
    h264: Context,
}

impl fmt::Debug for StreamFeatureTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamFeatureTracker")
            .field("codec", &self.codec)
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl StreamFeatureTracker {
    /// A tracker that has seen nothing yet.
    pub fn new(codec: Codec) -> Self {
        Self {
            codec,
            last_sps: None,
            current: None,
            h264: Context::new(),
        }
    }

    /// The features known so far.
    pub fn current(&self) -> Option<&StreamFeatures> {
        self.current.as_ref()
    }

    /// Reads the parameter sets and slice headers of `au`. Returns the features when they
    /// changed (a new SPS, or a tool new to the sequence), so that the decoder can be checked
    /// again before the access unit is decoded. A malformed parameter set or slice header is
    /// left for the decoder to report.
    pub fn observe(&mut self, au: &AccessUnit) -> Option<&StreamFeatures> {
        let mut changed = false;
        for n in &au.nals {
            let Some(t) = nal::nal_type(self.codec, n) else {
                continue;
            };
            match self.codec {
                Codec::H264 if t == h264_type::SPS => changed |= self.new_sps(n),
                Codec::Hevc if t == hevc_type::SPS => changed |= self.new_sps(n),
                Codec::H264 if t == h264_type::PPS => {
                    if let Ok(pps) =
                        PicParameterSet::from_bits(&self.h264, nal::rbsp_reader(self.codec, n))
                    {
                        self.h264.put_pic_param_set(pps);
                    }
                }
                Codec::H264 if nal::is_vcl(self.codec, n) => changed |= self.h264_slice(n),
                _ => {}
            }
        }
        if changed { self.current.as_ref() } else { None }
    }

    fn new_sps(&mut self, n: &[u8]) -> bool {
        if self.last_sps.as_deref() == Some(n) {
            return false;
        }
        let Ok(f) = StreamFeatures::from_sps(self.codec, n) else {
            return false;
        };
        if self.codec == Codec::H264
            && let Ok(sps) = h264_sps(n)
        {
            self.h264.put_seq_param_set(sps);
        }
        self.last_sps = Some(n.to_vec());
        self.current = Some(f);
        true
    }

    /// Notes the tools of one H.264 slice; `true` when one is new to the sequence.
    fn h264_slice(&mut self, n: &[u8]) -> bool {
        let Some(features) = self.current.as_mut() else {
            return false;
        };
        let Some(header) = n.first().and_then(|b| NalHeader::new(*b).ok()) else {
            return false;
        };
        let mut r = nal::rbsp_reader(Codec::H264, n);
        let mut tools = Vec::new();
        match SliceHeader::from_bits(&self.h264, &mut r, header, None) {
            Ok((slice, _, pps)) => {
                if pps
                    .extension
                    .as_ref()
                    .is_some_and(|e| e.pic_scaling_matrix.is_some())
                {
                    tools.push(CodingTool::PictureScalingMatrix);
                }
                if slice.slice_type.family == SliceFamily::B {
                    tools.push(CodingTool::BPictures);
                    if slice.disable_deblocking_filter_idc != 1 {
                        tools.push(CodingTool::DeblockedBPictures);
                    }
                }
            }
            // Without its parameter sets the header cannot be read in full: the slice type
            // still can.
            Err(_) => {
                if nal::h264_slice_start(n).is_ok_and(|s| s.slice_type % 5 == 1) {
                    tools.push(CodingTool::BPictures);
                }
            }
        }
        tools
            .into_iter()
            .fold(false, |new, t| features.add(t) | new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SPS of a 320x240 Constrained Baseline stream made by libx264.
    const SPS_BASELINE: [u8; 24] = [
        0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10,
        0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0xa4, 0x80,
    ];
    /// The SPS of a 320x240 High stream made by libx264 with `-flags +ildct+ilme`.
    const SPS_INTERLACED: [u8; 26] = [
        0x67, 0x64, 0x00, 0x15, 0xac, 0xd9, 0x41, 0x41, 0x0f, 0xcb, 0x80, 0x88, 0x00, 0x00, 0x03,
        0x00, 0x08, 0x00, 0x00, 0x03, 0x01, 0x90, 0xf8, 0xa1, 0x4c, 0xb0,
    ];

    #[test]
    fn an_sps_states_profile_depth_chroma_size_and_field_coding() {
        let f = StreamFeatures::from_sps(Codec::H264, &SPS_BASELINE).unwrap();
        assert_eq!(f.profile_idc, 66);
        assert_eq!(f.profile_name(), "Baseline");
        assert_eq!((f.bit_depth, f.chroma_format_idc), (8, 1));
        assert_eq!(f.coded, Dimensions::new(320, 240).unwrap());
        assert_eq!(f.field_coding, FieldCoding::Progressive);
        assert!(f.tools.is_empty());
        let i = StreamFeatures::from_sps(Codec::H264, &SPS_INTERLACED).unwrap();
        assert_eq!(i.profile_name(), "High");
        assert_ne!(i.field_coding, FieldCoding::Progressive);
    }

    #[test]
    fn the_tracker_reports_a_new_sps_once_and_a_first_b_slice() {
        let mut t = StreamFeatureTracker::new(Codec::H264);
        let idr = AccessUnit::from_nals(
            Codec::H264,
            vec![SPS_BASELINE.to_vec(), vec![0x65, 0x88]],
            None,
        );
        assert!(t.observe(&idr).is_some());
        assert!(t.observe(&idr).is_none(), "the same SPS again is no change");
        // slice_type 1 (B): first_mb 0 -> '1', slice_type 1 -> '010', pps 0 -> '1': 1010 1...
        // (no PPS is known, so only the slice type is read).
        let b = AccessUnit::from_nals(Codec::H264, vec![vec![0x01, 0xa8]], None);
        assert!(
            t.observe(&b)
                .is_some_and(|f| f.tools == [CodingTool::BPictures])
        );
        assert!(t.observe(&b).is_none());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_nal_units_never_panic(nals in proptest::collection::vec(
            proptest::collection::vec(proptest::num::u8::ANY, 0..40), 0..6)) {
            for codec in [Codec::H264, Codec::Hevc] {
                let mut t = StreamFeatureTracker::new(codec);
                let au = AccessUnit::from_nals(codec, nals.clone(), None);
                let _ = t.observe(&au);
            }
        }
    }
}
