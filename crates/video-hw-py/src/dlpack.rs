//! DLPack export and import (<https://dmlc.github.io/dlpack/latest/>): the C structs of
//! `dlpack.h` (v1.1: `DLManagedTensorVersioned`, and the legacy `DLManagedTensor` for
//! consumers that ask for no version), the capsules `__dlpack__` returns, and reading a
//! producer's CPU capsule for the encoder.
//!
//! Ownership follows the spec: the capsule holds a pointer to a heap `Managed*` struct whose
//! `manager_ctx` owns the shape, the strides and a reference to the pixels. A consumer that
//! takes the tensor renames the capsule (`used_dltensor`) and calls `deleter` when it is done,
//! possibly without the GIL and from any thread; a capsule nobody took calls it when it dies.

use crate::tensor::{Device, TensorView};
use pyo3::exceptions::PyBufferError;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use std::ffi::{CStr, c_void};

/// `DLDeviceType::kDLCPU`.
pub const KDL_CPU: i32 = 1;
/// `DLDeviceType::kDLCUDA`.
pub const KDL_CUDA: i32 = 2;
/// `DLDataTypeCode::kDLUInt`.
const KDL_UINT: u8 = 1;
/// `DLPACK_FLAG_BITMASK_READ_ONLY`.
const FLAG_READ_ONLY: u64 = 1;
/// The DLPack version this module implements.
const VERSION: DLPackVersion = DLPackVersion { major: 1, minor: 1 };

const NAME: &CStr = c"dltensor";
const NAME_VERSIONED: &CStr = c"dltensor_versioned";

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

/// What a capsule's tensor owns: its shape and strides, and the pixels (kept alive until the
/// consumer's deleter runs).
struct Context {
    shape: Vec<i64>,
    strides: Vec<i64>,
    _view: TensorView,
}

fn tensor_of(ctx: &mut Context, view: &TensorView) -> DLTensor {
    let (device_type, device_id) = match view.device {
        Device::Cpu => (KDL_CPU, 0),
        Device::Cuda(id) => (KDL_CUDA, id),
    };
    DLTensor {
        data: view.data as *mut c_void,
        device: DLDevice {
            device_type,
            device_id,
        },
        ndim: i32::try_from(ctx.shape.len()).unwrap_or(i32::MAX),
        dtype: DLDataType {
            code: KDL_UINT,
            bits: view.bits,
            lanes: 1,
        },
        shape: ctx.shape.as_mut_ptr(),
        strides: ctx.strides.as_mut_ptr(),
        byte_offset: 0,
    }
}

unsafe extern "C" fn delete_legacy(managed: *mut DLManagedTensor) {
    if managed.is_null() {
        return;
    }
    // SAFETY: `managed` came from `Box::into_raw` in `capsule` and its context from
    // `Box::into_raw` there too; DLPack calls the deleter exactly once.
    unsafe {
        let managed = Box::from_raw(managed);
        drop(Box::from_raw(managed.manager_ctx.cast::<Context>()));
    }
}

unsafe extern "C" fn delete_versioned(managed: *mut DLManagedTensorVersioned) {
    if managed.is_null() {
        return;
    }
    // SAFETY: as in `delete_legacy`, for the versioned struct.
    unsafe {
        let managed = Box::from_raw(managed);
        drop(Box::from_raw(managed.manager_ctx.cast::<Context>()));
    }
}

/// Runs the deleter of a capsule that no consumer took (still under its original name).
unsafe extern "C" fn capsule_destructor(capsule: *mut pyo3::ffi::PyObject) {
    // SAFETY: called by Python with the dying capsule and the GIL held. The pointer under
    // each name is the struct `capsule` stored; a renamed (consumed) capsule matches neither
    // name and is left to its consumer.
    unsafe {
        if pyo3::ffi::PyCapsule_IsValid(capsule, NAME.as_ptr()) == 1 {
            let p = pyo3::ffi::PyCapsule_GetPointer(capsule, NAME.as_ptr());
            delete_legacy(p.cast());
        } else if pyo3::ffi::PyCapsule_IsValid(capsule, NAME_VERSIONED.as_ptr()) == 1 {
            let p = pyo3::ffi::PyCapsule_GetPointer(capsule, NAME_VERSIONED.as_ptr());
            delete_versioned(p.cast());
        } else {
            // A consumed capsule: clear the error a failed lookup may have left.
            pyo3::ffi::PyErr_Clear();
        }
    }
}

/// A DLPack capsule sharing `view`'s memory: versioned (`dltensor_versioned`, read-only flag
/// set) when the consumer accepts DLPack 1.x, else legacy (`dltensor`).
pub fn capsule(py: Python<'_>, view: TensorView, versioned: bool) -> PyResult<Bound<'_, PyAny>> {
    let mut ctx = Box::new(Context {
        shape: view.shape.clone(),
        strides: view.strides.clone(),
        _view: view.clone(),
    });
    let tensor = tensor_of(&mut ctx, &view);
    let ctx = Box::into_raw(ctx).cast::<c_void>();
    let (pointer, name) = if versioned {
        let managed = Box::new(DLManagedTensorVersioned {
            version: VERSION,
            manager_ctx: ctx,
            deleter: Some(delete_versioned),
            flags: if view.read_only { FLAG_READ_ONLY } else { 0 },
            dl_tensor: tensor,
        });
        (Box::into_raw(managed).cast::<c_void>(), NAME_VERSIONED)
    } else {
        let managed = Box::new(DLManagedTensor {
            dl_tensor: tensor,
            manager_ctx: ctx,
            deleter: Some(delete_legacy),
        });
        (Box::into_raw(managed).cast::<c_void>(), NAME)
    };
    // SAFETY: `pointer` is a live heap struct of the kind `name` says; the destructor frees it
    // only while no consumer has renamed the capsule.
    let raw = unsafe { pyo3::ffi::PyCapsule_New(pointer, name.as_ptr(), Some(capsule_destructor)) };
    if raw.is_null() {
        // SAFETY: the capsule was not made, so nobody else holds the struct.
        unsafe {
            if versioned {
                delete_versioned(pointer.cast());
            } else {
                delete_legacy(pointer.cast());
            }
        }
        return Err(PyErr::fetch(py));
    }
    // SAFETY: `raw` is a new reference to the capsule just made.
    Ok(unsafe { Bound::from_owned_ptr(py, raw) })
}

/// An 8-bit CPU tensor read from another producer's DLPack capsule: its shape and its bytes
/// in row-major order (copied; the producer's deleter has run when this returns).
pub struct Imported {
    /// Extent of each dimension.
    pub shape: Vec<usize>,
    /// The elements, tightly packed, row-major.
    pub bytes: Vec<u8>,
}

/// Copies the tensor of `obj.__dlpack__()` (CPU, `uint8`) and releases it.
pub fn import_cpu_u8(obj: &Bound<'_, PyAny>) -> PyResult<Imported> {
    let capsule = obj.call_method0("__dlpack__")?;
    let capsule = capsule.cast::<PyCapsule>()?;
    let name = capsule.name()?;
    // SAFETY: a name from the capsule itself is a valid C string while it lives.
    if name.is_none_or(|n| unsafe { n.as_cstr() } != NAME) {
        return Err(PyBufferError::new_err(
            "expected an unused legacy DLPack capsule (`dltensor`) from __dlpack__()",
        ));
    }
    // SAFETY: the name checked above says the pointer is a `DLManagedTensor`.
    let managed = unsafe { pyo3::ffi::PyCapsule_GetPointer(capsule.as_ptr(), NAME.as_ptr()) }
        .cast::<DLManagedTensor>();
    if managed.is_null() {
        return Err(PyErr::fetch(capsule.py()));
    }
    // SAFETY: the producer keeps the tensor valid until its deleter runs, which happens below
    // after the copy (the capsule is renamed first so that it does not run it again).
    let result = unsafe { copy_out(&(*managed).dl_tensor) };
    // SAFETY: as above: take the tensor, then release it once.
    unsafe {
        pyo3::ffi::PyCapsule_SetName(capsule.as_ptr(), c"used_dltensor".as_ptr());
        if let Some(deleter) = (*managed).deleter {
            deleter(managed);
        }
    }
    result
}

/// # Safety
/// `t` must describe memory that is readable for every element its shape and strides name.
unsafe fn copy_out(t: &DLTensor) -> PyResult<Imported> {
    if t.device.device_type != KDL_CPU {
        return Err(PyBufferError::new_err(
            "encoder input must be in host memory (DLPack kDLCPU); copy it to the CPU first",
        ));
    }
    if t.dtype.code != KDL_UINT || t.dtype.bits != 8 || t.dtype.lanes != 1 {
        return Err(PyBufferError::new_err("encoder input must be uint8"));
    }
    let ndim = usize::try_from(t.ndim).unwrap_or(0);
    if !(1..=4).contains(&ndim) || t.shape.is_null() {
        return Err(PyBufferError::new_err(
            "encoder input must have 1 to 4 dimensions",
        ));
    }
    // SAFETY: DLPack says `shape` (and `strides` when not null) hold `ndim` values.
    let shape = unsafe { std::slice::from_raw_parts(t.shape, ndim) };
    let shape: Vec<usize> = shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| PyBufferError::new_err("negative extent")))
        .collect::<PyResult<_>>()?;
    let strides: Vec<isize> = if t.strides.is_null() {
        let mut s = vec![1isize; ndim];
        for i in (0..ndim.saturating_sub(1)).rev() {
            s[i] = s[i + 1] * shape[i + 1] as isize;
        }
        s
    } else {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(t.strides, ndim) }
            .iter()
            .map(|&s| s as isize)
            .collect()
    };
    let count: usize = shape.iter().product();
    let mut bytes = Vec::with_capacity(count);
    // SAFETY: `data + byte_offset` is the first element (DLPack).
    let base = unsafe { t.data.cast::<u8>().add(t.byte_offset as usize) };
    let mut index = vec![0usize; ndim];
    for _ in 0..count {
        let offset: isize = index
            .iter()
            .zip(&strides)
            .map(|(&i, &s)| i as isize * s)
            .sum();
        // SAFETY: `index` stays inside `shape`, so the element lies inside the tensor.
        bytes.push(unsafe { *base.offset(offset) });
        for d in (0..ndim).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(Imported { shape, bytes })
}
