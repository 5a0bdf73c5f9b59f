//! Between parameter sets and MP4 sample entries (`avc1`/`avc3` + `avcC`,
//! `hvc1`/`hev1` + `hvcC`).
//!
//! The boxes are encoded and decoded by `shiguredo_mp4`; the record fields that repeat the
//! SPS (profile, level, chroma format, bit depth) and the picture size come from the
//! bitstream layer ([`crate::bitstream::avcc`], [`crate::bitstream::hvcc`],
//! [`crate::bitstream::sps`]).

use super::mp4_error;
use crate::api::codec::Codec;
use crate::api::error::{Result, VideoError};
use crate::bitstream::avcc::AvcDecoderConfigurationRecord;
use crate::bitstream::hvcc::HevcDecoderConfigurationRecord;
use crate::bitstream::nal::nal_type;
use crate::bitstream::sps::{parse_h264_sps, parse_hevc_sps};
use shiguredo_mp4::boxes::{
    Avc1Box, AvccBox, Hev1Box, HvccBox, HvccNalUintArray, SampleEntry, UnknownBox,
    VisualSampleEntryFields,
};
use shiguredo_mp4::{BaseBox, BoxHeader, BoxSize, BoxType, Decode, Encode, Uint};

/// Sample-entry type of H.264 with parameter sets allowed in band.
const AVC3: BoxType = BoxType::Normal(*b"avc3");

/// The parameter sets of a stream, by kind, each as a raw NAL unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ParameterSets {
    /// Video parameter sets (HEVC only).
    pub vps: Vec<Vec<u8>>,
    /// Sequence parameter sets.
    pub sps: Vec<Vec<u8>>,
    /// Picture parameter sets.
    pub pps: Vec<Vec<u8>>,
}

impl ParameterSets {
    /// All of them in decoding order (VPS, SPS, PPS).
    pub fn all(&self) -> Vec<Vec<u8>> {
        self.vps
            .iter()
            .chain(&self.sps)
            .chain(&self.pps)
            .cloned()
            .collect()
    }

    /// The parameter sets among `nals`, or `None` when there are none.
    pub fn from_nals(codec: Codec, nals: &[Vec<u8>]) -> Option<Self> {
        let mut sets = ParameterSets::default();
        for nal in nals {
            match record_kind(codec, nal) {
                Some(RecordKind::Vps) => sets.vps.push(nal.clone()),
                Some(RecordKind::Sps) => sets.sps.push(nal.clone()),
                Some(RecordKind::Pps) => sets.pps.push(nal.clone()),
                None => {}
            }
        }
        (!sets.vps.is_empty() || !sets.sps.is_empty() || !sets.pps.is_empty()).then_some(sets)
    }

    /// `self` with the kinds present in `update` replaced by `update`'s.
    pub fn updated_with(&self, update: &ParameterSets) -> ParameterSets {
        let pick = |new: &Vec<Vec<u8>>, old: &Vec<Vec<u8>>| {
            if new.is_empty() {
                old.clone()
            } else {
                new.clone()
            }
        };
        ParameterSets {
            vps: pick(&update.vps, &self.vps),
            sps: pick(&update.sps, &self.sps),
            pps: pick(&update.pps, &self.pps),
        }
    }
}

/// The parameter sets a decoder configuration record carries.
enum RecordKind {
    Vps,
    Sps,
    Pps,
}

fn record_kind(codec: Codec, nal: &[u8]) -> Option<RecordKind> {
    match (codec, nal_type(codec, nal)?) {
        (Codec::Hevc, 32) => Some(RecordKind::Vps),
        (Codec::Hevc, 33) | (Codec::H264, 7) => Some(RecordKind::Sps),
        (Codec::Hevc, 34) | (Codec::H264, 8) => Some(RecordKind::Pps),
        _ => None,
    }
}

/// Whether `nal` is a parameter set that an `avcC`/`hvcC` record carries (VPS, SPS, PPS;
/// not H.264 SPS extensions or subset SPS, which stay in band).
pub(super) fn is_record_parameter_set(codec: Codec, nal: &[u8]) -> bool {
    record_kind(codec, nal).is_some()
}

/// What the demuxer needs from a video sample entry.
#[derive(Debug, Clone)]
pub(super) struct VideoEntry {
    /// The codec.
    pub codec: Codec,
    /// The sample-entry type (`avc1`, `avc3`, `hvc1`, `hev1`).
    pub fourcc: String,
    /// Width and height in the entry.
    pub width: u16,
    /// Height in the entry.
    pub height: u16,
    /// Bytes in each NAL length prefix.
    pub length_size: u8,
    /// Parameter sets of the decoder configuration record.
    pub params: ParameterSets,
}

/// Reads a video sample entry; `Unsupported` for codecs other than H.264 and HEVC.
pub(super) fn read_sample_entry(entry: &SampleEntry) -> Result<VideoEntry> {
    match entry {
        SampleEntry::Avc1(b) => Ok(avc_entry("avc1", &b.visual, &b.avcc_box)),
        SampleEntry::Hvc1(b) => Ok(hevc_entry("hvc1", &b.visual, &b.hvcc_box)),
        SampleEntry::Hev1(b) => Ok(hevc_entry("hev1", &b.visual, &b.hvcc_box)),
        SampleEntry::Unknown(b) if b.box_type == AVC3 => read_avc3(b),
        other => Err(VideoError::unsupported(format!(
            "video sample entry `{}` cannot be decoded here (supported: H.264 avc1/avc3, HEVC hvc1/hev1)",
            sample_entry_name(other)
        ))),
    }
}

/// The four-character type of a sample entry.
pub(super) fn sample_entry_name(entry: &SampleEntry) -> String {
    entry.box_type().to_string()
}

fn avc_entry(fourcc: &str, visual: &VisualSampleEntryFields, avcc: &AvccBox) -> VideoEntry {
    VideoEntry {
        codec: Codec::H264,
        fourcc: fourcc.into(),
        width: visual.width,
        height: visual.height,
        length_size: avcc.length_size_minus_one.get().saturating_add(1),
        params: ParameterSets {
            vps: Vec::new(),
            sps: avcc.sps_list.clone(),
            pps: avcc.pps_list.clone(),
        },
    }
}

fn hevc_entry(fourcc: &str, visual: &VisualSampleEntryFields, hvcc: &HvccBox) -> VideoEntry {
    let mut params = ParameterSets::default();
    for array in &hvcc.nalu_arrays {
        let list = match array.nal_unit_type.get() {
            32 => &mut params.vps,
            33 => &mut params.sps,
            34 => &mut params.pps,
            _ => continue, // SEI arrays are not parameter sets
        };
        list.extend(array.nalus.iter().cloned());
    }
    VideoEntry {
        codec: Codec::Hevc,
        fourcc: fourcc.into(),
        width: visual.width,
        height: visual.height,
        length_size: hvcc.length_size_minus_one.get().saturating_add(1),
        params,
    }
}

/// `avc3` is laid out like `avc1`; the MP4 crate keeps it as an unknown box, so its
/// fields and `avcC` child are decoded here with the crate's decoders.
fn read_avc3(b: &UnknownBox) -> Result<VideoEntry> {
    let bad = |e| mp4_error("avc3 sample entry", e);
    let (visual, mut offset) = VisualSampleEntryFields::decode(&b.payload).map_err(bad)?;
    while let Some(rest) = b.payload.get(offset..).filter(|r| !r.is_empty()) {
        let (header, _) = BoxHeader::decode(rest).map_err(bad)?;
        if header.box_type == AvccBox::TYPE {
            let (avcc, _) = AvccBox::decode(rest).map_err(bad)?;
            return Ok(avc_entry("avc3", &visual, &avcc));
        }
        let (_, size) = UnknownBox::decode(rest).map_err(bad)?;
        offset = offset.saturating_add(size);
    }
    Err(VideoError::invalid_bitstream(
        "avc3 sample entry has no avcC box",
    ))
}

/// Builds the sample entry for `params`. `in_band` selects the entry types that allow
/// parameter sets inside samples (`avc3`/`hev1`); otherwise `avc1`/`hvc1`.
pub(super) fn build_sample_entry(
    codec: Codec,
    params: &ParameterSets,
    in_band: bool,
) -> Result<SampleEntry> {
    let sps = params.sps.first().ok_or_else(|| {
        VideoError::invalid_input(format!(
            "no {codec} SPS seen before the first sample: MP4 needs the parameter sets in band on the first keyframe"
        ))
    })?;
    if params.pps.is_empty() || (codec == Codec::Hevc && params.vps.is_empty()) {
        return Err(VideoError::invalid_input(format!(
            "incomplete {codec} parameter sets before the first sample (need {})",
            if codec == Codec::Hevc {
                "VPS, SPS and PPS"
            } else {
                "SPS and PPS"
            }
        )));
    }
    match codec {
        Codec::H264 => {
            let display = parse_h264_sps(sps)?.display;
            let record =
                AvcDecoderConfigurationRecord::from_parameter_sets(&params.sps, &params.pps, 4)?;
            let high = record.high_profile_extension();
            let avcc_box = AvccBox {
                avc_profile_indication: record.profile_idc(),
                profile_compatibility: record.profile_compatibility(),
                avc_level_indication: record.level_idc(),
                length_size_minus_one: Uint::new(3),
                sps_list: params.sps.clone(),
                pps_list: params.pps.clone(),
                chroma_format: high.map(|h| Uint::new(h.chroma_format_idc)),
                bit_depth_luma_minus8: high.map(|h| Uint::new(h.bit_depth_luma.saturating_sub(8))),
                bit_depth_chroma_minus8: high
                    .map(|h| Uint::new(h.bit_depth_chroma.saturating_sub(8))),
                sps_ext_list: high.map(|h| h.sps_ext.clone()).unwrap_or_default(),
            };
            let avc1 = Avc1Box {
                visual: visual_fields(display.width(), display.height())?,
                avcc_box,
                unknown_boxes: Vec::new(),
            };
            if !in_band {
                return Ok(SampleEntry::Avc1(avc1));
            }
            // Same layout under the `avc3` type: encode as avc1, keep the payload.
            let bytes = avc1
                .encode_to_vec()
                .map_err(|e| mp4_error("avc3 entry", e))?;
            let (header, header_len) =
                BoxHeader::decode(&bytes).map_err(|e| mp4_error("avc3 entry", e))?;
            Ok(SampleEntry::Unknown(UnknownBox {
                box_type: AVC3,
                box_size: BoxSize::U32(
                    u32::try_from(header.box_size.get())
                        .map_err(|_| VideoError::invalid_input("avc3 entry too large"))?,
                ),
                payload: bytes[header_len..].to_vec(),
            }))
        }
        Codec::Hevc => {
            let display = parse_hevc_sps(sps)?.display;
            let record = HevcDecoderConfigurationRecord::from_parameter_sets(
                &params.vps,
                &params.sps,
                &params.pps,
                4,
            )?;
            let nalu_arrays = record
                .arrays()
                .iter()
                .map(|a| HvccNalUintArray {
                    // Complete only when no parameter set travels in band.
                    array_completeness: Uint::new(u8::from(!in_band)),
                    nal_unit_type: Uint::new(a.nal_unit_type),
                    nalus: a.nals.clone(),
                })
                .collect();
            let ptl = &record.ptl;
            let hvcc_box = HvccBox {
                general_profile_space: Uint::new(ptl.profile_space),
                general_tier_flag: Uint::new(u8::from(ptl.tier_flag)),
                general_profile_idc: Uint::new(ptl.profile_idc),
                general_profile_compatibility_flags: ptl.profile_compatibility_flags,
                general_constraint_indicator_flags: Uint::new(ptl.constraint_indicator_flags),
                general_level_idc: ptl.level_idc,
                min_spatial_segmentation_idc: Uint::new(record.min_spatial_segmentation_idc),
                parallelism_type: Uint::new(record.parallelism_type),
                chroma_format_idc: Uint::new(record.chroma_format_idc),
                bit_depth_luma_minus8: Uint::new(record.bit_depth_luma.saturating_sub(8)),
                bit_depth_chroma_minus8: Uint::new(record.bit_depth_chroma.saturating_sub(8)),
                avg_frame_rate: record.avg_frame_rate,
                constant_frame_rate: Uint::new(record.constant_frame_rate),
                num_temporal_layers: Uint::new(record.num_temporal_layers),
                temporal_id_nested: Uint::new(u8::from(record.temporal_id_nested)),
                length_size_minus_one: Uint::new(3),
                nalu_arrays,
            };
            let visual = visual_fields(display.width(), display.height())?;
            Ok(if in_band {
                SampleEntry::Hev1(Hev1Box {
                    visual,
                    hvcc_box,
                    unknown_boxes: Vec::new(),
                })
            } else {
                SampleEntry::Hvc1(shiguredo_mp4::boxes::Hvc1Box {
                    visual,
                    hvcc_box,
                    unknown_boxes: Vec::new(),
                })
            })
        }
        other => Err(VideoError::unsupported(format!(
            "MP4 sample entries are written for H.264 and HEVC, not {other}"
        ))),
    }
}

fn visual_fields(width: u32, height: u32) -> Result<VisualSampleEntryFields> {
    let side = |v: u32| {
        u16::try_from(v).map_err(|_| {
            VideoError::unsupported(format!(
                "picture size {width}x{height} does not fit an MP4 sample entry"
            ))
        })
    };
    Ok(VisualSampleEntryFields {
        data_reference_index: VisualSampleEntryFields::DEFAULT_DATA_REFERENCE_INDEX,
        width: side(width)?,
        height: side(height)?,
        horizresolution: VisualSampleEntryFields::DEFAULT_HORIZRESOLUTION,
        vertresolution: VisualSampleEntryFields::DEFAULT_VERTRESOLUTION,
        frame_count: VisualSampleEntryFields::DEFAULT_FRAME_COUNT,
        compressorname: VisualSampleEntryFields::NULL_COMPRESSORNAME,
        depth: VisualSampleEntryFields::DEFAULT_DEPTH,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An x265 Main-profile SPS for 320x240 (level 2, generated by libx265), with an
    /// emulation-prevention byte inside the constraint flags.
    const HEVC_SPS_320X240: &[u8] = &[
        0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
        0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0xa4, 0x93, 0x2b, 0xc0, 0x5a,
        0x02, 0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x32, 0x10,
    ];

    /// An x264 High-profile SPS for 320x240 (level 1.3, generated by libx264).
    const H264_SPS_320X240: &[u8] = &[
        0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00,
        0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x42, 0x99, 0x60,
    ];

    const HEVC_VPS: &[u8] = &[
        0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00,
        0x03, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x95, 0x98, 0x09,
    ];
    const HEVC_PPS: &[u8] = &[0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40];

    #[test]
    fn hevc_entry_repeats_profile_tier_level_from_the_sps() {
        let params = ParameterSets {
            vps: vec![HEVC_VPS.to_vec()],
            sps: vec![HEVC_SPS_320X240.to_vec()],
            pps: vec![HEVC_PPS.to_vec()],
        };
        let SampleEntry::Hvc1(hvc1) = build_sample_entry(Codec::Hevc, &params, false).unwrap()
        else {
            panic!("expected hvc1");
        };
        let hvcc = &hvc1.hvcc_box;
        assert_eq!(hvcc.general_profile_idc.get(), 1);
        assert_eq!(hvcc.general_level_idc, 60);
        assert_eq!(hvcc.general_profile_compatibility_flags, 0x6000_0000);
        assert_eq!(
            hvcc.general_constraint_indicator_flags.get(),
            0x9000_0000_0000
        );
        assert_eq!((hvc1.visual.width, hvc1.visual.height), (320, 240));
        assert!(
            hvcc.nalu_arrays
                .iter()
                .all(|a| a.array_completeness.get() == 1)
        );
        let back = read_sample_entry(&SampleEntry::Hvc1(hvc1.clone())).unwrap();
        assert_eq!(back.params, params);
        // In-band flavour: hev1 with incomplete arrays.
        let SampleEntry::Hev1(hev1) = build_sample_entry(Codec::Hevc, &params, true).unwrap()
        else {
            panic!("expected hev1");
        };
        assert!(
            hev1.hvcc_box
                .nalu_arrays
                .iter()
                .all(|a| a.array_completeness.get() == 0)
        );
    }

    #[test]
    fn h264_entry_repeats_profile_and_level_from_the_sps() {
        let params = ParameterSets {
            vps: vec![],
            sps: vec![H264_SPS_320X240.to_vec()],
            pps: vec![vec![0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0]],
        };
        let SampleEntry::Avc1(avc1) = build_sample_entry(Codec::H264, &params, false).unwrap()
        else {
            panic!("expected avc1");
        };
        assert_eq!(avc1.avcc_box.avc_profile_indication, 100);
        assert_eq!(avc1.avcc_box.avc_level_indication, 13);
        assert_eq!((avc1.visual.width, avc1.visual.height), (320, 240));
        assert_eq!(avc1.avcc_box.chroma_format.map(|c| c.get()), Some(1));
        // The avc3 variant reads back to the same record.
        let avc3 = build_sample_entry(Codec::H264, &params, true).unwrap();
        let back = read_sample_entry(&avc3).unwrap();
        assert_eq!(back.fourcc, "avc3");
        assert_eq!(back.params, params);
        assert_eq!(back.length_size, 4);
    }

    #[test]
    fn truncated_sps_is_an_invalid_bitstream() {
        for cut in [3, 8, 12] {
            let params = ParameterSets {
                vps: vec![HEVC_VPS.to_vec()],
                sps: vec![HEVC_SPS_320X240[..cut].to_vec()],
                pps: vec![HEVC_PPS.to_vec()],
            };
            let err = build_sample_entry(Codec::Hevc, &params, false).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidBitstream, "cut {cut}");
        }
    }

    #[test]
    fn missing_parameter_sets_are_invalid_input() {
        let err = build_sample_entry(Codec::Hevc, &ParameterSets::default(), false).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
    }
}
