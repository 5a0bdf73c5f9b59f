//! Valid-looking H.264/HEVC NAL units: real headers, parameter sets whose fields follow the
//! syntax of the standards with values that are often out of range, slice headers that refer
//! to them, then Annex-B streams and `avcC`/`hvcC` records made of them.

use crate::bits::{BitWriter, escape};
use crate::{claimed, field};
use arbitrary::{Result, Unstructured};

/// H.264 profiles with the chroma/bit-depth/scaling-matrix fields in the SPS.
const HIGH_PROFILES: [u8; 12] = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134];

fn small_id(u: &mut Unstructured, max: u32) -> Result<u32> {
    // Mostly 0 or 1, so that slices, PPSs and SPSs refer to each other.
    if u.ratio(3, 4)? {
        u.int_in_range(0..=1)
    } else {
        field(u, max)
    }
}

fn se_field(u: &mut Unstructured, min: i32, max: i32) -> Result<i32> {
    Ok(match u.int_in_range(0..=7u8)? {
        0 => min.saturating_sub(1),
        1 => max.saturating_add(1),
        2 => i32::MIN + 1,
        _ => u.int_in_range(min..=max)?,
    })
}

fn tail(u: &mut Unstructured, w: &mut BitWriter) -> Result<()> {
    let n = u.int_in_range(0..=24usize)?;
    let bytes = u.bytes(n)?;
    w.bytes(bytes);
    Ok(())
}

/// The RBSP of an H.264 SPS (7.3.2.1.1).
pub fn h264_sps(u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut w = BitWriter::default();
    let profile = if u.ratio(1, 8)? {
        u.arbitrary()?
    } else {
        *u.choose(&[66u8, 77, 88, 100, 110, 122, 244, 44])?
    };
    w.u(8, profile.into());
    w.u(8, u.arbitrary::<u8>()?.into());
    w.u(
        8,
        (*u.choose(&[10u8, 20, 30, 31, 40, 51, 62, 0, 255])?).into(),
    );
    w.ue(small_id(u, 31)?);
    let mut chroma = 1;
    if HIGH_PROFILES.contains(&profile) {
        chroma = field(u, 3)?;
        w.ue(chroma);
        if chroma == 3 {
            w.flag(u.arbitrary()?);
        }
        w.ue(field(u, 6)?);
        w.ue(field(u, 6)?);
        w.flag(u.arbitrary()?);
        let matrix = u.ratio(1, 4)?;
        w.flag(matrix);
        if matrix {
            let lists = if chroma == 3 { 12 } else { 8 };
            for i in 0..lists {
                let present = u.arbitrary()?;
                w.flag(present);
                if present {
                    let size = if i < 6 { 16 } else { 64 };
                    for _ in 0..u.int_in_range(0..=size)? {
                        w.se(se_field(u, -128, 127)?);
                    }
                }
            }
        }
    }
    w.ue(field(u, 12)?);
    let poc_type = field(u, 2)?;
    w.ue(poc_type);
    match poc_type {
        0 => w.ue(field(u, 12)?),
        1 => {
            w.flag(u.arbitrary()?);
            w.se(se_field(u, -(1 << 30), 1 << 30)?);
            w.se(se_field(u, -(1 << 30), 1 << 30)?);
            let n = field(u, 255)?;
            w.ue(n);
            for _ in 0..n.min(300) {
                w.se(se_field(u, -(1 << 30), 1 << 30)?);
            }
        }
        _ => {}
    }
    w.ue(field(u, 16)?);
    w.flag(u.arbitrary()?);
    w.ue(field(u, 120)?);
    w.ue(field(u, 68)?);
    let frames_only = u.arbitrary()?;
    w.flag(frames_only);
    if !frames_only {
        w.flag(u.arbitrary()?);
    }
    w.flag(u.arbitrary()?);
    let crop = u.ratio(1, 3)?;
    w.flag(crop);
    if crop {
        for _ in 0..4 {
            w.ue(field(u, 8)?);
        }
    }
    let vui = u.arbitrary()?;
    w.flag(vui);
    if vui {
        h264_vui(u, &mut w)?;
    }
    let _ = chroma;
    Ok(w.finish(u.ratio(7, 8)?))
}

fn h264_vui(u: &mut Unstructured, w: &mut BitWriter) -> Result<()> {
    let aspect = u.arbitrary()?;
    w.flag(aspect);
    if aspect {
        let idc: u8 = *u.choose(&[1u8, 255, 17])?;
        w.u(8, idc.into());
        if idc == 255 {
            w.u(32, u.arbitrary::<u32>()?.into());
        }
    }
    w.flag(false); // overscan_info_present_flag
    let signal = u.arbitrary()?;
    w.flag(signal);
    if signal {
        w.u(3, 5);
        w.flag(u.arbitrary()?);
        let desc = u.arbitrary()?;
        w.flag(desc);
        if desc {
            w.u(24, u.arbitrary::<u32>()?.into());
        }
    }
    let loc = u.arbitrary()?;
    w.flag(loc);
    if loc {
        w.ue(field(u, 5)?);
        w.ue(field(u, 5)?);
    }
    let timing = u.arbitrary()?;
    w.flag(timing);
    if timing {
        w.u(32, u.arbitrary::<u32>()?.into());
        w.u(32, u.arbitrary::<u32>()?.into());
        w.flag(u.arbitrary()?);
    }
    w.flag(false); // nal_hrd_parameters_present_flag
    w.flag(false); // vcl_hrd_parameters_present_flag
    w.flag(u.arbitrary()?); // pic_struct_present_flag
    let restrict = u.arbitrary()?;
    w.flag(restrict);
    if restrict {
        w.flag(u.arbitrary()?);
        w.ue(field(u, 16)?);
        w.ue(field(u, 16)?);
        w.ue(field(u, 16)?);
        w.ue(field(u, 16)?);
        w.ue(field(u, 16)?); // max_num_reorder_frames
        w.ue(field(u, 16)?); // max_dec_frame_buffering
    }
    Ok(())
}

/// The RBSP of an H.264 PPS (7.3.2.2, up to the optional tail).
pub fn h264_pps(u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut w = BitWriter::default();
    w.ue(small_id(u, 255)?);
    w.ue(small_id(u, 31)?);
    w.flag(u.arbitrary()?);
    w.flag(u.arbitrary()?);
    let groups = if u.ratio(7, 8)? { 0 } else { field(u, 7)? };
    w.ue(groups);
    w.ue(field(u, 31)?);
    w.ue(field(u, 31)?);
    w.flag(u.arbitrary()?);
    w.u(2, u.int_in_range(0..=3)?);
    w.se(se_field(u, -26, 25)?);
    w.se(se_field(u, -26, 25)?);
    w.se(se_field(u, -12, 12)?);
    w.flag(u.arbitrary()?);
    w.flag(u.arbitrary()?);
    w.flag(u.arbitrary()?);
    Ok(w.finish(true))
}

/// The RBSP start of an H.264 slice header, then arbitrary bits.
pub fn h264_slice(u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut w = BitWriter::default();
    w.ue(if u.ratio(3, 4)? { 0 } else { field(u, 8160)? });
    w.ue(field(u, 9)?);
    w.ue(small_id(u, 255)?);
    tail(u, &mut w)?;
    Ok(w.finish(false))
}

fn hevc_ptl(u: &mut Unstructured, w: &mut BitWriter, max_sub_layers_minus1: u32) -> Result<()> {
    w.u(2, u.int_in_range(0..=3)?);
    w.flag(u.arbitrary()?);
    w.u(5, (*u.choose(&[1u8, 2, 3, 4, 31])?).into());
    w.u(32, u.arbitrary::<u32>()?.into());
    w.u(48, u.arbitrary::<u64>()?);
    w.u(
        8,
        (*u.choose(&[30u8, 60, 90, 93, 120, 153, 186, 255, 0])?).into(),
    );
    let n = max_sub_layers_minus1.min(7) as usize;
    let mut present = Vec::new();
    for _ in 0..n {
        let p: (bool, bool) = (u.arbitrary()?, u.arbitrary()?);
        w.flag(p.0);
        w.flag(p.1);
        present.push(p);
    }
    if n > 0 {
        for _ in n..8 {
            w.u(2, 0);
        }
    }
    for (p, l) in present {
        if p {
            w.u(32, u.arbitrary::<u32>()?.into());
            w.u(56, u.arbitrary::<u64>()?);
        }
        if l {
            w.u(8, u.arbitrary::<u8>()?.into());
        }
    }
    Ok(())
}

/// The RBSP of an HEVC SPS (7.3.2.2.1) up to the VUI timing.
pub fn hevc_sps(u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut w = BitWriter::default();
    w.u(4, u.int_in_range(0..=15)?);
    let sub = if u.ratio(3, 4)? {
        0
    } else {
        u.int_in_range(0..=7)?
    };
    w.u(3, sub.into());
    w.flag(u.arbitrary()?);
    hevc_ptl(u, &mut w, sub)?;
    w.ue(small_id(u, 15)?);
    let chroma = field(u, 3)?;
    w.ue(chroma);
    if chroma == 3 {
        w.flag(u.arbitrary()?);
    }
    let dims = [8u32, 16, 64, 320, 1920, 16888, 16896, 0, 65536];
    w.ue(*u.choose(&dims)?);
    w.ue(*u.choose(&dims)?);
    let window = u.ratio(1, 3)?;
    w.flag(window);
    if window {
        for _ in 0..4 {
            w.ue(field(u, 8)?);
        }
    }
    w.ue(field(u, 8)?);
    w.ue(field(u, 8)?);
    let log2_poc_minus4 = field(u, 12)?;
    w.ue(log2_poc_minus4);
    let all = u.arbitrary()?;
    w.flag(all);
    let layers = if all { sub + 1 } else { 1 };
    for _ in 0..layers {
        let dpb = field(u, 15)?;
        w.ue(dpb);
        w.ue(field(u, dpb)?);
        w.ue(field(u, 16)?);
    }
    for max in [3, 3, 3, 3, 4, 4] {
        w.ue(field(u, max)?);
    }
    let scaling = u.ratio(1, 4)?;
    w.flag(scaling);
    if scaling {
        let data = u.arbitrary()?;
        w.flag(data);
        if data {
            for size_id in 0..4 {
                let step = if size_id == 3 { 3 } else { 1 };
                for matrix in (0..6u32).step_by(step) {
                    let explicit = u.arbitrary()?;
                    w.flag(explicit);
                    if !explicit {
                        w.ue(field(u, matrix)?);
                    } else {
                        if size_id > 1 {
                            w.se(se_field(u, -7, 247)?);
                        }
                        let coefs = if size_id == 0 { 16 } else { 64 };
                        for _ in 0..coefs {
                            w.se(se_field(u, -128, 127)?);
                        }
                    }
                }
            }
        }
    }
    w.flag(u.arbitrary()?);
    w.flag(u.arbitrary()?);
    let pcm = u.ratio(1, 4)?;
    w.flag(pcm);
    if pcm {
        w.u(8, u.arbitrary::<u8>()?.into());
        w.ue(field(u, 2)?);
        w.ue(field(u, 2)?);
        w.flag(u.arbitrary()?);
    }
    let sets = field(u, 64)?;
    w.ue(sets);
    let mut previous = None;
    for _ in 0..sets.min(70) {
        let inter = previous.is_some() && u.arbitrary()?;
        if previous.is_some() {
            w.flag(inter);
        }
        let n = match previous {
            Some(reference) if inter => {
                w.flag(u.arbitrary()?);
                w.ue(field(u, (1 << 15) - 1)?);
                let mut n = 0u32;
                for _ in 0..=reference {
                    let used = u.arbitrary()?;
                    w.flag(used);
                    let delta = used || u.arbitrary()?;
                    if !used {
                        w.flag(delta);
                    }
                    n += u32::from(delta);
                }
                n
            }
            _ => {
                let (neg, pos) = (field(u, 16)?, field(u, 16)?);
                w.ue(neg);
                w.ue(pos);
                for _ in 0..neg.saturating_add(pos).min(40) {
                    w.ue(field(u, 64)?);
                    w.flag(u.arbitrary()?);
                }
                neg.saturating_add(pos).min(40)
            }
        };
        previous = Some(n);
    }
    let long_term = u.ratio(1, 4)?;
    w.flag(long_term);
    if long_term {
        let n = field(u, 32)?;
        w.ue(n);
        for _ in 0..n.min(40) {
            w.u(log2_poc_minus4.min(12) + 4, u.arbitrary::<u16>()?.into());
            w.flag(u.arbitrary()?);
        }
    }
    w.flag(u.arbitrary()?);
    w.flag(u.arbitrary()?);
    let vui = u.arbitrary()?;
    w.flag(vui);
    if vui {
        let aspect = u.arbitrary()?;
        w.flag(aspect);
        if aspect {
            w.u(8, 255);
            w.u(32, u.arbitrary::<u32>()?.into());
        }
        w.flag(false);
        let signal = u.arbitrary()?;
        w.flag(signal);
        if signal {
            w.u(4, u.int_in_range(0..=15)?);
            let desc = u.arbitrary()?;
            w.flag(desc);
            if desc {
                w.u(24, u.arbitrary::<u32>()?.into());
            }
        }
        let loc = u.arbitrary()?;
        w.flag(loc);
        if loc {
            w.ue(field(u, 5)?);
            w.ue(field(u, 5)?);
        }
        w.u(3, u.int_in_range(0..=7)?);
        let window = u.arbitrary()?;
        w.flag(window);
        if window {
            for _ in 0..4 {
                w.ue(field(u, 64)?);
            }
        }
        let timing = u.arbitrary()?;
        w.flag(timing);
        if timing {
            w.u(32, u.arbitrary::<u32>()?.into());
            w.u(32, u.arbitrary::<u32>()?.into());
        }
    }
    tail(u, &mut w)?;
    Ok(w.finish(true))
}

/// The RBSP start of an HEVC PPS (ids), then arbitrary bits.
pub fn hevc_pps(u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut w = BitWriter::default();
    w.ue(small_id(u, 63)?);
    w.ue(small_id(u, 15)?);
    tail(u, &mut w)?;
    Ok(w.finish(true))
}

/// The RBSP start of an HEVC slice segment header, then arbitrary bits.
pub fn hevc_slice(u: &mut Unstructured, irap: bool) -> Result<Vec<u8>> {
    let mut w = BitWriter::default();
    w.flag(u.ratio(2, 3)?);
    if irap {
        w.flag(u.arbitrary()?);
    }
    w.ue(small_id(u, 63)?);
    tail(u, &mut w)?;
    Ok(w.finish(false))
}

/// One whole NAL unit (header and escaped payload) of `hevc` or H.264.
pub fn nal(u: &mut Unstructured, hevc: bool) -> Result<Vec<u8>> {
    let kind = u.int_in_range(0..=9u8)?;
    let (header, rbsp) = if hevc {
        let (t, rbsp) = match kind {
            0 | 1 => (33u8, hevc_sps(u)?),
            2 => (34, hevc_pps(u)?),
            3 => (32, {
                let n = u.int_in_range(0..=32usize)?;
                u.bytes(n)?.to_vec()
            }),
            4 => (35, vec![0x50]),
            5 => (u.int_in_range(0..=63)?, {
                let n = u.int_in_range(0..=32usize)?;
                u.bytes(n)?.to_vec()
            }),
            _ => {
                let t = *u.choose(&[19u8, 20, 21, 1, 0, 8, 9, 16])?;
                (t, hevc_slice(u, (16..=23).contains(&t))?)
            }
        };
        let layer = if u.ratio(7, 8)? {
            0
        } else {
            u.int_in_range(0..=63)?
        };
        let tid = if u.ratio(7, 8)? {
            1
        } else {
            u.int_in_range(0..=7)?
        };
        let h0 = (t << 1) | (layer >> 5);
        let h1 = ((layer & 31) << 3) | tid;
        (vec![h0, h1], rbsp)
    } else {
        let (t, rbsp) = match kind {
            0 | 1 => (7u8, h264_sps(u)?),
            2 => (8, h264_pps(u)?),
            3 => (9, vec![0xF0]),
            4 => (6, {
                let n = u.int_in_range(0..=32usize)?;
                u.bytes(n)?.to_vec()
            }),
            5 => (u.int_in_range(0..=31)?, {
                let n = u.int_in_range(0..=32usize)?;
                u.bytes(n)?.to_vec()
            }),
            _ => (*u.choose(&[5u8, 1, 1, 5, 2])?, h264_slice(u)?),
        };
        let ref_idc: u8 = if t == 5 || t == 7 || t == 8 {
            3
        } else {
            u.int_in_range(0..=3)?
        };
        (vec![(ref_idc << 5) | t], rbsp)
    };
    let mut out = header;
    if u.ratio(15, 16)? {
        out.extend(escape(&rbsp));
    } else {
        out.extend(rbsp);
    }
    Ok(out)
}

/// An Annex-B stream of NAL units: mostly clean start codes, sometimes garbage between them.
pub fn annexb_stream(u: &mut Unstructured, hevc: bool) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let count = u.int_in_range(1..=48)?;
    for _ in 0..count {
        if u.is_empty() {
            break;
        }
        match u.int_in_range(0..=15u8)? {
            0 => {}
            1 => {
                let n = u.int_in_range(0..=8usize)?;
                out.extend_from_slice(u.bytes(n)?);
            }
            2 | 3 => out.extend_from_slice(&[0, 0, 1]),
            _ => out.extend_from_slice(&[0, 0, 0, 1]),
        }
        out.extend(nal(u, hevc)?);
    }
    Ok(out)
}

fn length_prefixed(out: &mut Vec<u8>, len: usize, bytes: &[u8]) {
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// An `avcC` payload built from generated parameter sets; the counts and lengths it claims
/// are often wrong.
pub fn avcc(u: &mut Unstructured) -> Result<Vec<u8>> {
    let sps: Vec<Vec<u8>> = (0..u.int_in_range(0..=2)?)
        .map(|_| Ok([vec![0x67], escape(&h264_sps(u)?)].concat()))
        .collect::<Result<_>>()?;
    let pps: Vec<Vec<u8>> = (0..u.int_in_range(0..=2)?)
        .map(|_| Ok([vec![0x68], escape(&h264_pps(u)?)].concat()))
        .collect::<Result<_>>()?;
    let profile = sps.first().and_then(|s| s.get(1).copied()).unwrap_or(100);
    let mut out = vec![1, profile, 0, 31, 0xFC | u.int_in_range(0..=3)?];
    let n_sps = claimed(u, sps.len() as u32)?;
    out.push(0xE0 | (n_sps as u8 & 31));
    for s in &sps {
        let len = claimed(u, s.len() as u32)? as usize;
        length_prefixed(&mut out, len, s);
    }
    out.push(claimed(u, pps.len() as u32)? as u8);
    for p in &pps {
        let len = claimed(u, p.len() as u32)? as usize;
        length_prefixed(&mut out, len, p);
    }
    if u.arbitrary()? {
        // High-profile extension: chroma, bit depths, SPS extensions.
        out.extend_from_slice(&[0xFD, 0xF8, 0xF8]);
        out.push(claimed(u, 0)? as u8);
    }
    Ok(out)
}

/// An `hvcC` payload built from generated parameter sets; counts and lengths often wrong.
pub fn hvcc(u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut out = vec![
        1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 93, 0xF0, 0x00, 0xFC,
    ];
    out.extend_from_slice(&[0xFD, 0xF8, 0xF8, 0, 0, 0x0C | u.int_in_range(0..=3)?]);
    let arrays: Vec<(u8, Vec<Vec<u8>>)> = (0..u.int_in_range(0..=3)?)
        .map(|i| {
            let (t, nals) = match i {
                0 => (32u8, vec![vec![0x40, 0x01, 0x0C, 0x01]]),
                1 => (33, vec![[vec![0x42, 0x01], escape(&hevc_sps(u)?)].concat()]),
                _ => (34, vec![[vec![0x44, 0x01], escape(&hevc_pps(u)?)].concat()]),
            };
            Ok((t, nals))
        })
        .collect::<Result<_>>()?;
    out.push(claimed(u, arrays.len() as u32)? as u8);
    for (t, nals) in &arrays {
        out.push(0x80 | t);
        out.extend_from_slice(&(claimed(u, nals.len() as u32)? as u16).to_be_bytes());
        for n in nals {
            let len = claimed(u, n.len() as u32)? as usize;
            length_prefixed(&mut out, len, n);
        }
    }
    Ok(out)
}
