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
        PixelFormat::Nv12 | PixelFormat::P016 => Ok(frame.write_semi_planar(out)?),
        _ => Ok(frame.write_planar(out)?),
    }
}
