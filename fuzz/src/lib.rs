//! Shared code of the fuzz targets: structure-aware generators (valid-looking NAL units and
//! MP4 box trees whose fields are often out of range) and the parser harness that both the
//! raw and the structured bitstream targets run.

pub mod bits;
pub mod harness;
pub mod mp4_gen;
pub mod mp4_read;
pub mod nal_gen;

use arbitrary::{Result, Unstructured};

/// A field value for a generator: mostly inside `0..=max` (so that parsing goes on to later
/// fields), often at or just past the edge, sometimes the largest value a ue(v) can hold.
pub fn field(u: &mut Unstructured, max: u32) -> Result<u32> {
    Ok(match u.int_in_range(0..=15u8)? {
        0 => 0,
        1 => max,
        2 => max.saturating_add(1),
        3 => u32::MAX - 1,
        4 => u.arbitrary()?,
        5 => max.saturating_mul(2).saturating_add(1),
        _ => u.int_in_range(0..=max)?,
    })
}

/// A count a box claims, given the number of entries actually written: mostly that number,
/// otherwise one more, zero, or huge.
pub fn claimed(u: &mut Unstructured, actual: u32) -> Result<u32> {
    Ok(match u.int_in_range(0..=11u8)? {
        0 => actual.saturating_add(1),
        1 => 0,
        2 => 1 << 24,
        3 => u32::MAX,
        4 => 1 << 31,
        5 => u.arbitrary()?,
        _ => actual,
    })
}
