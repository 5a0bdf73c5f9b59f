//! `video_hw.FrameBatch`: frames stacked into one contiguous host tensor, `(N, H, W, 3)` for
//! `rgb24`, `(N, 3, H, W)` for `rgb_planar`, `(N, H * 3 / 2, W)` for the YUV formats; CUDA
//! frames stay separate (a list, each shared through DLPack).

use crate::errors::UnsupportedError;
use crate::frame::Frame;
use crate::tensor::{Device, TensorView};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

/// Several frames: as one tensor (host frames of one size: row-major, a copy) and as a list.
#[pyclass(module = "video_hw", frozen, sequence)]
pub struct FrameBatch {
    /// The stacked tensor; `None` for CUDA frames.
    view: Option<TensorView>,
    frames: Vec<Py<Frame>>,
    /// Presentation positions of the frames.
    #[pyo3(get)]
    indices: Vec<u64>,
    /// Presentation times in seconds (`None` where the stream has none).
    #[pyo3(get)]
    pts: Vec<Option<f64>>,
}

impl FrameBatch {
    /// Stacks `frames` (host frames must all have one shape; CUDA frames are kept as a list).
    pub fn stack(frames: &[Bound<'_, Frame>]) -> PyResult<Self> {
        let views: Vec<&TensorView> = frames.iter().map(|f| f.get().view()).collect();
        let list = || frames.iter().map(|f| f.clone().unbind()).collect();
        let indices = frames.iter().map(|f| f.get().index()).collect();
        let pts = frames.iter().map(|f| f.get().pts()).collect();
        let Some(first) = views.first().filter(|v| v.device == Device::Cpu) else {
            return Ok(Self {
                view: None,
                frames: list(),
                indices,
                pts,
            });
        };
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
            view: Some(TensorView {
                data: bytes.as_ptr() as u64,
                device: Device::Cpu,
                bits: first.bits,
                shape,
                strides,
                read_only: true,
                owner: Arc::new(bytes),
            }),
            frames: list(),
            indices,
            pts,
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

impl FrameBatch {
    fn tensor(&self) -> PyResult<&TensorView> {
        self.view.as_ref().ok_or_else(|| {
            UnsupportedError::new_err(
                "CUDA frames are not stacked into one tensor in this version: take them from \
                 batch.frames (torch.from_dlpack each) and stack them on the device",
            )
        })
    }
}

#[pymethods]
impl FrameBatch {
    /// The shape of the stacked tensor (`None` for CUDA frames).
    #[getter]
    fn shape(&self) -> Option<Vec<i64>> {
        self.view.as_ref().map(|v| v.shape.clone())
    }

    /// The frames, one by one.
    #[getter]
    fn frames(&self, py: Python<'_>) -> Vec<Py<Frame>> {
        self.frames.iter().map(|f| f.clone_ref(py)).collect()
    }

    fn __len__(&self) -> usize {
        self.frames.len()
    }

    fn __getitem__(&self, py: Python<'_>, i: isize) -> PyResult<Py<Frame>> {
        let n = self.frames.len() as isize;
        let k = if i < 0 { i + n } else { i };
        usize::try_from(k)
            .ok()
            .and_then(|k| self.frames.get(k))
            .map(|f| f.clone_ref(py))
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err("batch index out of range"))
    }

    /// NumPy's array interface (read-only).
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.tensor()?.array_interface(py)
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
        self.tensor()?
            .export(py, stream, max_version, dl_device, copy)
    }

    /// `(1, 0)`: host memory.
    fn __dlpack_device__(&self) -> PyResult<(i32, i32)> {
        Ok(self.tensor()?.dlpack_device())
    }

    fn __repr__(&self) -> String {
        format!(
            "FrameBatch(n={}, shape={:?}, indices={:?})",
            self.indices.len(),
            self.view.as_ref().map(|v| &v.shape),
            self.indices
        )
    }
}
