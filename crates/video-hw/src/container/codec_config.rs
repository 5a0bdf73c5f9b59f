//! Between parameter sets and MP4 sample entries (`avc1`/`avc3` + `avcC`,
//! `hvc1`/`hev1` + `hvcC`).
//!
//! The records themselves are encoded and decoded by `shiguredo_mp4`; this module only
//! reads the SPS fields a record repeats (profile, level, chroma format, bit depth, size).

use super::mp4_error;
use super::nal_units::{ParamSetKind, param_set_kind};
use crate::api::codec::Codec;
use crate::api::error::{Result, VideoError};
use h264_reader::rbsp::{BitRead, BitReader, decode_nal};
use shiguredo_mp4::boxes::{
    Avc1Box, AvccBox, Hev1Box, HvccBox, HvccNalUintArray, SampleEntry, UnknownBox,
    VisualSampleEntryFields,
};
use shiguredo_mp4::{BoxHeader, BoxSize, BoxType, Decode, Encode, Uint};

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
    pub fn from_nals(codec: Codec, nals: &[&[u8]]) -> Option<Self> {
        let mut sets = ParameterSets::default();
        for nal in nals {
            match param_set_kind(codec, nal) {
                Some(ParamSetKind::Vps) => sets.vps.push(nal.to_vec()),
                Some(ParamSetKind::Sps) => sets.sps.push(nal.to_vec()),
                Some(ParamSetKind::Pps) => sets.pps.push(nal.to_vec()),
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
    match entry {
        SampleEntry::Avc1(_) => "avc1".into(),
        SampleEntry::Hev1(_) => "hev1".into(),
        SampleEntry::Hvc1(_) => "hvc1".into(),
        SampleEntry::Vp08(_) => "vp08".into(),
        SampleEntry::Vp09(_) => "vp09".into(),
        SampleEntry::Av01(_) => "av01".into(),
        SampleEntry::Opus(_) => "Opus".into(),
        SampleEntry::Mp4a(_) => "mp4a".into(),
        SampleEntry::Flac(_) => "fLaC".into(),
        SampleEntry::Unknown(b) => b.box_type.to_string(),
    }
}

fn avc_entry(fourcc: &str, visual: &VisualSampleEntryFields, avcc: &AvccBox) -> VideoEntry {
    VideoEntry {
        codec: Codec::H264,
        fourcc: fourcc.into(),
        width: visual.width,
        height: visual.height,
        length_size: avcc.length_size_minus_one.get() + 1,
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
        length_size: hvcc.length_size_minus_one.get() + 1,
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
        offset += size;
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
            let info = parse_h264_sps(sps)?;
            let avcc_box = AvccBox {
                avc_profile_indication: sps[1],
                profile_compatibility: sps[2],
                avc_level_indication: sps[3],
                length_size_minus_one: Uint::new(3),
                sps_list: params.sps.clone(),
                pps_list: params.pps.clone(),
                chroma_format: info.high.then(|| Uint::new(info.chroma_format_idc)),
                bit_depth_luma_minus8: info.high.then(|| Uint::new(info.bit_depth_luma_minus8)),
                bit_depth_chroma_minus8: info.high.then(|| Uint::new(info.bit_depth_chroma_minus8)),
                sps_ext_list: Vec::new(),
            };
            let avc1 = Avc1Box {
                visual: visual_fields(info.width, info.height)?,
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
            let info = parse_hevc_sps(sps)?;
            let array = |nal_unit_type: u8, nalus: &Vec<Vec<u8>>| HvccNalUintArray {
                array_completeness: Uint::new(u8::from(!in_band)),
                nal_unit_type: Uint::new(nal_unit_type),
                nalus: nalus.clone(),
            };
            let hvcc_box = HvccBox {
                general_profile_space: Uint::new(info.profile_space),
                general_tier_flag: Uint::new(info.tier_flag),
                general_profile_idc: Uint::new(info.profile_idc),
                general_profile_compatibility_flags: info.compatibility_flags,
                general_constraint_indicator_flags: Uint::new(info.constraint_flags),
                general_level_idc: info.level_idc,
                min_spatial_segmentation_idc: Uint::new(0),
                parallelism_type: Uint::new(0),
                chroma_format_idc: Uint::new(info.chroma_format_idc),
                bit_depth_luma_minus8: Uint::new(info.bit_depth_luma_minus8),
                bit_depth_chroma_minus8: Uint::new(info.bit_depth_chroma_minus8),
                avg_frame_rate: 0,
                constant_frame_rate: Uint::new(0),
                num_temporal_layers: Uint::new(info.max_sub_layers),
                temporal_id_nested: Uint::new(info.temporal_id_nesting),
                length_size_minus_one: Uint::new(3),
                nalu_arrays: vec![
                    array(32, &params.vps),
                    array(33, &params.sps),
                    array(34, &params.pps),
                ],
            };
            let visual = visual_fields(info.width, info.height)?;
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

/// SPS fields repeated in `avcC`.
#[derive(Debug)]
struct H264SpsInfo {
    width: u32,
    height: u32,
    /// Whether `avcC` carries the chroma/bit-depth extension (High profiles).
    high: bool,
    chroma_format_idc: u8,
    bit_depth_luma_minus8: u8,
    bit_depth_chroma_minus8: u8,
}

fn parse_h264_sps(sps: &[u8]) -> Result<H264SpsInfo> {
    if sps.len() < 4 {
        return Err(VideoError::invalid_bitstream(format!(
            "H.264 SPS of {} bytes is too short",
            sps.len()
        )));
    }
    let bad = |what: String| VideoError::invalid_bitstream(format!("H.264 SPS: {what}"));
    let rbsp = decode_nal(sps).map_err(|e| bad(e.to_string()))?;
    let parsed = h264_reader::nal::sps::SeqParameterSet::from_bits(BitReader::new(&rbsp[..]))
        .map_err(|e| bad(format!("{e:?}")))?;
    let (width, height) = parsed
        .pixel_dimensions()
        .map_err(|e| bad(format!("{e:?}")))?;
    let chroma_format_idc = match parsed.chroma_info.chroma_format {
        h264_reader::nal::sps::ChromaFormat::Monochrome => 0,
        h264_reader::nal::sps::ChromaFormat::YUV420 => 1,
        h264_reader::nal::sps::ChromaFormat::YUV422 => 2,
        h264_reader::nal::sps::ChromaFormat::YUV444 => 3,
        h264_reader::nal::sps::ChromaFormat::Invalid(v) => {
            return Err(bad(format!("chroma_format_idc {v}")));
        }
    };
    Ok(H264SpsInfo {
        width,
        height,
        high: matches!(sps[1], 100 | 110 | 122 | 144),
        chroma_format_idc,
        bit_depth_luma_minus8: parsed.chroma_info.bit_depth_luma_minus8,
        bit_depth_chroma_minus8: parsed.chroma_info.bit_depth_chroma_minus8,
    })
}

/// SPS fields repeated in `hvcC` (the general profile_tier_level, format and size).
#[derive(Debug, PartialEq, Eq)]
struct HevcSpsInfo {
    max_sub_layers: u8,
    temporal_id_nesting: u8,
    profile_space: u8,
    tier_flag: u8,
    profile_idc: u8,
    compatibility_flags: u32,
    constraint_flags: u64,
    level_idc: u8,
    chroma_format_idc: u8,
    bit_depth_luma_minus8: u8,
    bit_depth_chroma_minus8: u8,
    width: u32,
    height: u32,
}

fn parse_hevc_sps(sps: &[u8]) -> Result<HevcSpsInfo> {
    let bad = |what: String| VideoError::invalid_bitstream(format!("HEVC SPS: {what}"));
    if sps.len() < 3 {
        return Err(bad(format!("{} bytes is too short", sps.len())));
    }
    // decode_nal skips one header byte; HEVC has two, so start at the second.
    let rbsp = decode_nal(&sps[1..]).map_err(|e| bad(e.to_string()))?;
    let mut r = BitReader::new(&rbsp[..]);
    let e = |e: h264_reader::rbsp::BitReaderError| bad(format!("{e:?}"));
    r.skip(4, "sps_video_parameter_set_id").map_err(e)?;
    let max_sub_layers_minus1: u8 = r.read::<3, u8>("sps_max_sub_layers_minus1").map_err(e)?;
    let temporal_id_nesting = u8::from(r.read_bit("sps_temporal_id_nesting_flag").map_err(e)?);
    let profile_space = r.read::<2, u8>("general_profile_space").map_err(e)?;
    let tier_flag = u8::from(r.read_bit("general_tier_flag").map_err(e)?);
    let profile_idc = r.read::<5, u8>("general_profile_idc").map_err(e)?;
    let compatibility_flags = r
        .read::<32, u32>("general_profile_compatibility")
        .map_err(e)?;
    let constraint_flags = r.read::<48, u64>("general_constraint_flags").map_err(e)?;
    let level_idc = r.read::<8, u8>("general_level_idc").map_err(e)?;
    let mut present = Vec::new();
    for _ in 0..max_sub_layers_minus1 {
        let profile = r.read_bit("sub_layer_profile_present_flag").map_err(e)?;
        let level = r.read_bit("sub_layer_level_present_flag").map_err(e)?;
        present.push((profile, level));
    }
    if max_sub_layers_minus1 > 0 {
        for _ in max_sub_layers_minus1..8 {
            r.skip(2, "reserved_zero_2bits").map_err(e)?;
        }
    }
    for (profile, level) in present {
        if profile {
            r.skip(88, "sub_layer_profile").map_err(e)?;
        }
        if level {
            r.skip(8, "sub_layer_level_idc").map_err(e)?;
        }
    }
    r.read_ue("sps_seq_parameter_set_id").map_err(e)?;
    let chroma_format_idc = r.read_ue("chroma_format_idc").map_err(e)?;
    if chroma_format_idc > 3 {
        return Err(bad(format!("chroma_format_idc {chroma_format_idc}")));
    }
    let separate_planes =
        chroma_format_idc == 3 && r.read_bit("separate_colour_plane_flag").map_err(e)?;
    let pic_width = r.read_ue("pic_width_in_luma_samples").map_err(e)?;
    let pic_height = r.read_ue("pic_height_in_luma_samples").map_err(e)?;
    let (mut crop_w, mut crop_h) = (0u32, 0u32);
    if r.read_bit("conformance_window_flag").map_err(e)? {
        let (sub_w, sub_h) = match (chroma_format_idc, separate_planes) {
            (1, false) => (2, 2),
            (2, false) => (2, 1),
            _ => (1, 1),
        };
        let left = r.read_ue("conf_win_left_offset").map_err(e)?;
        let right = r.read_ue("conf_win_right_offset").map_err(e)?;
        let top = r.read_ue("conf_win_top_offset").map_err(e)?;
        let bottom = r.read_ue("conf_win_bottom_offset").map_err(e)?;
        crop_w = left.saturating_add(right).saturating_mul(sub_w);
        crop_h = top.saturating_add(bottom).saturating_mul(sub_h);
    }
    let bit_depth_luma_minus8 = r.read_ue("bit_depth_luma_minus8").map_err(e)?;
    let bit_depth_chroma_minus8 = r.read_ue("bit_depth_chroma_minus8").map_err(e)?;
    if bit_depth_luma_minus8 > 8 || bit_depth_chroma_minus8 > 8 {
        return Err(bad("bit depth above 16".into()));
    }
    let width = pic_width
        .checked_sub(crop_w)
        .filter(|w| *w > 0)
        .ok_or_else(|| bad("conformance window wider than the picture".into()))?;
    let height = pic_height
        .checked_sub(crop_h)
        .filter(|h| *h > 0)
        .ok_or_else(|| bad("conformance window taller than the picture".into()))?;
    Ok(HevcSpsInfo {
        max_sub_layers: max_sub_layers_minus1 + 1,
        temporal_id_nesting,
        profile_space,
        tier_flag,
        profile_idc,
        compatibility_flags,
        constraint_flags,
        level_idc,
        chroma_format_idc: chroma_format_idc as u8,
        bit_depth_luma_minus8: bit_depth_luma_minus8 as u8,
        bit_depth_chroma_minus8: bit_depth_chroma_minus8 as u8,
        width,
        height,
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

    #[test]
    fn hevc_sps_gives_profile_level_and_size() {
        let info = parse_hevc_sps(HEVC_SPS_320X240).unwrap();
        assert_eq!(info.profile_idc, 1);
        assert_eq!(info.level_idc, 60);
        assert_eq!(info.compatibility_flags, 0x6000_0000);
        assert_eq!(info.constraint_flags, 0x9000_0000_0000);
        assert_eq!((info.width, info.height), (320, 240));
        assert_eq!(info.chroma_format_idc, 1);
        assert_eq!(info.bit_depth_luma_minus8, 0);
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
            let err = parse_hevc_sps(&HEVC_SPS_320X240[..cut]).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidBitstream, "cut {cut}");
        }
        let err = parse_h264_sps(&H264_SPS_320X240[..6]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidBitstream);
    }

    #[test]
    fn missing_parameter_sets_are_invalid_input() {
        let err = build_sample_entry(Codec::Hevc, &ParameterSets::default(), false).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
    }
}
