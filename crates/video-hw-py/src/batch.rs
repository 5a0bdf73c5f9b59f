//! `video_hw.FrameBatch`: frames stacked into one contiguous host tensor, `(N, H, W, 3)` for
//! `rgb24`, `(N, 3, H, W)` for `rgb_planar`, `(N, H * 3 / 2, W)` for the YUV formats.

use crate::errors::UnsupportedError;
use crate::frame::Frame;
use crate::tensor::{Device, TensorView};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

/// Several frames of one size as one tensor (host memory, row-major, a copy).
#[pyclass(module = "video_hw", frozen)]
pub struct FrameBatch {
    view: TensorView,
    /// Presentation positions of the frames.
    #[pyo3(get)]
    indices: Vec<u64>,
    /// Presentation times in seconds (`None` where the stream has none).
    #[pyo3(get)]
    pts: Vec<Option<f64>>,
}

impl FrameBatch {
    /// Stacks `frames` (all of one shape, in host memory).
    pub fn stack(frames: &[Bound<'_, Frame>]) -> PyResult<Self> {
        let views: Vec<&TensorView> = frames.iter().map(|f| f.get().view()).collect();
        let first = views.first().ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err("a batch needs at least one frame")
        })?;
        if views.iter().any(|v| v.device != Device::Cpu) {
            return Err(UnsupportedError::new_err(
                "batches of CUDA frames are not made in this version: take the frames one by \
                 one (torch.from_dlpack) and stack them on the device",
            ));
        }
        if views
            .iter()
            .any(|v| v.shape != first.shape || v.bits != first.bits)
        {
            return Err(UnsupportedError::new_err(
                "the frames differ in size (a resolution change): batch them separately",
            ));
        }
        let per: usize = first.shape.iter().product::<i64>() as usize * usize::from(first.bits / 8);
        let mut bytes = Vec::with_capacity(per * views.len());
        for v in &views {
            copy_contiguous(v, &mut bytes);
        }
        let bytes: Arc<[u8]> = bytes.into();
        let mut shape = vec![views.len() as i64];
        shape.extend_from_slice(&first.shape);
        let mut strides = vec![0i64; shape.len()];
        let mut step = 1i64;
        for (s, d) in strides.iter_mut().zip(&shape).rev() {
            *s = step;
            step *= d;
        }
        Ok(Self {
            view: TensorView {
                data: bytes.as_ptr() as u64,
                device: Device::Cpu,
                bits: first.bits,
                shape,
                strides,
                read_only: true,
                owner: Arc::new(bytes),
            },
            indices: frames.iter().map(|f| f.get().index()).collect(),
            pts: frames.iter().map(|f| f.get().pts()).collect(),
        })
    }
}

/// Appends the elements of a host tensor in row-major order.
fn copy_contiguous(v: &TensorView, out: &mut Vec<u8>) {
    let elem = usize::from(v.bits / 8);
    let count: i64 = v.shape.iter().product();
    let last = v.shape.len() - 1;
    let mut index = vec![0i64; v.shape.len()];
    let mut done = 0i64;
    while done < count {
        let offset: i64 = index.iter().zip(&v.strides).map(|(i, s)| i * s).sum();
        let start = (v.data as i64 + offset * elem as i64) as *const u8;
        // A whole contiguous row at once where the last dimension is dense.
        let run = if v.strides[last] == 1 {
            v.shape[last]
        } else {
            1
        };
        // SAFETY: `v` was made from memory its owner keeps alive, and every index inside its
        // shape lies inside that memory (checked when the view was made).
        let src = unsafe { std::slice::from_raw_parts(start, run as usize * elem) };
        out.extend_from_slice(src);
        done += run;
        index[last] += run;
        for d in (0..=last).rev() {
            if index[d] < v.shape[d] || d == 0 {
                break;
            }
            index[d] = 0;
            index[d - 1] += 1;
        }
    }
}

#[pymethods]
impl FrameBatch {
    /// The shape of the tensor.
    #[getter]
    fn shape(&self) -> Vec<i64> {
        self.view.shape.clone()
    }

    fn __len__(&self) -> usize {
        self.indices.len()
    }

    /// NumPy's array interface (read-only).
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.view.array_interface(py)
    }

    /// A DLPack capsule sharing the batch's memory.
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

    /// `(1, 0)`: host memory.
    fn __dlpack_device__(&self) -> (i32, i32) {
        self.view.dlpack_device()
    }

    fn __repr__(&self) -> String {
        format!(
            "FrameBatch(n={}, shape={:?}, indices={:?})",
            self.indices.len(),
            self.view.shape,
            self.indices
        )
    }
}
