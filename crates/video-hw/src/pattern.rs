//! A moving test pattern: deterministic I420 pictures for demos, benchmarks and tests.

use crate::api::codec::Dimensions;
use crate::api::encode_input::EncodeInput;
use crate::api::error::Result;
use crate::api::frame::PixelFormat;

/// Generates frame `index` of a moving pattern: diagonal luma gradients, colour bars that
/// scroll, and a bright square crossing the picture. Smooth enough that encoders reach a
/// high PSNR, busy enough that every frame differs.
pub fn i420_frame(size: Dimensions, index: u64) -> Vec<u8> {
    let (w, h) = (size.width() as usize, size.height() as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut buf = vec![0u8; w * h + 2 * cw * ch];
    let (y, uv) = buf.split_at_mut(w * h);
    let (u, v) = uv.split_at_mut(cw * ch);
    let t = index as usize;
    let side = (w.min(h) / 4).max(2);
    let bx = (t * 4) % (w.saturating_sub(side).max(1));
    let by = (t * 2) % (h.saturating_sub(side).max(1));
    for row in 0..h {
        for col in 0..w {
            let inside = col >= bx && col < bx + side && row >= by && row < by + side;
            y[row * w + col] = if inside {
                235
            } else {
                (16 + ((col + row + t * 3) * 200 / (w + h)) % 200) as u8
            };
        }
    }
    for row in 0..ch {
        for col in 0..cw {
            let bar = ((col * 8 / cw) + t / 8) % 8;
            u[row * cw + col] = (64 + bar * 16) as u8;
            v[row * cw + col] = (192 - bar * 12 - row * 32 / ch) as u8;
        }
    }
    buf
}

/// Frame `index` of the pattern as an encoder input (pts left for the session to assign).
pub fn encode_input(size: Dimensions, index: u64) -> Result<EncodeInput> {
    EncodeInput::packed(PixelFormat::I420, size, i420_frame(size, index))
}

/// Peak signal-to-noise ratio in dB between two 8-bit buffers of equal length
/// (`f64::INFINITY` when they are identical); `InvalidInput` when the lengths differ.
pub fn psnr(a: &[u8], b: &[u8]) -> Result<f64> {
    if a.len() != b.len() || a.is_empty() {
        return Err(crate::api::error::VideoError::invalid_input(format!(
            "PSNR needs two non-empty buffers of equal length, got {} and {}",
            a.len(),
            b.len()
        )));
    }
    let sse: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| {
            let d = f64::from(*x) - f64::from(*y);
            d * d
        })
        .sum();
    if sse == 0.0 {
        return Ok(f64::INFINITY);
    }
    let mse = sse / a.len() as f64;
    Ok(10.0 * (255.0 * 255.0 / mse).log10())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_frames_differ_and_have_i420_size() {
        let size = Dimensions::new(33, 17).unwrap();
        let a = i420_frame(size, 0);
        let b = i420_frame(size, 1);
        assert_eq!(a.len(), PixelFormat::I420.frame_size(size));
        assert_ne!(a, b);
        assert_eq!(a, i420_frame(size, 0));
    }

    #[test]
    fn psnr_is_infinite_for_equal_and_finite_otherwise() {
        assert!(psnr(&[1, 2, 3], &[1, 2, 3]).unwrap().is_infinite());
        assert!(psnr(&[1, 2], &[1, 2, 3]).is_err());
        let p = psnr(&[10, 20, 30], &[11, 20, 30]).unwrap();
        assert!(p > 50.0 && p < 60.0, "{p}");
    }
}
