//! Samples of more than 8 bits: LSB-aligned planar (I010/I012, FFmpeg's `yuv420p10le` /
//! `yuv420p12le`) and MSB-aligned semi-planar (P016, as NVDEC and P010 consumers hold them).

use super::picture::{Picture, SourceView};

fn sample(row: &[u8], x: usize) -> u16 {
    u16::from_le_bytes([row[2 * x], row[2 * x + 1]])
}

/// I010 / I012 -> P016: every sample moved into the high bits, U and V interleaved.
pub(crate) fn planar_to_p016(src: &SourceView<'_>, out: &mut Picture) {
    let shift = 16 - u32::from(src.format.bit_depth());
    let row = out.stride(0);
    for (r, dst) in out.planes[0].chunks_exact_mut(row).enumerate() {
        let s = src.row(0, r);
        for (x, px) in dst.chunks_exact_mut(2).enumerate() {
            px.copy_from_slice(&(sample(s, x) << shift).to_le_bytes());
        }
    }
    let uv_row = out.stride(1);
    for (r, dst) in out.planes[1].chunks_exact_mut(uv_row).enumerate() {
        let (u, v) = (src.row(1, r), src.row(2, r));
        for (x, px) in dst.chunks_exact_mut(4).enumerate() {
            px[..2].copy_from_slice(&(sample(u, x) << shift).to_le_bytes());
            px[2..].copy_from_slice(&(sample(v, x) << shift).to_le_bytes());
        }
    }
}

/// P016 holding `out.format`'s bit depth (10 or 12) in the high bits -> I010 / I012.
pub(crate) fn p016_to_planar(src: &SourceView<'_>, out: &mut Picture) {
    let shift = 16 - u32::from(out.format.bit_depth());
    let row = out.stride(0);
    for (r, dst) in out.planes[0].chunks_exact_mut(row).enumerate() {
        let s = src.row(0, r);
        for (x, px) in dst.chunks_exact_mut(2).enumerate() {
            px.copy_from_slice(&(sample(s, x) >> shift).to_le_bytes());
        }
    }
    let c_row = out.stride(1);
    let (u_plane, v_plane) = out.planes.split_at_mut(2);
    let rows = u_plane[1]
        .chunks_exact_mut(c_row)
        .zip(v_plane[0].chunks_exact_mut(c_row));
    for (r, (u, v)) in rows.enumerate() {
        let uv = src.row(1, r);
        for (x, (u, v)) in u.chunks_exact_mut(2).zip(v.chunks_exact_mut(2)).enumerate() {
            u.copy_from_slice(&(sample(uv, 2 * x) >> shift).to_le_bytes());
            v.copy_from_slice(&(sample(uv, 2 * x + 1) >> shift).to_le_bytes());
        }
    }
}
