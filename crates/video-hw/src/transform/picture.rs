//! Borrowed views of the visible part of a picture, and tightly packed owned pictures.

use crate::api::codec::Dimensions;
use crate::api::encode_input::{EncodeInput, PlaneBuffer, RawPlane};
use crate::api::error::{Result, VideoError};
use crate::api::frame::{CropRect, DecodedFrame, PixelFormat, Plane};
use std::sync::Arc;

/// One borrowed plane: row `r` of the visible area starts at `r * stride`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlaneView<'a> {
    pub data: &'a [u8],
    pub stride: usize,
}

/// The visible area of a picture, borrowed, with the crop already applied.
#[derive(Debug, Clone)]
pub(crate) struct SourceView<'a> {
    pub format: PixelFormat,
    pub size: Dimensions,
    pub planes: Vec<PlaneView<'a>>,
}

/// Bytes per sample group of plane `index` (a pixel for packed RGB, a chroma pair for NV12 UV).
fn bytes_per_unit(format: PixelFormat, index: usize) -> usize {
    match (format, index) {
        (PixelFormat::I420, _) | (PixelFormat::Nv12, 0) => 1,
        (PixelFormat::Nv12, _) | (PixelFormat::P016, 0) => 2,
        (PixelFormat::P016, _) => 4,
        (PixelFormat::I010 | PixelFormat::I012, _) => 2,
        (PixelFormat::Rgb24, _) => 3,
        _ => 4,
    }
}

impl<'a> SourceView<'a> {
    /// The visible area of a CPU frame (crop and strides honoured). `InvalidInput` when the
    /// frame has no CPU pixels, the wrong plane count, or a crop outside its planes.
    pub fn of_frame(frame: &'a DecodedFrame) -> Result<Self> {
        let planes = frame.planes().ok_or_else(|| {
            VideoError::invalid_input("frame has no CPU pixels (GPU or metadata-only frame)")
        })?;
        Self::cropped(frame.format, planes, frame.crop, frame.coded)
    }

    fn cropped(
        format: PixelFormat,
        planes: &'a [Plane],
        crop: CropRect,
        coded: Dimensions,
    ) -> Result<Self> {
        if planes.len() != format.plane_count() {
            return Err(VideoError::invalid_input(format!(
                "{format} frame has {} planes, expected {}",
                planes.len(),
                format.plane_count()
            )));
        }
        if crop.width == 0
            || crop.height == 0
            || u64::from(crop.left) + u64::from(crop.width) > u64::from(coded.width())
            || u64::from(crop.top) + u64::from(crop.height) > u64::from(coded.height())
        {
            return Err(VideoError::invalid_input(format!(
                "crop {crop:?} lies outside the {coded} picture"
            )));
        }
        let size = Dimensions::new(crop.width, crop.height)?;
        let mut views = Vec::with_capacity(planes.len());
        for (i, p) in planes.iter().enumerate() {
            let (x, y) = if i > 0 && format.is_yuv() {
                (crop.left as usize / 2, crop.top as usize / 2)
            } else {
                (crop.left as usize, crop.top as usize)
            };
            let view = plane_view(&p.data, p.stride, x, y, bytes_per_unit(format, i))?;
            views.push(view);
        }
        let view = Self {
            format,
            size,
            planes: views,
        };
        view.check()?;
        Ok(view)
    }

    /// The whole of an encoder input.
    pub fn of_input(input: &'a EncodeInput) -> Self {
        // EncodeInput::new has checked plane count, strides and lengths.
        Self {
            format: input.format(),
            size: input.dimensions(),
            planes: input
                .planes()
                .iter()
                .map(|p| PlaneView {
                    data: p.data.as_slice(),
                    stride: p.stride,
                })
                .collect(),
        }
    }

    /// Checks that every plane holds every visible row.
    fn check(&self) -> Result<()> {
        for (i, p) in self.planes.iter().enumerate() {
            let (row, rows) = self.format.plane_extent(i, self.size);
            if p.stride < row || p.data.len() < p.stride * (rows - 1) + row {
                return Err(VideoError::invalid_input(format!(
                    "{} plane {i} (stride {}, {} bytes from the crop origin) is too small for a {} picture",
                    self.format,
                    p.stride,
                    p.data.len(),
                    self.size
                )));
            }
        }
        Ok(())
    }

    /// Row `r` of plane `i`, `len` bytes (bounds checked by [`SourceView::check`]).
    pub fn row(&self, i: usize, r: usize) -> &'a [u8] {
        let (row, _) = self.format.plane_extent(i, self.size);
        let p = self.planes[i];
        &p.data[r * p.stride..r * p.stride + row]
    }
}

fn plane_view(
    data: &[u8],
    stride: usize,
    x: usize,
    y: usize,
    unit: usize,
) -> Result<PlaneView<'_>> {
    let offset = y
        .checked_mul(stride)
        .and_then(|o| o.checked_add(x * unit))
        .filter(|&o| o <= data.len())
        .ok_or_else(|| {
            VideoError::invalid_input(format!(
                "crop origin ({x}, {y}) lies outside a plane of {} bytes (stride {stride})",
                data.len()
            ))
        })?;
    Ok(PlaneView {
        data: &data[offset..],
        stride,
    })
}

/// The bytes of one plane, allocated once as the `Arc<[u8]>` a frame or an encoder input
/// holds (no copy when the picture becomes one). The buffer is never shared while a
/// `PlaneBuf` owns it: cloning copies the bytes.
#[derive(Debug)]
pub(crate) struct PlaneBuf(Arc<[u8]>);

impl PlaneBuf {
    fn zeroed(len: usize) -> Self {
        Self(std::iter::repeat_n(0u8, len).collect())
    }
}

impl Clone for PlaneBuf {
    fn clone(&self) -> Self {
        Self(Arc::from(&self.0[..]))
    }
}

impl std::ops::Deref for PlaneBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::DerefMut for PlaneBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        Arc::get_mut(&mut self.0).expect("a PlaneBuf never shares its buffer")
    }
}

/// A tightly packed owned picture: planes back to back in separate buffers, strides equal to
/// row widths.
#[derive(Debug, Clone)]
pub(crate) struct Picture {
    pub format: PixelFormat,
    pub size: Dimensions,
    pub planes: Vec<PlaneBuf>,
}

impl Picture {
    /// A zeroed picture.
    pub fn zeroed(format: PixelFormat, size: Dimensions) -> Self {
        let planes = (0..format.plane_count())
            .map(|i| {
                let (row, rows) = format.plane_extent(i, size);
                PlaneBuf::zeroed(row * rows)
            })
            .collect();
        Self {
            format,
            size,
            planes,
        }
    }

    /// Row width in bytes of plane `i`.
    pub fn stride(&self, i: usize) -> usize {
        self.format.plane_extent(i, self.size).0
    }

    /// As CPU frame planes.
    pub fn into_frame_planes(self) -> Vec<Plane> {
        let strides: Vec<usize> = (0..self.planes.len()).map(|i| self.stride(i)).collect();
        self.planes
            .into_iter()
            .zip(strides)
            .map(|(data, stride)| Plane {
                data: data.0,
                stride,
            })
            .collect()
    }

    /// As an encoder input (no copy).
    pub fn into_encode_input(self) -> Result<EncodeInput> {
        let (format, size) = (self.format, self.size);
        let strides: Vec<usize> = (0..self.planes.len()).map(|i| self.stride(i)).collect();
        let planes = self
            .planes
            .into_iter()
            .zip(strides)
            .map(|(data, stride)| RawPlane {
                data: PlaneBuffer::Shared(data.0),
                stride,
            })
            .collect();
        EncodeInput::new(format, size, planes)
    }
}
