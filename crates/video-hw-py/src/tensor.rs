//! A strided view of pixels that Python consumers read: the shape, strides and address behind
//! `__array_interface__` (host memory) and `__dlpack__` (host or CUDA memory), plus what keeps
//! the memory alive.

use crate::dlpack;
use pyo3::exceptions::{PyBufferError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::any::Any;
use std::sync::Arc;

/// Where a tensor's memory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// Host memory.
    Cpu,
    /// CUDA device memory of this device ordinal.
    Cuda(i32),
}

/// Unsigned elements of 8 or 16 bits, strided, in memory that `owner` keeps alive.
#[derive(Clone)]
pub struct TensorView {
    /// Address of the first element.
    pub data: u64,
    /// Where `data` points.
    pub device: Device,
    /// Bits per element (8 or 16).
    pub bits: u8,
    /// Extent of each dimension.
    pub shape: Vec<i64>,
    /// Elements (not bytes) from one index to the next, per dimension.
    pub strides: Vec<i64>,
    /// Whether consumers must not write (decoded frames may be shared).
    pub read_only: bool,
    /// Holds the memory.
    pub owner: Arc<dyn Any + Send + Sync>,
}

impl TensorView {
    /// `__array_interface__` (version 3) of a host tensor; `BufferError` for device memory.
    pub fn array_interface<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        if self.device != Device::Cpu {
            return Err(PyBufferError::new_err(
                "the frame is in CUDA memory: use DLPack (torch.from_dlpack, cupy.from_dlpack) \
                 or decode with device=\"cpu\"",
            ));
        }
        let bytes = i64::from(self.bits / 8);
        let d = PyDict::new(py);
        d.set_item("version", 3)?;
        d.set_item("shape", PyTuple::new(py, &self.shape)?)?;
        d.set_item("typestr", if self.bits == 8 { "|u1" } else { "<u2" })?;
        d.set_item("data", (self.data, self.read_only))?;
        let strides: Vec<i64> = self.strides.iter().map(|s| s * bytes).collect();
        d.set_item("strides", PyTuple::new(py, strides)?)?;
        Ok(d)
    }

    /// `__dlpack_device__`: `(device_type, device_id)`.
    pub fn dlpack_device(&self) -> (i32, i32) {
        match self.device {
            Device::Cpu => (dlpack::KDL_CPU, 0),
            Device::Cuda(id) => (dlpack::KDL_CUDA, id),
        }
    }

    /// `__dlpack__`: a capsule sharing the memory. `max_version` (DLPack >= 2023.12) picks
    /// the versioned struct; `dl_device` must be the tensor's own device; `copy=True` is
    /// refused (the protocol's `BufferError`). For CUDA memory, `stream` is the consumer's
    /// stream: the library hands a frame over only once its producer stream has finished
    /// with it (`GpuSurface` is synchronised before it is returned), so every consumer stream
    /// is ordered after the writes and nothing needs to wait here; `-1` is accepted as well.
    pub fn export<'py>(
        &self,
        py: Python<'py>,
        stream: Option<&Bound<'py, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if copy == Some(true) {
            return Err(PyBufferError::new_err(
                "copy=True: video_hw frames are exported without a copy only",
            ));
        }
        if let Some(d) = dl_device
            && d != self.dlpack_device()
        {
            return Err(PyBufferError::new_err(format!(
                "the frame is on DLPack device {:?}, not {d:?}",
                self.dlpack_device()
            )));
        }
        if let Some(s) = stream
            && !s.is_none()
        {
            let s: i64 = s.extract()?;
            if self.device == Device::Cpu && s != -1 {
                return Err(PyValueError::new_err(
                    "stream must be None for host memory (DLPack)",
                ));
            }
        }
        let versioned = max_version.is_some_and(|(major, _)| major >= 1);
        dlpack::capsule(py, self.clone(), versioned)
    }
}
