//! The double's `CVPixelBuffer`: NV12 (two planes) or 32BGRA (one), rows padded like Core
//! Video pads them, with colour attachments and a lock count; and the double of the Metal
//! converter.

use super::Log;
use crate::api::error::{Result, VideoError};
use crate::api::frame::{DecodedFrame, FrameData, GpuApi, GpuSurface, PixelFormat, Plane};
use crate::backend::videotoolbox::calls::{
    ImageInfo, LockStatus, LockedPlane, LockedPlaneMut, MetalCalls, NO_ERR,
};
use crate::backend::videotoolbox::color::PIXEL_32BGRA;
use crate::transform::{TransformSpec, transform_frame};
use std::sync::{Arc, Mutex};

/// `kCVReturnInvalidArgument`: what `CVPixelBufferUnlockBaseAddress` says without a lock.
const CV_INVALID_ARGUMENT: i32 = -6661;

/// A pixel buffer: planes of `rows * stride` bytes.
pub(crate) struct DoubleImage {
    pub info: ImageInfo,
    pub strides: Vec<usize>,
    pub rows: Vec<usize>,
    planes: Mutex<Vec<Vec<u8>>>,
}

/// Shared handle (retained buffer).
pub(crate) type Image = Arc<DoubleImage>;

/// Bytes per row of a plane of `row` bytes: rows are aligned (64 bytes here) and may be padded
/// further (`padding`, from the script). Apple: "Do not assume the buffer alignment will be the
/// same on different hardware. Pay attention to the bytes per row when you are processing each
/// row of data" (<https://developer.apple.com/library/ios/qa/qa1829/_index.html>,
/// <https://developer.apple.com/tutorials/data/documentation/corevideo/cvpixelbuffergetbytesperrowofplane(_:_:).md>).
fn stride(row: usize, padding: usize) -> usize {
    row.div_ceil(64) * 64 + padding
}

impl DoubleImage {
    /// An empty buffer of `width`x`height` in `fourcc` (NV12 unless 32BGRA).
    pub(crate) fn new(width: usize, height: usize, fourcc: u32, padding: usize) -> Self {
        let (strides, rows) = if fourcc == PIXEL_32BGRA {
            (vec![stride(width * 4, padding)], vec![height])
        } else {
            let cw = width.div_ceil(2) * 2;
            (
                vec![stride(width, padding), stride(cw, padding)],
                vec![height, height.div_ceil(2)],
            )
        };
        let planes = strides
            .iter()
            .zip(&rows)
            .map(|(s, r)| vec![0u8; s * r])
            .collect();
        Self {
            info: ImageInfo {
                width,
                height,
                pixel_format: fourcc,
                ..Default::default()
            },
            strides,
            rows,
            planes: Mutex::new(planes),
        }
    }

    /// An NV12 buffer holding the visible picture of an I420 frame `planar` (as
    /// `DecodedFrame::write_planar` writes it) of `width`x`height`.
    pub(crate) fn nv12_from_i420(
        planar: &[u8],
        width: usize,
        height: usize,
        info: ImageInfo,
        padding: usize,
    ) -> Result<Self> {
        let mut image = Self::new(width, height, info.pixel_format, padding);
        image.info = ImageInfo {
            width,
            height,
            ..info
        };
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        if planar.len() < width * height + 2 * cw * ch {
            return Err(VideoError::backend("double: short I420 picture"));
        }
        let (y, rest) = planar.split_at(width * height);
        let (u, v) = rest.split_at(cw * ch);
        let (ys, uvs) = (image.strides[0], image.strides[1]);
        let mut planes = image.planes.lock().map_err(|_| poisoned())?;
        for r in 0..height {
            planes[0][r * ys..r * ys + width].copy_from_slice(&y[r * width..(r + 1) * width]);
        }
        for r in 0..ch {
            for c in 0..cw {
                planes[1][r * uvs + 2 * c] = u[r * cw + c];
                planes[1][r * uvs + 2 * c + 1] = v[r * cw + c];
            }
        }
        drop(planes);
        Ok(image)
    }

    /// Locks, hands the planes to `read`, unlocks.
    pub(crate) fn read(&self, read: &mut dyn FnMut(&[LockedPlane<'_>])) -> LockStatus {
        let Ok(planes) = self.planes.lock() else {
            return LockStatus {
                lock: CV_INVALID_ARGUMENT,
                unlock: NO_ERR,
            };
        };
        let locked: Vec<LockedPlane<'_>> = planes
            .iter()
            .zip(self.strides.iter().zip(&self.rows))
            .map(|(p, (&stride, &rows))| LockedPlane {
                bytes: Some(p),
                stride,
                rows,
            })
            .collect();
        read(&locked);
        LockStatus {
            lock: NO_ERR,
            unlock: NO_ERR,
        }
    }

    /// Locks for writing, hands the planes to `write`, unlocks.
    pub(crate) fn write(
        &self,
        write: &mut dyn FnMut(&mut [LockedPlaneMut<'_>]) -> Result<()>,
    ) -> (LockStatus, Result<()>) {
        let Ok(mut planes) = self.planes.lock() else {
            return (
                LockStatus {
                    lock: CV_INVALID_ARGUMENT,
                    unlock: NO_ERR,
                },
                Ok(()),
            );
        };
        let mut locked: Vec<LockedPlaneMut<'_>> = planes
            .iter_mut()
            .zip(&self.strides)
            .map(|(p, &stride)| LockedPlaneMut {
                bytes: Some(p.as_mut_slice()),
                stride,
            })
            .collect();
        let written = write(&mut locked);
        (
            LockStatus {
                lock: NO_ERR,
                unlock: NO_ERR,
            },
            written,
        )
    }

    /// The planes as they are now (copies).
    pub(crate) fn planes(&self) -> Vec<Vec<u8>> {
        self.planes.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// As a Core Video surface retaining the buffer.
    pub(crate) fn surface(image: Image) -> GpuSurface {
        GpuSurface {
            api: GpuApi::CoreVideo,
            planes: vec![Arc::as_ptr(&image) as usize as u64],
            pitches: image.strides.clone(),
            stream: 0,
            device: 0,
            keepalive: Box::new(image),
        }
    }
}

fn poisoned() -> VideoError {
    VideoError::backend("double: pixel buffer lock poisoned")
}

/// The Metal converter's double: converts like the kernel (NV12 -> packed RGB of the coded
/// picture), or fails as a command buffer does when `fail` is set.
pub(crate) struct DoubleMetal {
    pub target: PixelFormat,
    pub fail: bool,
    pub log: Arc<Mutex<Log>>,
}

impl MetalCalls<Image> for DoubleMetal {
    fn convert(&self, image: &Image, frame: DecodedFrame) -> Result<DecodedFrame> {
        if let Ok(mut log) = self.log.lock() {
            log.metal_calls += 1;
        }
        if self.fail {
            return Err(VideoError::backend(
                "double: Metal command buffer completed with an error",
            ));
        }
        let planes = image
            .planes()
            .into_iter()
            .zip(&image.strides)
            .map(|(data, &stride)| Plane {
                data: data.into(),
                stride,
            })
            .collect();
        let nv12 = DecodedFrame {
            data: FrameData::Cpu(planes),
            ..frame
        };
        let mut out = transform_frame(&nv12, &TransformSpec::to(self.target))?;
        out.pts = nv12.pts;
        if let Ok(mut log) = self.log.lock() {
            log.metal_frames += 1;
        }
        Ok(out)
    }
}
