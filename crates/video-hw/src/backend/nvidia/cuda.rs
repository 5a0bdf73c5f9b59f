//! The CUDA driver through cudarc (loaded at run time): the device's primary context shared
//! by every session, a stream per session, device and pinned host buffers.

use crate::api::error::{Result, VideoError};
use cudarc::driver::result::{self as cu, DriverError};
use cudarc::driver::sys::{self, CUcontext, CUdevice, CUdeviceptr, CUresult, CUstream};
use std::ffi::c_void;
use std::sync::{Arc, OnceLock};

/// Turns a `CUresult` into our error, naming the call.
pub(crate) fn check(res: CUresult, what: &str) -> Result<()> {
    if res == CUresult::CUDA_SUCCESS {
        return Ok(());
    }
    Err(map_error(DriverError(res), what))
}

/// Maps a driver error: a lost device is `DeviceLost`, anything else `Backend`.
pub(crate) fn map_error(e: DriverError, what: &str) -> VideoError {
    let name = e
        .error_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("{:?}", e.0));
    let msg = format!("{what} failed: {name}");
    match e.0 {
        CUresult::CUDA_ERROR_ILLEGAL_ADDRESS
        | CUresult::CUDA_ERROR_LAUNCH_FAILED
        | CUresult::CUDA_ERROR_ECC_UNCORRECTABLE
        | CUresult::CUDA_ERROR_DEVICE_UNAVAILABLE => VideoError::device_lost(msg),
        _ => VideoError::backend(msg),
    }
}

/// What `cuInit` said, once per process: the device count and first device's name, or why not.
pub(crate) fn driver() -> std::result::Result<&'static DriverInfo, String> {
    static DRIVER: OnceLock<std::result::Result<DriverInfo, String>> = OnceLock::new();
    DRIVER
        .get_or_init(init_driver)
        .as_ref()
        .map_err(Clone::clone)
}

/// The CUDA driver as found at run time.
#[derive(Debug)]
pub(crate) struct DriverInfo {
    /// `cuDriverGetVersion` (e.g. 13000).
    pub version: i32,
    /// Name of device 0.
    pub device_name: String,
}

fn init_driver() -> std::result::Result<DriverInfo, String> {
    // SAFETY: probing for the library only tries to open it.
    if !unsafe { sys::is_culib_present() } {
        return Err("the CUDA driver library (libcuda) is not installed".into());
    }
    cu::init().map_err(|e| format!("cuInit failed: {e:?}"))?;
    let count = cu::device::get_count().map_err(|e| format!("cuDeviceGetCount: {e:?}"))?;
    if count < 1 {
        return Err("the CUDA driver reports no device".into());
    }
    let dev = cu::device::get(0).map_err(|e| format!("cuDeviceGet(0): {e:?}"))?;
    let device_name = cu::device::get_name(dev).unwrap_or_else(|_| "unknown GPU".into());
    let mut version = 0;
    // SAFETY: writes one int.
    unsafe { sys::cuDriverGetVersion(&mut version) };
    Ok(DriverInfo {
        version,
        device_name,
    })
}

/// A reference on device 0's primary context: every session of the process shares it.
pub(crate) struct Context {
    ctx: CUcontext,
    dev: CUdevice,
}

// SAFETY: a CUcontext handle may be used from any thread; the primary context lives until the
// last retain is released, which `Drop` does once.
unsafe impl Send for Context {}
// SAFETY: as above; the handle is only read.
unsafe impl Sync for Context {}

impl Context {
    /// Retains the primary context of device 0 and makes it current on this thread.
    pub fn retain() -> Result<Arc<Self>> {
        driver().map_err(VideoError::unsupported)?;
        let dev = cu::device::get(0).map_err(|e| map_error(e, "cuDeviceGet"))?;
        // SAFETY: `dev` is a valid device ordinal handle returned by the driver.
        let ctx = unsafe { cu::primary_ctx::retain(dev) }
            .map_err(|e| map_error(e, "cuDevicePrimaryCtxRetain"))?;
        let c = Arc::new(Self { ctx, dev });
        c.make_current()?;
        Ok(c)
    }

    /// Binds the context to the calling thread.
    pub fn make_current(&self) -> Result<()> {
        // SAFETY: the context is retained for as long as `self` lives.
        unsafe { cu::ctx::set_current(self.ctx) }.map_err(|e| map_error(e, "cuCtxSetCurrent"))
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: releases the one retain taken in `retain`.
        let _ = unsafe { cu::primary_ctx::release(self.dev) };
    }
}

/// A non-blocking CUDA stream owned by one session.
pub(crate) struct Stream {
    raw: CUstream,
    ctx: Arc<Context>,
}

impl Stream {
    /// A new stream in `ctx` (which must be current).
    pub fn new(ctx: Arc<Context>) -> Result<Self> {
        let raw = cu::stream::create(cu::stream::StreamKind::NonBlocking)
            .map_err(|e| map_error(e, "cuStreamCreate"))?;
        Ok(Self { raw, ctx })
    }

    /// The raw handle.
    pub fn raw(&self) -> CUstream {
        self.raw
    }

    /// Waits for everything queued on the stream.
    pub fn synchronize(&self) -> Result<()> {
        // SAFETY: the stream is alive.
        unsafe { cu::stream::synchronize(self.raw) }
            .map_err(|e| map_error(e, "cuStreamSynchronize"))
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.ctx.make_current();
        // SAFETY: the stream was created by us and is destroyed once.
        let _ = unsafe { cu::stream::destroy(self.raw) };
    }
}

/// A device allocation, freed on drop (with its context made current first).
pub(crate) struct DeviceBuffer {
    pub ptr: CUdeviceptr,
    pub len: usize,
    ctx: Arc<Context>,
}

// SAFETY: a device pointer is a plain address; freeing it binds the context first.
unsafe impl Send for DeviceBuffer {}
// SAFETY: shared access only reads the address.
unsafe impl Sync for DeviceBuffer {}

impl DeviceBuffer {
    /// Allocates `len` bytes of device memory.
    pub fn new(ctx: Arc<Context>, len: usize) -> Result<Self> {
        ctx.make_current()?;
        // SAFETY: plain allocation in the current context.
        let ptr = unsafe { cu::malloc_sync(len.max(1)) }.map_err(|e| map_error(e, "cuMemAlloc"))?;
        Ok(Self { ptr, len, ctx })
    }
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        let _ = self.ctx.make_current();
        // SAFETY: allocated by `new`, freed once.
        let _ = unsafe { cu::free_sync(self.ptr) };
    }
}

/// Page-locked host memory, so device-to-host copies run asynchronously at full speed.
pub(crate) struct PinnedBuffer {
    ptr: *mut u8,
    len: usize,
    ctx: Arc<Context>,
}

impl PinnedBuffer {
    /// Allocates `len` bytes of pinned host memory.
    pub fn new(ctx: Arc<Context>, len: usize) -> Result<Self> {
        ctx.make_current()?;
        // SAFETY: plain allocation in the current context.
        let ptr = unsafe { cu::malloc_host(len.max(1), 0) }
            .map_err(|e| map_error(e, "cuMemAllocHost"))?;
        Ok(Self {
            ptr: ptr.cast(),
            len,
            ctx,
        })
    }

    /// Capacity in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The raw pointer for copies.
    pub fn as_mut_ptr(&mut self) -> *mut c_void {
        self.ptr.cast()
    }

    /// The first `n` bytes (after the copies into them have completed).
    pub fn bytes(&self, n: usize) -> &[u8] {
        let n = n.min(self.len);
        // SAFETY: `ptr` holds `len` bytes owned by us; the caller synchronised the stream.
        unsafe { std::slice::from_raw_parts(self.ptr, n) }
    }
}

impl Drop for PinnedBuffer {
    fn drop(&mut self) {
        let _ = self.ctx.make_current();
        // SAFETY: allocated by `new`, freed once.
        let _ = unsafe { cu::free_host(self.ptr.cast()) };
    }
}

/// Where one side of a 2-D copy is.
#[derive(Clone, Copy)]
pub(crate) enum Mem {
    /// Device address.
    Device(CUdeviceptr),
    /// Host address.
    Host(*mut c_void),
}

/// Queues a 2-D copy of `rows` rows of `width_bytes` on `stream`.
pub(crate) fn copy_2d(
    stream: CUstream,
    src: Mem,
    src_pitch: usize,
    dst: Mem,
    dst_pitch: usize,
    width_bytes: usize,
    rows: usize,
) -> Result<()> {
    use sys::CUmemorytype::{CU_MEMORYTYPE_DEVICE, CU_MEMORYTYPE_HOST};
    let (src_type, src_host, src_device) = match src {
        Mem::Device(d) => (CU_MEMORYTYPE_DEVICE, std::ptr::null(), d),
        Mem::Host(h) => (CU_MEMORYTYPE_HOST, h.cast_const(), 0),
    };
    let (dst_type, dst_host, dst_device) = match dst {
        Mem::Device(d) => (CU_MEMORYTYPE_DEVICE, std::ptr::null_mut(), d),
        Mem::Host(h) => (CU_MEMORYTYPE_HOST, h, 0),
    };
    let p = sys::CUDA_MEMCPY2D {
        srcXInBytes: 0,
        srcY: 0,
        srcMemoryType: src_type,
        srcHost: src_host,
        srcDevice: src_device,
        srcArray: std::ptr::null_mut(),
        srcPitch: src_pitch,
        dstXInBytes: 0,
        dstY: 0,
        dstMemoryType: dst_type,
        dstHost: dst_host,
        dstDevice: dst_device,
        dstArray: std::ptr::null_mut(),
        dstPitch: dst_pitch,
        WidthInBytes: width_bytes,
        Height: rows,
    };
    // SAFETY: the caller guarantees both regions hold `rows` rows at their pitches and stay
    // alive until the stream is synchronised.
    check(
        unsafe { sys::cuMemcpy2DAsync_v2(&p, stream) },
        "cuMemcpy2DAsync",
    )
}

/// Queues a fill of `rows` rows of `width_bytes` at `dst` (pitch `pitch`) with the
/// little-endian 16-bit `value` (`wide`) or its low byte.
pub(crate) fn fill_2d(
    stream: CUstream,
    dst: CUdeviceptr,
    pitch: usize,
    width_bytes: usize,
    rows: usize,
    value: u16,
    wide: bool,
) -> Result<()> {
    // SAFETY: the caller guarantees the region is device memory of `rows` rows at `pitch`.
    let res = unsafe {
        if wide {
            sys::cuMemsetD2D16Async(dst, pitch, value, width_bytes / 2, rows, stream)
        } else {
            sys::cuMemsetD2D8Async(dst, pitch, value as u8, width_bytes, rows, stream)
        }
    };
    check(res, "cuMemsetD2DAsync")
}

/// Free and total device memory of the current context's device (`cuMemGetInfo`).
pub fn mem_get_info() -> Result<(usize, usize)> {
    cu::mem_get_info().map_err(|e| map_error(e, "cuMemGetInfo"))
}
