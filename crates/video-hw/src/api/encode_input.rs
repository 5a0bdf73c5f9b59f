//! Raw pictures going into an encoder.

use super::codec::{Dimensions, Timestamp};
use super::error::{Result, VideoError};
use super::frame::PixelFormat;
use std::sync::Arc;

/// Bytes of one plane: owned, or shared without a copy.
#[derive(Clone, Debug)]
pub enum PlaneBuffer {
    /// Owned bytes.
    Owned(Vec<u8>),
    /// Shared bytes (no copy when the caller keeps a reference).
    Shared(Arc<[u8]>),
}

impl PlaneBuffer {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            PlaneBuffer::Owned(v) => v,
            PlaneBuffer::Shared(a) => a,
        }
    }
}

impl From<Vec<u8>> for PlaneBuffer {
    fn from(v: Vec<u8>) -> Self {
        PlaneBuffer::Owned(v)
    }
}

impl From<Arc<[u8]>> for PlaneBuffer {
    fn from(v: Arc<[u8]>) -> Self {
        PlaneBuffer::Shared(v)
    }
}

/// One raw plane and its row stride.
#[derive(Clone, Debug)]
pub struct RawPlane {
    /// The bytes; row `r` starts at `r * stride`.
    pub data: PlaneBuffer,
    /// Bytes from one row to the next (at least the row's width in bytes).
    pub stride: usize,
}

/// One raw picture for an encoder: NV12, I420, RGB24, RGBA, BGRA or ARGB.
#[derive(Clone, Debug)]
pub struct EncodeInput {
    format: PixelFormat,
    dimensions: Dimensions,
    planes: Vec<RawPlane>,
    /// Presentation time.
    pub pts: Option<Timestamp>,
    /// Ask the encoder to make this picture a keyframe (IDR).
    pub force_keyframe: bool,
}

impl EncodeInput {
    /// A picture from its planes, checked: the plane count must match the format, each stride
    /// must cover a row, each buffer must hold every row. Errors are `InvalidInput`.
    pub fn new(format: PixelFormat, dimensions: Dimensions, planes: Vec<RawPlane>) -> Result<Self> {
        if format.bit_depth() > 8 {
            return Err(VideoError::unsupported(format!(
                "{format} is not accepted as encoder input (8-bit formats only)"
            )));
        }
        if planes.len() != format.plane_count() {
            return Err(VideoError::invalid_input(format!(
                "{format} needs {} planes, got {}",
                format.plane_count(),
                planes.len()
            )));
        }
        for (i, p) in planes.iter().enumerate() {
            let (row, rows) = format.plane_extent(i, dimensions);
            if p.stride < row {
                return Err(VideoError::invalid_input(format!(
                    "{format} plane {i}: stride {} is shorter than a row of {row} bytes at {dimensions}",
                    p.stride
                )));
            }
            let need = p.stride * (rows - 1) + row;
            let have = p.data.as_slice().len();
            if have < need {
                return Err(VideoError::invalid_input(format!(
                    "{format} plane {i}: buffer of {have} bytes is shorter than the {need} bytes a {dimensions} picture needs"
                )));
            }
        }
        Ok(Self {
            format,
            dimensions,
            planes,
            pts: None,
            force_keyframe: false,
        })
    }

    /// A tightly packed picture in one buffer (planes back to back, strides equal to row widths).
    pub fn packed(
        format: PixelFormat,
        dimensions: Dimensions,
        data: impl Into<PlaneBuffer>,
    ) -> Result<Self> {
        let data = data.into();
        let need = format.frame_size(dimensions);
        let have = data.as_slice().len();
        if have != need {
            return Err(VideoError::invalid_input(format!(
                "a packed {format} picture of {dimensions} is {need} bytes, got {have}"
            )));
        }
        let shared: Arc<[u8]> = match data {
            PlaneBuffer::Shared(a) => a,
            PlaneBuffer::Owned(v) => v.into(),
        };
        let mut planes = Vec::with_capacity(format.plane_count());
        let mut offset = 0;
        for i in 0..format.plane_count() {
            let (row, rows) = format.plane_extent(i, dimensions);
            let plane: Arc<[u8]> = if format.plane_count() == 1 {
                shared.clone()
            } else {
                shared[offset..offset + row * rows].into()
            };
            offset += row * rows;
            planes.push(RawPlane {
                data: PlaneBuffer::Shared(plane),
                stride: row,
            });
        }
        Self::new(format, dimensions, planes)
    }

    /// Sets the presentation time.
    pub fn with_pts(mut self, pts: Timestamp) -> Self {
        self.pts = Some(pts);
        self
    }

    /// Marks the picture as a forced keyframe.
    pub fn with_force_keyframe(mut self, force: bool) -> Self {
        self.force_keyframe = force;
        self
    }

    /// Pixel layout.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// Picture size.
    pub fn dimensions(&self) -> Dimensions {
        self.dimensions
    }

    /// The planes.
    pub fn planes(&self) -> &[RawPlane] {
        &self.planes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn dims(w: u32, h: u32) -> Dimensions {
        Dimensions::new(w, h).unwrap()
    }

    #[test]
    fn short_buffers_and_strides_are_invalid_input() {
        let d = dims(16, 16);
        let err = EncodeInput::packed(PixelFormat::I420, d, vec![0u8; 100]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let planes = vec![
            RawPlane {
                data: vec![0u8; 256].into(),
                stride: 8,
            },
            RawPlane {
                data: vec![0u8; 64].into(),
                stride: 8,
            },
            RawPlane {
                data: vec![0u8; 64].into(),
                stride: 8,
            },
        ];
        let err = EncodeInput::new(PixelFormat::I420, d, planes).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("stride"), "{err}");
        let err = EncodeInput::new(PixelFormat::Nv12, d, vec![]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn packed_odd_sizes_round_chroma_up() {
        let d = dims(17, 9);
        let need = 17 * 9 + 2 * (9 * 5);
        assert_eq!(PixelFormat::I420.frame_size(d), need);
        assert!(EncodeInput::packed(PixelFormat::I420, d, vec![0u8; need]).is_ok());
        assert!(EncodeInput::packed(PixelFormat::Rgba, d, vec![0u8; 17 * 9 * 4]).is_ok());
    }
}
