//! `video_hw.Frame`: one decoded picture as a tensor, shared with NumPy
//! (`__array_interface__`) and DLPack consumers without a copy where the layout allows.

use crate::errors::to_py;
use crate::tensor::{Device, TensorView};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;
use video_hw::{DecodedFrame, FrameData, GpuApi, PixelFormat, VideoError};

/// The layouts a decoder hands to Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `(H, W, 3)` packed RGB.
    Rgb24,
    /// `(3, H, W)`: the same RGB bytes seen channel-first (strided, no copy).
    RgbPlanar,
    /// `(H * 3 / 2, W)`: luma rows, then interleaved chroma rows.
    Nv12,
    /// `(H * 3 / 2, W)`: luma, then the U and V planes (two chroma rows per row).
    I420,
}

impl Layout {
    /// Parses a `format=` argument.
    pub fn parse(name: &str) -> Result<Self, VideoError> {
        Ok(match name {
            "rgb24" | "rgb" => Self::Rgb24,
            "rgb_planar" => Self::RgbPlanar,
            "nv12" => Self::Nv12,
            "i420" | "yuv420p" => Self::I420,
            other => {
                return Err(VideoError::invalid_input(format!(
                    "unknown format {other:?} (known: rgb24, rgb_planar, nv12, i420)"
                )));
            }
        })
    }

    /// The pixel format the library is asked for.
    pub fn pixel_format(self) -> PixelFormat {
        match self {
            Self::Rgb24 | Self::RgbPlanar => PixelFormat::Rgb24,
            Self::Nv12 => PixelFormat::Nv12,
            Self::I420 => PixelFormat::I420,
        }
    }

    /// The name Python sees.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rgb24 => "rgb24",
            Self::RgbPlanar => "rgb_planar",
            Self::Nv12 => "nv12",
            Self::I420 => "i420",
        }
    }
}

/// One decoded picture. `numpy.asarray(frame)` and `numpy.from_dlpack(frame)` see its pixels
/// (host frames); `torch.from_dlpack(frame)` / `cupy.from_dlpack(frame)` share CUDA frames.
#[pyclass(module = "video_hw", frozen)]
pub struct Frame {
    view: TensorView,
    /// Position of the frame in presentation order.
    #[pyo3(get)]
    index: u64,
    /// Presentation time in seconds, if the stream has one.
    #[pyo3(get)]
    pts: Option<f64>,
    /// Whether the picture was coded as a keyframe.
    #[pyo3(get)]
    keyframe: bool,
    /// The layout of the tensor: `rgb24`, `rgb_planar`, `nv12` or `i420`.
    #[pyo3(get)]
    format: &'static str,
    /// `(left, top, width, height)` of the visible picture inside the tensor (CUDA NV12
    /// frames keep the decoder's padded surface; host frames are already cropped).
    #[pyo3(get)]
    crop: (u32, u32, u32, u32),
}

impl Frame {
    /// Wraps a decoded picture as a tensor of `layout`.
    /// `gpu` is the CUDA device ordinal of device frames.
    pub fn new(frame: Arc<DecodedFrame>, layout: Layout, index: u64, gpu: i32) -> PyResult<Self> {
        let pts = frame.pts.map(|t| t.seconds());
        let keyframe = frame.keyframe;
        let (view, crop) = view_of(frame, layout, gpu).map_err(to_py)?;
        Ok(Self {
            view,
            index,
            pts,
            keyframe,
            format: layout.name(),
            crop,
        })
    }

    /// The tensor behind the frame.
    pub fn view(&self) -> &TensorView {
        &self.view
    }

    /// Position in presentation order.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Presentation time in seconds.
    pub fn pts(&self) -> Option<f64> {
        self.pts
    }
}

#[pymethods]
impl Frame {
    /// The shape of the tensor.
    #[getter]
    fn shape(&self) -> Vec<i64> {
        self.view.shape.clone()
    }

    /// `"cpu"` or `"cuda:N"`.
    #[getter]
    fn device(&self) -> String {
        match self.view.device {
            Device::Cpu => "cpu".into(),
            Device::Cuda(n) => format!("cuda:{n}"),
        }
    }

    /// NumPy's array interface (host frames; read-only, shared with the decoder's buffer).
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.view.array_interface(py)
    }

    /// A DLPack capsule sharing the frame's memory (see the DLPack Python specification).
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<&Bound<'py, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.view.export(py, stream, max_version, dl_device, copy)
    }

    /// `(device_type, device_id)` as DLPack numbers them (1 CPU, 2 CUDA).
    fn __dlpack_device__(&self) -> (i32, i32) {
        self.view.dlpack_device()
    }

    fn __repr__(&self) -> String {
        format!(
            "Frame(index={}, pts={}, format={:?}, shape={:?}, device={:?}, keyframe={})",
            self.index,
            self.pts
                .map_or_else(|| "None".to_string(), |p| format!("{p:.6}")),
            self.format,
            self.view.shape,
            self.device(),
            if self.keyframe { "True" } else { "False" }
        )
    }
}

type Crop = (u32, u32, u32, u32);

/// The tensor of `frame` in `layout`: host RGB shared as it is (crop by offset), host YUV
/// copied tightly packed, CUDA NV12 shared as the decoder's surface, CUDA RGB (converted on
/// the GPU) shared as it is.
fn view_of(
    frame: Arc<DecodedFrame>,
    layout: Layout,
    gpu: i32,
) -> Result<(TensorView, Crop), VideoError> {
    let c = frame.crop;
    let (w, h) = (i64::from(c.width), i64::from(c.height));
    match (&frame.data, layout) {
        (FrameData::Cpu(planes), Layout::Rgb24 | Layout::RgbPlanar) => {
            if frame.format != PixelFormat::Rgb24 {
                return Err(VideoError::backend(format!(
                    "asked for rgb24, the decoder gave {}",
                    frame.format
                )));
            }
            let plane = &planes[0];
            let stride = plane.stride as i64;
            let start = c.top as usize * plane.stride + c.left as usize * 3;
            let end = start + (h as usize).saturating_sub(1) * plane.stride + w as usize * 3;
            if end > plane.data.len() {
                return Err(VideoError::backend("RGB plane shorter than its crop"));
            }
            let data = plane.data.as_ptr() as u64 + start as u64;
            let (shape, strides) = if layout == Layout::Rgb24 {
                (vec![h, w, 3], vec![stride, 3, 1])
            } else {
                (vec![3, h, w], vec![1, stride, 3])
            };
            let owner: Arc<dyn std::any::Any + Send + Sync> = Arc::new(plane.data.clone());
            let view = TensorView {
                data,
                device: Device::Cpu,
                bits: 8,
                shape,
                strides,
                read_only: true,
                owner,
            };
            Ok((view, (0, 0, c.width, c.height)))
        }
        (FrameData::Cpu(_), Layout::Nv12 | Layout::I420) => {
            let bytes = packed_yuv(&frame, layout)?;
            let bits = if frame.format.bit_depth() > 8 { 16 } else { 8 };
            let elems = (bytes.len() / usize::from(bits / 8)) as i64;
            let (shape, strides) = if w % 2 == 0 && h % 2 == 0 {
                (vec![h + h / 2, w], vec![w, 1])
            } else {
                (vec![elems], vec![1])
            };
            let bytes: Arc<[u8]> = bytes.into();
            let view = TensorView {
                data: bytes.as_ptr() as u64,
                device: Device::Cpu,
                bits,
                shape,
                strides,
                read_only: true,
                owner: Arc::new(bytes),
            };
            Ok((view, (0, 0, c.width, c.height)))
        }
        (FrameData::Gpu(s), Layout::Nv12) if s.api == GpuApi::Cuda => {
            // NVDEC's surface: luma rows then chroma rows, one pitch, coded height rows.
            let rows = i64::from(frame.coded.height());
            let rows = rows + (rows + 1) / 2;
            let pitch = s.pitches.first().copied().unwrap_or(0) as i64;
            let bits = if frame.format.bit_depth() > 8 { 16 } else { 8 };
            let bytes = i64::from(bits / 8);
            let view = TensorView {
                data: s.planes.first().copied().unwrap_or(0),
                device: Device::Cuda(gpu),
                bits,
                shape: vec![rows, i64::from(frame.coded.width())],
                strides: vec![pitch / bytes, 1],
                read_only: false,
                owner: frame.clone(),
            };
            Ok((view, (c.left, c.top, c.width, c.height)))
        }
        (FrameData::Gpu(s), Layout::Rgb24 | Layout::RgbPlanar)
            if s.api == GpuApi::Cuda && frame.format == PixelFormat::Rgb24 =>
        {
            // Converted on the GPU: one packed plane of the visible picture.
            let pitch = s.pitches.first().copied().unwrap_or(0) as i64;
            let (shape, strides) = if layout == Layout::Rgb24 {
                (vec![h, w, 3], vec![pitch, 3, 1])
            } else {
                (vec![3, h, w], vec![1, pitch, 3])
            };
            let view = TensorView {
                data: s.planes.first().copied().unwrap_or(0),
                device: Device::Cuda(gpu),
                bits: 8,
                shape,
                strides,
                read_only: false,
                owner: frame.clone(),
            };
            Ok((view, (0, 0, c.width, c.height)))
        }
        (FrameData::Gpu(_), other) => Err(VideoError::unsupported(format!(
            "format={:?} on the GPU: this version keeps frames on the device as NV12 only; \
             use format=\"nv12\" with device=\"cuda\", or device=\"cpu\" for {:?}",
            other.name(),
            other.name()
        ))),
        _ => Err(VideoError::backend(
            "the decoder gave a frame without pixels",
        )),
    }
}

/// The visible picture of a host YUV frame, tightly packed: I420 as the conformance MD5s
/// are defined (the library's `write_planar`), NV12 with its chroma rows interleaved.
fn packed_yuv(frame: &DecodedFrame, layout: Layout) -> Result<Vec<u8>, VideoError> {
    let exact = match layout {
        Layout::I420 => !matches!(frame.format, PixelFormat::P016) && frame.format.is_yuv(),
        _ => frame.format == PixelFormat::Nv12,
    };
    if !exact {
        return Err(VideoError::unsupported(format!(
            "format={:?}: the decoder gave {} (use format=\"i420\" for high bit depth video)",
            layout.name(),
            frame.format
        )));
    }
    if layout == Layout::I420 {
        let mut out = Vec::with_capacity(frame.format.frame_size(frame.dimensions()));
        frame.write_planar(&mut out)?;
        return Ok(out);
    }
    let (w, h) = (frame.crop.width as usize, frame.crop.height as usize);
    let mut out = Vec::with_capacity(w * h + w.div_ceil(2) * 2 * h.div_ceil(2));
    frame.write_semi_planar(&mut out)?;
    Ok(out)
}
