//! The bytes of a decoded frame as the command writes them: in the format `--to` names
//! (NV12 and P016 with their chroma interleaved, as FFmpeg's `nv12` and `p010le`), or planar
//! when `--to` is not given.

use anyhow::{Result, bail};
use video_hw::{DecodedFrame, PixelFormat};

/// Appends the visible picture of `frame` to `out`: in the layout of `to` when given (the
/// frame must be in that format: a decoder that returned another one is an error, never a
/// silent substitution), else tightly packed planes ([`DecodedFrame::write_planar`]).
pub fn write_frame(
    frame: &DecodedFrame,
    to: Option<PixelFormat>,
    out: &mut impl std::io::Write,
) -> Result<()> {
    let Some(to) = to else {
        frame.write_planar(out)?;
        return Ok(());
    };
    if frame.format != to {
        bail!(
            "the decoder returned {} frames where --to {to} was asked for",
            frame.format
        );
    }
    match to {
        PixelFormat::Nv12 => write_semi_planar(frame, 1, out),
        PixelFormat::P016 => write_semi_planar(frame, 2, out),
        _ => Ok(frame.write_planar(out)?),
    }
}

/// A luma plane then one plane of interleaved chroma pairs, `bytes` per sample, cropped.
fn write_semi_planar(
    frame: &DecodedFrame,
    bytes: usize,
    out: &mut impl std::io::Write,
) -> Result<()> {
    let Some(planes) = frame.planes().filter(|p| p.len() >= 2) else {
        bail!("the frame has no CPU planes to write");
    };
    let c = frame.crop;
    let (l, t, w, h) = (
        c.left as usize,
        c.top as usize,
        c.width as usize,
        c.height as usize,
    );
    let rows = |plane: &video_hw::Plane, first: usize, count: usize, x0: usize, len: usize| {
        (first..first + count).try_for_each(|r| {
            let start = r * plane.stride + x0;
            match plane.data.get(start..start + len) {
                Some(row) => Ok(out.write_all(row)?),
                None => bail!(
                    "plane of {} bytes (stride {}) too short for row {r}",
                    plane.data.len(),
                    plane.stride
                ),
            }
        })
    };
    let mut rows = rows;
    rows(&planes[0], t, h, l * bytes, w * bytes)?;
    // Chroma: one pair per 2x2 luma block; an odd crop offset rounds down, as in write_planar.
    rows(
        &planes[1],
        t / 2,
        h.div_ceil(2),
        (l / 2) * 2 * bytes,
        w.div_ceil(2) * 2 * bytes,
    )
}
