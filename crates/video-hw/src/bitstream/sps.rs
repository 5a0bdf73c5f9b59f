//! SPS/VUI parsing: coded size, crop, colour, bit depth, profile/level, timing.
//!
//! H.264 SPSs are parsed with `h264-reader`. HEVC SPSs are parsed here up to the VUI timing
//! information (everything before it must be walked: sub-layer profile/level, scaling lists,
//! short- and long-term reference picture sets), on `h264-reader`'s RBSP bit reader.

use super::nal::{
    HevcNalHeader, bits_err, h264_type, hevc_type, out_of_range, rbsp_reader, read_se_range,
    read_ue_max,
};
use crate::api::codec::{Codec, Dimensions, Rational};
use crate::api::color::{
    ColorDescription, ColorPrimaries, ColorRange, MatrixCoefficients, TransferCharacteristics,
};
use crate::api::error::{Result, VideoError};
use crate::api::frame::CropRect;
use h264_reader::nal::sps::{ChromaFormat, FrameMbsFlags, SeqParameterSet};
use h264_reader::rbsp::BitRead;

/// What a sequence parameter set says about the pictures.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamInfo {
    /// The codec of the SPS.
    pub codec: Codec,
    /// `seq_parameter_set_id` / `sps_seq_parameter_set_id`.
    pub sps_id: u32,
    /// Coded size: whole macroblocks (H.264, both fields of a frame) or the luma picture size
    /// (HEVC, a multiple of the minimum coding block).
    pub coded: Dimensions,
    /// The visible part of the coded picture (frame cropping / conformance window).
    pub crop: CropRect,
    /// The visible size (`crop`'s width and height).
    pub display: Dimensions,
    /// Colour description from the VUI (defaults when absent).
    pub color: ColorDescription,
    /// `profile_idc` / `general_profile_idc`.
    pub profile_idc: u8,
    /// `level_idc` / `general_level_idc`.
    pub level_idc: u8,
    /// Luma bit depth.
    pub bit_depth_luma: u8,
    /// Chroma bit depth.
    pub bit_depth_chroma: u8,
    /// `chroma_format_idc` (0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4).
    pub chroma_format_idc: u8,
    /// Frame rate from the VUI timing information, when present.
    pub frame_rate: Option<Rational>,
    /// Most frames that precede any frame in decode order and follow it in output order,
    /// when signalled (H.264 VUI bitstream restriction; HEVC SPS, highest sub-layer).
    pub max_num_reorder_frames: Option<u32>,
    /// Decoded picture buffer size in frames, when signalled.
    pub max_dec_frame_buffering: Option<u32>,
}

/// Largest picture of any level, in luma samples: `MaxLumaPs` of HEVC level 6.2, which is also
/// `MaxFS` x 256 of H.264 level 6.2 (35,651,584). Sizes are checked against the largest level,
/// not the signalled one, because real streams under-signal their level.
pub const MAX_LUMA_PICTURE_SIZE: u64 = 35_651_584;
/// Largest picture width or height of any level: `Sqrt(MaxLumaPs x 8)` for level 6.2 (HEVC
/// A.4.1; H.264 A.3.1 gives the same bound in macroblocks).
pub const MAX_PICTURE_DIMENSION: u32 = 16_888;
/// Largest decoded picture buffer of either standard, in frames.
pub const MAX_DPB_FRAMES: u32 = 16;

/// Checks a coded size against the largest level's limits.
fn check_picture_size(what: &str, width: u32, height: u32) -> Result<()> {
    for (field, v) in [("width", width), ("height", height)] {
        if v > MAX_PICTURE_DIMENSION {
            return Err(out_of_range(
                what,
                field,
                v,
                format!("at most {MAX_PICTURE_DIMENSION} at any level"),
            ));
        }
    }
    let area = u64::from(width).saturating_mul(u64::from(height));
    if area > MAX_LUMA_PICTURE_SIZE {
        return Err(out_of_range(
            what,
            "picture size in luma samples",
            area,
            format!("at most {MAX_LUMA_PICTURE_SIZE} at any level"),
        ));
    }
    Ok(())
}

fn bad(what: impl Into<String>) -> VideoError {
    VideoError::invalid_bitstream(what.into())
}

fn reduce(num: u64, den: u64) -> Option<Rational> {
    fn gcd(a: u64, b: u64) -> u64 {
        match a.checked_rem(b) {
            Some(r) => gcd(b, r),
            None => a,
        }
    }
    if num == 0 || den == 0 {
        return None;
    }
    let g = gcd(num, den);
    Rational::new(
        u32::try_from(num.checked_div(g)?).ok()?,
        u32::try_from(den.checked_div(g)?).ok()?,
    )
    .ok()
}

fn color_from_vui(full_range: bool, description: Option<(u8, u8, u8)>) -> ColorDescription {
    let (p, t, m) = description.unwrap_or((2, 2, 2));
    ColorDescription {
        matrix: MatrixCoefficients::from_h273(m),
        range: if full_range {
            ColorRange::Full
        } else {
            ColorRange::Limited
        },
        primaries: ColorPrimaries::from_h273(p),
        transfer: TransferCharacteristics::from_h273(t),
    }
}

/// Builds the crop rectangle from offsets in luma samples; `InvalidBitstream` when they do
/// not leave a visible picture.
fn crop_rect(coded: Dimensions, left: u64, right: u64, top: u64, bottom: u64) -> Result<CropRect> {
    let nothing_left = || {
        bad(format!(
            "cropping {left}+{right} x {top}+{bottom} leaves nothing of {coded}"
        ))
    };
    let width = u64::from(coded.width())
        .checked_sub(left)
        .and_then(|w| w.checked_sub(right))
        .filter(|&w| w > 0)
        .ok_or_else(nothing_left)?;
    let height = u64::from(coded.height())
        .checked_sub(top)
        .and_then(|h| h.checked_sub(bottom))
        .filter(|&h| h > 0)
        .ok_or_else(nothing_left)?;
    // Every value is below the coded size, which fits u32.
    let fit = |v: u64| u32::try_from(v).map_err(|_| nothing_left());
    Ok(CropRect {
        left: fit(left)?,
        top: fit(top)?,
        width: fit(width)?,
        height: fit(height)?,
    })
}

/// Parses an H.264 SPS NAL unit (header included, emulation prevention in place).
pub fn parse_h264_sps(nal: &[u8]) -> Result<StreamInfo> {
    let sps = h264_sps(nal)?;
    h264_stream_info(&sps)
}

/// Parses an H.264 SPS NAL into `h264-reader`'s structure.
pub(crate) fn h264_sps(nal: &[u8]) -> Result<SeqParameterSet> {
    match nal.first() {
        Some(b) if b & 0x1F == h264_type::SPS => {}
        _ => return Err(bad("not an H.264 SPS NAL unit")),
    }
    SeqParameterSet::from_bits(rbsp_reader(Codec::H264, nal))
        .map_err(|e| bad(format!("H.264 SPS: {e:?}")))
}

pub(crate) fn h264_stream_info(sps: &SeqParameterSet) -> Result<StreamInfo> {
    let too_big = || bad("H.264 SPS picture size overflows");
    let frame_mbs_only = matches!(sps.frame_mbs_flags, FrameMbsFlags::Frames);
    let width = sps
        .pic_width_in_mbs_minus1
        .checked_add(1)
        .and_then(|w| w.checked_mul(16))
        .ok_or_else(too_big)?;
    let height = sps
        .pic_height_in_map_units_minus1
        .checked_add(1)
        .and_then(|h| h.checked_mul(if frame_mbs_only { 16 } else { 32 }))
        .ok_or_else(too_big)?;
    check_picture_size("H.264 SPS", width, height)?;
    let coded = Dimensions::new(width, height).map_err(|e| bad(e.context().to_owned()))?;
    if sps.max_num_ref_frames > MAX_DPB_FRAMES {
        return Err(out_of_range(
            "H.264 SPS",
            "max_num_ref_frames",
            sps.max_num_ref_frames,
            format!("at most {MAX_DPB_FRAMES}"),
        ));
    }
    let chroma = &sps.chroma_info;
    // h264-reader checks both <= 6 (14 bits); checked here again before the arithmetic.
    let depth = |field: &str, minus8: u8| {
        minus8
            .checked_add(8)
            .filter(|&d| d <= 14)
            .ok_or_else(|| out_of_range("H.264 SPS", field, minus8, "at most 6"))
    };
    let bit_depth_luma = depth("bit_depth_luma_minus8", chroma.bit_depth_luma_minus8)?;
    let bit_depth_chroma = depth("bit_depth_chroma_minus8", chroma.bit_depth_chroma_minus8)?;
    let chroma_format_idc = chroma.chroma_format.to_u32();
    let (sub_w, sub_h): (u64, u64) = match chroma.chroma_format {
        ChromaFormat::YUV420 => (2, 2),
        ChromaFormat::YUV422 => (2, 1),
        _ => (1, 1),
    };
    let field_mul: u64 = if frame_mbs_only { 1 } else { 2 };
    let (unit_x, unit_y): (u64, u64) = if chroma.chroma_array_type() == 0 {
        (1, field_mul)
    } else {
        (sub_w, sub_h.saturating_mul(field_mul))
    };
    // Offsets are u32 and units at most 4: the products fit u64, saturation never happens.
    let crop = match &sps.frame_cropping {
        Some(c) => crop_rect(
            coded,
            u64::from(c.left_offset).saturating_mul(unit_x),
            u64::from(c.right_offset).saturating_mul(unit_x),
            u64::from(c.top_offset).saturating_mul(unit_y),
            u64::from(c.bottom_offset).saturating_mul(unit_y),
        )?,
        None => CropRect::full(coded),
    };
    let display = Dimensions::new(crop.width, crop.height).map_err(|e| bad(e.context()))?;
    let vui = sps.vui_parameters.as_ref();
    let signal = vui.and_then(|v| v.video_signal_type.as_ref());
    let color = color_from_vui(
        signal.is_some_and(|s| s.video_full_range_flag),
        signal.and_then(|s| {
            s.colour_description.as_ref().map(|c| {
                (
                    c.colour_primaries,
                    c.transfer_characteristics,
                    c.matrix_coefficients,
                )
            })
        }),
    );
    let frame_rate = vui.and_then(|v| v.timing_info.as_ref()).and_then(|t| {
        reduce(
            u64::from(t.time_scale),
            u64::from(t.num_units_in_tick).saturating_mul(2),
        )
    });
    let restrictions = vui.and_then(|v| v.bitstream_restrictions.as_ref());
    Ok(StreamInfo {
        codec: Codec::H264,
        sps_id: u32::from(sps.seq_parameter_set_id.id()),
        coded,
        crop,
        display,
        color,
        profile_idc: sps.profile_idc.into(),
        level_idc: sps.level_idc,
        bit_depth_luma,
        bit_depth_chroma,
        chroma_format_idc: u8::try_from(chroma_format_idc)
            .map_err(|_| bad("H.264 chroma_format_idc out of range"))?,
        frame_rate,
        max_num_reorder_frames: restrictions.map(|r| r.max_num_reorder_frames),
        max_dec_frame_buffering: restrictions.map(|r| r.max_dec_frame_buffering),
    })
}

/// HEVC `profile_tier_level()` general fields (what an `hvcC` record carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HevcProfileTierLevel {
    /// `general_profile_space` (2 bits).
    pub profile_space: u8,
    /// `general_tier_flag`.
    pub tier_flag: bool,
    /// `general_profile_idc` (5 bits).
    pub profile_idc: u8,
    /// `general_profile_compatibility_flag[0..32]`, flag 0 in the most significant bit.
    pub profile_compatibility_flags: u32,
    /// The 48 bits from `general_progressive_source_flag` on (in the low 48 bits).
    pub constraint_indicator_flags: u64,
    /// `general_level_idc`.
    pub level_idc: u8,
}

/// The HEVC SPS fields this crate uses.
#[derive(Debug, Clone, PartialEq)]
pub struct HevcSps {
    /// `sps_video_parameter_set_id`.
    pub vps_id: u8,
    /// `sps_max_sub_layers_minus1`.
    pub max_sub_layers_minus1: u8,
    /// `sps_temporal_id_nesting_flag`.
    pub temporal_id_nesting: bool,
    /// General profile, tier and level.
    pub ptl: HevcProfileTierLevel,
    /// Pictures, crop, colour, timing.
    pub info: StreamInfo,
    /// `min_spatial_segmentation_idc`: the VUI bitstream restriction is not parsed, so this is
    /// always 0 ("no restriction signalled"), which `hvcC` allows.
    pub min_spatial_segmentation_idc: u16,
}

/// Parses an HEVC SPS NAL unit (header included, emulation prevention in place).
pub fn parse_hevc_sps(nal: &[u8]) -> Result<StreamInfo> {
    parse_hevc_sps_fields(nal).map(|s| s.info)
}

/// Parses an HEVC SPS NAL unit into the fields an `hvcC` record needs as well.
pub fn parse_hevc_sps_fields(nal: &[u8]) -> Result<HevcSps> {
    match HevcNalHeader::parse(nal) {
        Some(h) if h.nal_unit_type == hevc_type::SPS => {}
        _ => return Err(bad("not an HEVC SPS NAL unit")),
    }
    const W: &str = "HEVC SPS";
    let mut r = rbsp_reader(Codec::Hevc, nal);
    let e = bits_err(W);
    let vps_id = r.read::<4, u8>("sps_video_parameter_set_id").map_err(&e)?;
    let max_sub_layers_minus1 = r.read::<3, u8>("sps_max_sub_layers_minus1").map_err(&e)?;
    if max_sub_layers_minus1 > 6 {
        return Err(bad("HEVC SPS: sps_max_sub_layers_minus1 > 6"));
    }
    let temporal_id_nesting = r.read_bit("sps_temporal_id_nesting_flag").map_err(&e)?;
    let ptl = read_profile_tier_level(&mut r, max_sub_layers_minus1)?;
    let sps_id = read_ue_max(&mut r, W, "sps_seq_parameter_set_id", 15)?;
    let chroma_format_idc = read_ue_max(&mut r, W, "chroma_format_idc", 3)?;
    let separate_colour_plane =
        chroma_format_idc == 3 && r.read_bit("separate_colour_plane_flag").map_err(&e)?;
    let width = r.read_ue("pic_width_in_luma_samples").map_err(&e)?;
    let height = r.read_ue("pic_height_in_luma_samples").map_err(&e)?;
    check_picture_size(W, width, height)?;
    let coded = Dimensions::new(width, height).map_err(|x| bad(x.context()))?;
    let window = if r.read_bit("conformance_window_flag").map_err(&e)? {
        [
            r.read_ue("conf_win_left_offset").map_err(&e)?,
            r.read_ue("conf_win_right_offset").map_err(&e)?,
            r.read_ue("conf_win_top_offset").map_err(&e)?,
            r.read_ue("conf_win_bottom_offset").map_err(&e)?,
        ]
    } else {
        [0; 4]
    };
    let (sub_w, sub_h): (u64, u64) = match (chroma_format_idc, separate_colour_plane) {
        (1, _) => (2, 2),
        (2, _) => (2, 1),
        _ => (1, 1),
    };
    // u32 offsets times at most 2 fit u64: saturation never happens.
    let crop = crop_rect(
        coded,
        u64::from(window[0]).saturating_mul(sub_w),
        u64::from(window[1]).saturating_mul(sub_w),
        u64::from(window[2]).saturating_mul(sub_h),
        u64::from(window[3]).saturating_mul(sub_h),
    )?;
    let bit_depth_luma_minus8 = read_ue_max(&mut r, W, "bit_depth_luma_minus8", 8)?;
    let bit_depth_chroma_minus8 = read_ue_max(&mut r, W, "bit_depth_chroma_minus8", 8)?;
    let log2_max_poc_lsb_minus4 = read_ue_max(&mut r, W, "log2_max_pic_order_cnt_lsb_minus4", 12)?;
    // At most 12 + 4 + 1 bits per lt_ref_pic_poc_lsb_sps.
    let lt_poc_lsb_bits = log2_max_poc_lsb_minus4.saturating_add(5);
    let ordering_all = r
        .read_bit("sps_sub_layer_ordering_info_present_flag")
        .map_err(&e)?;
    let first = if ordering_all {
        0
    } else {
        max_sub_layers_minus1
    };
    let (mut max_dec, mut max_reorder) = (0, 0);
    for _ in first..=max_sub_layers_minus1 {
        max_dec = read_ue_max(
            &mut r,
            W,
            "sps_max_dec_pic_buffering_minus1",
            MAX_DPB_FRAMES.saturating_sub(1),
        )?;
        max_reorder = read_ue_max(&mut r, W, "sps_max_num_reorder_pics", max_dec)?;
        r.read_ue("sps_max_latency_increase_plus1").map_err(&e)?;
    }
    // Coding blocks of 8..64 and transform blocks of 4..32 luma samples (HEVC 7.4.3.2.1).
    for (name, max) in [
        ("log2_min_luma_coding_block_size_minus3", 3),
        ("log2_diff_max_min_luma_coding_block_size", 3),
        ("log2_min_luma_transform_block_size_minus2", 3),
        ("log2_diff_max_min_luma_transform_block_size", 3),
        ("max_transform_hierarchy_depth_inter", 4),
        ("max_transform_hierarchy_depth_intra", 4),
    ] {
        read_ue_max(&mut r, W, name, max)?;
    }
    if r.read_bit("scaling_list_enabled_flag").map_err(&e)?
        && r.read_bit("sps_scaling_list_data_present_flag")
            .map_err(&e)?
    {
        skip_scaling_list_data(&mut r)?;
    }
    r.read_bit("amp_enabled_flag").map_err(&e)?;
    r.read_bit("sample_adaptive_offset_enabled_flag")
        .map_err(&e)?;
    if r.read_bit("pcm_enabled_flag").map_err(&e)? {
        r.skip(8, "pcm_sample_bit_depths").map_err(&e)?;
        read_ue_max(&mut r, W, "log2_min_pcm_luma_coding_block_size_minus3", 2)?;
        read_ue_max(&mut r, W, "log2_diff_max_min_pcm_luma_coding_block_size", 2)?;
        r.read_bit("pcm_loop_filter_disabled_flag").map_err(&e)?;
    }
    skip_short_term_ref_pic_sets(&mut r)?;
    if r.read_bit("long_term_ref_pics_present_flag").map_err(&e)? {
        let n = read_ue_max(&mut r, W, "num_long_term_ref_pics_sps", 32)?;
        for _ in 0..n {
            r.skip(lt_poc_lsb_bits, "lt_ref_pic_poc_lsb_sps")
                .map_err(&e)?;
        }
    }
    r.read_bit("sps_temporal_mvp_enabled_flag").map_err(&e)?;
    r.read_bit("strong_intra_smoothing_enabled_flag")
        .map_err(&e)?;
    let vui = if r.read_bit("vui_parameters_present_flag").map_err(&e)? {
        read_hevc_vui(&mut r)?
    } else {
        HevcVui::default()
    };
    let display = Dimensions::new(crop.width, crop.height).map_err(|x| bad(x.context()))?;
    Ok(HevcSps {
        vps_id,
        max_sub_layers_minus1,
        temporal_id_nesting,
        ptl,
        min_spatial_segmentation_idc: 0,
        info: StreamInfo {
            codec: Codec::Hevc,
            sps_id,
            coded,
            crop,
            display,
            color: color_from_vui(vui.full_range, vui.description),
            profile_idc: ptl.profile_idc,
            level_idc: ptl.level_idc,
            bit_depth_luma: hevc_bit_depth(bit_depth_luma_minus8),
            bit_depth_chroma: hevc_bit_depth(bit_depth_chroma_minus8),
            chroma_format_idc: u8::try_from(chroma_format_idc).unwrap_or(u8::MAX),
            frame_rate: vui.frame_rate,
            max_num_reorder_frames: Some(max_reorder),
            max_dec_frame_buffering: Some(max_dec.saturating_add(1)),
        },
    })
}

/// `bit_depth_*_minus8 + 8`, the value checked <= 8 when read.
fn hevc_bit_depth(minus8: u32) -> u8 {
    u8::try_from(minus8).map_or(u8::MAX, |d| d.saturating_add(8))
}

fn read_profile_tier_level<R: BitRead>(
    r: &mut R,
    max_sub_layers_minus1: u8,
) -> Result<HevcProfileTierLevel> {
    let e = bits_err("HEVC profile_tier_level");
    let profile_space = r.read::<2, u8>("general_profile_space").map_err(&e)?;
    let tier_flag = r.read_bit("general_tier_flag").map_err(&e)?;
    let profile_idc = r.read::<5, u8>("general_profile_idc").map_err(&e)?;
    let profile_compatibility_flags = r
        .read::<32, u32>("general_profile_compatibility_flags")
        .map_err(&e)?;
    let constraint_indicator_flags = r
        .read::<48, u64>("general_constraint_indicator_flags")
        .map_err(&e)?;
    let level_idc = r.read::<8, u8>("general_level_idc").map_err(&e)?;
    let mut present = [(false, false); 7];
    for p in present.iter_mut().take(usize::from(max_sub_layers_minus1)) {
        *p = (
            r.read_bit("sub_layer_profile_present_flag").map_err(&e)?,
            r.read_bit("sub_layer_level_present_flag").map_err(&e)?,
        );
    }
    if max_sub_layers_minus1 > 0 {
        // max_sub_layers_minus1 is 1..=6 here (checked by the caller).
        let pairs = 8u32.saturating_sub(u32::from(max_sub_layers_minus1));
        r.skip(pairs.saturating_mul(2), "reserved_zero_2bits")
            .map_err(&e)?;
    }
    for &(profile, level) in present.iter().take(usize::from(max_sub_layers_minus1)) {
        if profile {
            r.skip(88, "sub_layer_profile").map_err(&e)?;
        }
        if level {
            r.skip(8, "sub_layer_level_idc").map_err(&e)?;
        }
    }
    Ok(HevcProfileTierLevel {
        profile_space,
        tier_flag,
        profile_idc,
        profile_compatibility_flags,
        constraint_indicator_flags,
        level_idc,
    })
}

fn skip_scaling_list_data<R: BitRead>(r: &mut R) -> Result<()> {
    const W: &str = "HEVC scaling_list_data";
    let e = bits_err(W);
    // (sizeId, coefficients per list): 4x4 has 16, the larger ones 64.
    for (size_id, coefs) in [(0u32, 16), (1, 64), (2, 64), (3, 64)] {
        let step = if size_id == 3 { 3 } else { 1 };
        for matrix_id in (0..6u32).step_by(step) {
            if !r.read_bit("scaling_list_pred_mode_flag").map_err(&e)? {
                // Refers to an earlier matrix of the same size (7.4.5).
                let max = if size_id == 3 {
                    matrix_id / 3
                } else {
                    matrix_id
                };
                read_ue_max(r, W, "scaling_list_pred_matrix_id_delta", max)?;
            } else {
                if size_id > 1 {
                    read_se_range(r, W, "scaling_list_dc_coef_minus8", -7..=247)?;
                }
                for _ in 0..coefs {
                    read_se_range(r, W, "scaling_list_delta_coef", -128..=127)?;
                }
            }
        }
    }
    Ok(())
}

fn skip_short_term_ref_pic_sets<R: BitRead>(r: &mut R) -> Result<()> {
    const W: &str = "HEVC st_ref_pic_set";
    let e = bits_err(W);
    let count = read_ue_max(r, W, "num_short_term_ref_pic_sets", 64)?;
    // The number of pictures of the set before (delta_idx_minus1 is absent in the SPS, so
    // an inter-predicted set refers to the one just before).
    let mut previous: Option<u32> = None;
    for _ in 0..count {
        let inter = previous.is_some()
            && r.read_bit("inter_ref_pic_set_prediction_flag")
                .map_err(&e)?;
        let n = match previous {
            Some(reference) if inter => {
                r.read_bit("delta_rps_sign").map_err(&e)?;
                read_ue_max(r, W, "abs_delta_rps_minus1", (1 << 15) - 1)?;
                let mut n = 0u32;
                for _ in 0..=reference {
                    let used = r.read_bit("used_by_curr_pic_flag").map_err(&e)?;
                    if used || r.read_bit("use_delta_flag").map_err(&e)? {
                        n = n.saturating_add(1);
                    }
                }
                n
            }
            _ => {
                let max = MAX_DPB_FRAMES;
                let neg = read_ue_max(r, W, "num_negative_pics", max)?;
                let pos = read_ue_max(r, W, "num_positive_pics", max)?;
                // Both at most 16: the sum is at most 32.
                let n = neg.saturating_add(pos);
                for _ in 0..n {
                    read_ue_max(r, W, "delta_poc_minus1", (1 << 15) - 1)?;
                    r.read_bit("used_by_curr_pic_flag").map_err(&e)?;
                }
                n
            }
        };
        if n > 2 * MAX_DPB_FRAMES {
            return Err(out_of_range(W, "NumDeltaPocs", n, "at most 32"));
        }
        previous = Some(n);
    }
    Ok(())
}

#[derive(Debug, Default)]
struct HevcVui {
    full_range: bool,
    description: Option<(u8, u8, u8)>,
    frame_rate: Option<Rational>,
}

fn read_hevc_vui<R: BitRead>(r: &mut R) -> Result<HevcVui> {
    let e = bits_err("HEVC VUI");
    let mut vui = HevcVui::default();
    if r.read_bit("aspect_ratio_info_present_flag").map_err(&e)?
        && r.read::<8, u8>("aspect_ratio_idc").map_err(&e)? == 255
    {
        r.skip(32, "sar_width_height").map_err(&e)?;
    }
    if r.read_bit("overscan_info_present_flag").map_err(&e)? {
        r.read_bit("overscan_appropriate_flag").map_err(&e)?;
    }
    if r.read_bit("video_signal_type_present_flag").map_err(&e)? {
        r.skip(3, "video_format").map_err(&e)?;
        vui.full_range = r.read_bit("video_full_range_flag").map_err(&e)?;
        if r.read_bit("colour_description_present_flag").map_err(&e)? {
            vui.description = Some((
                r.read::<8, u8>("colour_primaries").map_err(&e)?,
                r.read::<8, u8>("transfer_characteristics").map_err(&e)?,
                r.read::<8, u8>("matrix_coeffs").map_err(&e)?,
            ));
        }
    }
    if r.read_bit("chroma_loc_info_present_flag").map_err(&e)? {
        read_ue_max(r, "HEVC VUI", "chroma_sample_loc_type_top_field", 5)?;
        read_ue_max(r, "HEVC VUI", "chroma_sample_loc_type_bottom_field", 5)?;
    }
    r.skip(3, "neutral_chroma_field_seq_frame_field_info")
        .map_err(&e)?;
    if r.read_bit("default_display_window_flag").map_err(&e)? {
        for _ in 0..4 {
            r.read_ue("def_disp_win_offset").map_err(&e)?;
        }
    }
    if r.read_bit("vui_timing_info_present_flag").map_err(&e)? {
        let units = r.read::<32, u32>("vui_num_units_in_tick").map_err(&e)?;
        let scale = r.read::<32, u32>("vui_time_scale").map_err(&e)?;
        vui.frame_rate = reduce(u64::from(scale), u64::from(units));
    }
    Ok(vui)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::api::error::ErrorKind;
    use proptest::prelude::*;

    // x264-style 1280x720 High SPS with VUI (full range off, BT.709, 25 fps timing).
    const H264_SPS_720P: &[u8] = &[
        0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03,
        0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0x20, 0xf1, 0x83, 0x19, 0x60,
    ];

    #[test]
    fn h264_sps_gives_size_profile_and_timing() {
        let info = parse_h264_sps(H264_SPS_720P).unwrap();
        assert_eq!(info.codec, Codec::H264);
        assert_eq!(info.coded, Dimensions::new(1280, 720).unwrap());
        assert_eq!(info.display, Dimensions::new(1280, 720).unwrap());
        assert_eq!(info.profile_idc, 100);
        assert_eq!(info.level_idc, 31);
        assert_eq!(info.chroma_format_idc, 1);
        assert_eq!(info.bit_depth_luma, 8);
        assert_eq!(info.frame_rate, Some(Rational::new(25, 1).unwrap()));
    }

    /// SPS of the conformance clip `64x64-I-P-B-P-high.h264` (ffprobe: High, level 2.0,
    /// 64x64, SMPTE 170M primaries, 30 fps).
    pub(crate) const H264_SPS_64: &[u8] = &[
        0x67, 0x64, 0x00, 0x14, 0xac, 0xe4, 0x10, 0x9b, 0x01, 0x6a, 0x0c, 0x0c, 0x0d, 0x4a, 0x00,
        0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x79, 0x1e, 0x28, 0x52, 0x24,
    ];
    /// VPS/SPS of the conformance clip `test-25fps.h265` (ffprobe: Main, level 60, 320x240).
    pub(crate) const HEVC_VPS_320: &[u8] = &[
        0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00,
        0x03, 0x00, 0x00, 0x03, 0x00, 0x3c, 0x95, 0x98, 0x09,
    ];
    pub(crate) const HEVC_SPS_320: &[u8] = &[
        0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00,
        0x03, 0x00, 0x3c, 0xa0, 0x0a, 0x08, 0x0f, 0x16, 0x59, 0x59, 0xa4, 0x93, 0x2b, 0x9a, 0x02,
        0x00, 0x00, 0x03, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0x32, 0x10,
    ];
    pub(crate) const HEVC_PPS_320: &[u8] = &[0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40];

    #[test]
    fn h264_sps_of_a_conformance_clip_matches_ffprobe() {
        let info = parse_h264_sps(H264_SPS_64).unwrap();
        assert_eq!(info.display, Dimensions::new(64, 64).unwrap());
        assert_eq!((info.profile_idc, info.level_idc), (100, 20));
        assert_eq!(info.color.primaries, ColorPrimaries::Bt601Ntsc);
        assert_eq!(info.color.range, ColorRange::Limited);
        assert_eq!(info.frame_rate, Some(Rational::new(30, 1).unwrap()));
    }

    #[test]
    fn hevc_sps_gives_size_profile_level_and_reorder_depth() {
        let sps = parse_hevc_sps_fields(HEVC_SPS_320).unwrap();
        let info = &sps.info;
        assert_eq!(info.codec, Codec::Hevc);
        assert_eq!(info.display, Dimensions::new(320, 240).unwrap());
        assert_eq!((info.profile_idc, info.level_idc), (1, 60));
        assert_eq!((info.bit_depth_luma, info.bit_depth_chroma), (8, 8));
        assert_eq!(info.chroma_format_idc, 1);
        assert_eq!(sps.ptl.profile_space, 0);
        assert!(!sps.ptl.tier_flag);
        // Main profile sets compatibility flags 1 and 2.
        assert_eq!(sps.ptl.profile_compatibility_flags, 0x6000_0000);
        assert!(info.max_num_reorder_frames.is_some());
    }

    #[test]
    fn crop_leaves_the_visible_rectangle_and_rejects_empty_ones() {
        // 1080p in 4:2:0: conf_win_bottom_offset 4 chroma rows = 8 luma rows.
        let coded = Dimensions::new(1920, 1088).unwrap();
        let crop = crop_rect(coded, 0, 0, 0, 4 * 2).unwrap();
        assert_eq!((crop.width, crop.height), (1920, 1080));
        assert!(crop_rect(coded, 960, 960, 0, 0).is_err());
    }

    #[test]
    fn wrong_nal_types_are_rejected() {
        assert_eq!(
            parse_h264_sps(&[0x68, 0xce]).unwrap_err().kind(),
            ErrorKind::InvalidBitstream
        );
        assert_eq!(
            parse_hevc_sps(&[0x40, 0x01, 0x0c]).unwrap_err().kind(),
            ErrorKind::InvalidBitstream
        );
        assert!(parse_hevc_sps(&[]).is_err());
    }

    proptest! {
        #[test]
        fn mutated_real_sps_never_panic(
            edits in proptest::collection::vec((0usize..64, any::<u8>()), 1..6),
            cut in 0usize..64,
        ) {
            for (base, parse) in [
                (H264_SPS_64, parse_h264_sps as fn(&[u8]) -> Result<StreamInfo>),
                (HEVC_SPS_320, parse_hevc_sps),
            ] {
                let mut nal = base.to_vec();
                for &(i, b) in &edits {
                    let i = 1 + i % (nal.len() - 1);
                    nal[i] = b;
                }
                nal.truncate(cut.max(2));
                let _ = parse(&nal);
            }
        }

        #[test]
        fn sps_parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..120)) {
            let mut h = data.clone();
            if let Some(b) = h.first_mut() { *b = 0x67; }
            let _ = parse_h264_sps(&h);
            let mut v = data;
            if v.len() >= 2 { v[0] = 0x42; v[1] = 0x01; }
            let _ = parse_hevc_sps(&v);
        }
    }
}
