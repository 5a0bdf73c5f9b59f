//! The CUDA driver through cudarc (loaded at run time): the device's primary context shared
//! by every session, a stream per session, device and pinned host buffers.

use crate::api::error::{Result, VideoError};
use cudarc::driver::result::{self as cu, DriverError};
use cudarc::driver::sys::{
    self, CUcontext, CUdevice, CUdeviceptr, CUevent, CUfunction, CUmodule, CUresult, CUstream,
};
use std::ffi::{CString, c_void};
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

/// What `cuInit` said, once per process: the device count and the devices' names, or why not.
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
    /// Devices the driver reports (`cuDeviceGetCount`).
    pub devices: u32,
    /// Name of every device, by ordinal.
    pub names: Vec<String>,
}

impl DriverInfo {
    /// The name of device `gpu` (`unknown GPU` past the end).
    pub fn name(&self, gpu: u32) -> &str {
        self.names
            .get(gpu as usize)
            .map_or("unknown GPU", String::as_str)
    }
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
    let names: Vec<String> = (0..count)
        .map(|i| {
            cu::device::get(i)
                .and_then(cu::device::get_name)
                .unwrap_or_else(|_| "unknown GPU".into())
        })
        .collect();
    let mut version = 0;
    // SAFETY: writes one int.
    unsafe { sys::cuDriverGetVersion(&mut version) };
    Ok(DriverInfo {
        version,
        devices: u32::try_from(count).unwrap_or(0),
        names,
    })
}

/// What the driver says of device `gpu`: its PCI bus id (`0000:19:00.0`) and memory in
/// bytes.
pub(crate) fn device_facts(gpu: u32) -> Result<(String, u64)> {
    let dev = device(gpu)?;
    let mut bus = [0 as std::ffi::c_char; 32];
    // SAFETY: `dev` is a valid device; the call writes at most `bus.len()` bytes, NUL included.
    let res = unsafe { sys::cuDeviceGetPCIBusId(bus.as_mut_ptr(), bus.len() as i32, dev) };
    check(res, "cuDeviceGetPCIBusId")?;
    // SAFETY: the driver wrote a NUL-terminated string into `bus`.
    let bus_id = unsafe { std::ffi::CStr::from_ptr(bus.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: `dev` is a device returned by `cuDeviceGet`.
    let memory =
        unsafe { cu::device::total_mem(dev) }.map_err(|e| map_error(e, "cuDeviceTotalMem"))?;
    Ok((bus_id, memory as u64))
}

/// The device with ordinal `gpu` (`DecoderConfig::gpu`, `EncoderConfig::gpu`); `Unsupported`
/// naming the devices there are when it does not exist.
pub(crate) fn device(gpu: u32) -> Result<CUdevice> {
    let info = driver().map_err(VideoError::unsupported)?;
    if gpu >= info.devices {
        return Err(VideoError::unsupported(format!(
            "GPU {gpu} does not exist: {}",
            crate::api::gpus::describe_gpus(info.devices, &info.names)
        )));
    }
    cu::device::get(gpu as i32).map_err(|e| map_error(e, "cuDeviceGet"))
}

/// How a session waits for the GPU (`VIDEO_HW_NV_SYNC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyncMode {
    /// Sleep in the driver until the work is done (events made with `CU_EVENT_BLOCKING_SYNC`,
    /// and a primary context made with `CU_CTX_SCHED_BLOCKING_SYNC` when we are the first to
    /// use it). The default: many sessions on a few cores do not burn them waiting.
    Blocking,
    /// The driver's own heuristic (it spins while there are fewer contexts than cores).
    Spin,
}

impl SyncMode {
    /// From the value of `VIDEO_HW_NV_SYNC` (`spin`, anything else or unset: blocking).
    pub fn from_value(value: Option<&str>) -> Self {
        match value.map(|v| v.trim().to_ascii_lowercase()) {
            Some(v) if v == "spin" => Self::Spin,
            _ => Self::Blocking,
        }
    }

    /// The process-wide mode, read once.
    pub fn get() -> Self {
        static MODE: OnceLock<SyncMode> = OnceLock::new();
        *MODE.get_or_init(|| Self::from_value(std::env::var("VIDEO_HW_NV_SYNC").ok().as_deref()))
    }
}

/// Which CUDA context the decode sessions of the process run in (`VIDEO_HW_NV_CONTEXT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContextMode {
    /// Device 0's primary context, shared with every session and with other CUDA users of
    /// the process (the default).
    Primary,
    /// A context of its own for every session (`VIDEO_HW_NV_CONTEXT=session`).
    PerSession,
}

impl ContextMode {
    /// From the value of `VIDEO_HW_NV_CONTEXT` (`session`, anything else or unset: primary).
    pub fn from_value(value: Option<&str>) -> Self {
        match value.map(|v| v.trim().to_ascii_lowercase()) {
            Some(v) if v == "session" || v == "own" => Self::PerSession,
            _ => Self::Primary,
        }
    }

    /// The process-wide mode, read once.
    pub fn get() -> Self {
        static MODE: OnceLock<ContextMode> = OnceLock::new();
        *MODE.get_or_init(|| Self::from_value(std::env::var("VIDEO_HW_NV_CONTEXT").ok().as_deref()))
    }
}

/// A CUDA context on one device: a reference on its primary context (shared by every session
/// of the process), or a context of one session's own.
pub(crate) struct Context {
    ctx: CUcontext,
    dev: CUdevice,
    /// The device's ordinal (`DecoderConfig::gpu`).
    gpu: u32,
    /// Created by `cuCtxCreate` (destroyed on drop) rather than retained.
    owned: bool,
}

// SAFETY: a CUcontext handle may be used from any thread; the primary context lives until the
// last retain is released, and an owned context until it is destroyed, which `Drop` does once.
unsafe impl Send for Context {}
// SAFETY: as above; the handle is only read.
unsafe impl Sync for Context {}

impl Context {
    /// Retains the primary context of device `gpu` and makes it current on this thread. In
    /// [`SyncMode::Blocking`], a primary context nobody has started yet is set to block on
    /// synchronisation (one already active keeps the flags its first user chose).
    pub fn retain(gpu: u32) -> Result<Arc<Self>> {
        let dev = device(gpu)?;
        if SyncMode::get() == SyncMode::Blocking {
            let (mut flags, mut active) = (0u32, 0i32);
            // SAFETY: `dev` is a valid device; the call writes two integers.
            let state = unsafe { sys::cuDevicePrimaryCtxGetState(dev, &mut flags, &mut active) };
            if state == CUresult::CUDA_SUCCESS && active == 0 {
                let blocking = sys::CUctx_flags::CU_CTX_SCHED_BLOCKING_SYNC as u32;
                // SAFETY: `dev` is valid; flags of an inactive primary context may be set.
                let _ = unsafe { sys::cuDevicePrimaryCtxSetFlags_v2(dev, blocking) };
            }
        }
        // SAFETY: `dev` is a valid device ordinal handle returned by the driver.
        let ctx = unsafe { cu::primary_ctx::retain(dev) }
            .map_err(|e| map_error(e, "cuDevicePrimaryCtxRetain"))?;
        let c = Arc::new(Self {
            ctx,
            dev,
            gpu,
            owned: false,
        });
        c.make_current()?;
        Ok(c)
    }

    /// A new context on device `gpu` for one session, current on this thread.
    pub fn create_owned(gpu: u32) -> Result<Arc<Self>> {
        let dev = device(gpu)?;
        let flags = match SyncMode::get() {
            SyncMode::Blocking => sys::CUctx_flags::CU_CTX_SCHED_BLOCKING_SYNC as u32,
            SyncMode::Spin => 0,
        };
        let mut ctx = std::ptr::null_mut();
        // SAFETY: `dev` is valid; the call writes the new context's handle.
        let res = unsafe { sys::cuCtxCreate_v2(&mut ctx, flags, dev) };
        check(res, "cuCtxCreate")?;
        let c = Arc::new(Self {
            ctx,
            dev,
            gpu,
            owned: true,
        });
        c.make_current()?;
        Ok(c)
    }

    /// The context a new decode session on device `gpu` runs in, as [`ContextMode::get`]
    /// says.
    pub fn for_session(gpu: u32) -> Result<Arc<Self>> {
        match ContextMode::get() {
            ContextMode::Primary => Self::retain(gpu),
            ContextMode::PerSession => Self::create_owned(gpu),
        }
    }

    /// The ordinal of the device it belongs to.
    pub fn gpu(&self) -> u32 {
        self.gpu
    }

    /// Whether this is the device's primary context (shared by every session), not one
    /// created for a session alone.
    pub fn is_primary(&self) -> bool {
        !self.owned
    }

    /// Binds the context to the calling thread.
    pub fn make_current(&self) -> Result<()> {
        // SAFETY: the context is retained for as long as `self` lives.
        unsafe { cu::ctx::set_current(self.ctx) }.map_err(|e| map_error(e, "cuCtxSetCurrent"))
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        if self.owned {
            // SAFETY: created by `create_owned` and destroyed once; everything allocated in it
            // holds an `Arc` on it, so nothing of it is alive any more.
            let _ = unsafe { sys::cuCtxDestroy_v2(self.ctx) };
        } else {
            // SAFETY: releases the one retain taken in `retain`.
            let _ = unsafe { cu::primary_ctx::release(self.dev) };
        }
    }
}

/// A CUDA event without timing, made with `CU_EVENT_BLOCKING_SYNC` in [`SyncMode::Blocking`]
/// (the waiting thread sleeps); destroyed on drop.
pub(crate) struct Event {
    raw: CUevent,
    ctx: Arc<Context>,
}

// SAFETY: an event handle may be recorded, queried and waited on from any thread.
unsafe impl Send for Event {}

impl Event {
    /// A new event in `ctx` (which must be current).
    pub fn new(ctx: Arc<Context>) -> Result<Self> {
        let mut flags = sys::CUevent_flags::CU_EVENT_DISABLE_TIMING as u32;
        if SyncMode::get() == SyncMode::Blocking {
            flags |= sys::CUevent_flags::CU_EVENT_BLOCKING_SYNC as u32;
        }
        let mut raw = std::ptr::null_mut();
        // SAFETY: writes one event handle.
        let res = unsafe { sys::cuEventCreate(&mut raw, flags) };
        check(res, "cuEventCreate")?;
        Ok(Self { raw, ctx })
    }

    /// Marks the point reached by the work queued so far on `stream` (of the same context).
    pub fn record(&self, stream: CUstream) -> Result<()> {
        // SAFETY: the event and the stream are alive and belong to the same context.
        let res = unsafe { sys::cuEventRecord(self.raw, stream) };
        check(res, "cuEventRecord")
    }

    /// Makes `stream` wait, on the device, for the work this event marks.
    pub fn wait_on(&self, stream: CUstream) -> Result<()> {
        // SAFETY: the event and the stream are alive and belong to the same context.
        let res = unsafe { sys::cuStreamWaitEvent(stream, self.raw, 0) };
        check(res, "cuStreamWaitEvent")
    }

    /// Waits for the marked work (a never-recorded event is complete).
    pub fn synchronize(&self) -> Result<()> {
        // SAFETY: the event is alive.
        let res = unsafe { sys::cuEventSynchronize(self.raw) };
        check(res, "cuEventSynchronize")
    }

    /// Whether the marked work is done, without waiting.
    pub fn is_done(&self) -> Result<bool> {
        // SAFETY: the event is alive.
        match unsafe { sys::cuEventQuery(self.raw) } {
            CUresult::CUDA_ERROR_NOT_READY => Ok(false),
            res => check(res, "cuEventQuery").map(|()| true),
        }
    }
}

impl Drop for Event {
    fn drop(&mut self) {
        let _ = self.ctx.make_current();
        // SAFETY: created by `new` and destroyed once.
        let _ = unsafe { sys::cuEventDestroy_v2(self.raw) };
    }
}

/// A non-blocking CUDA stream owned by one session, with the event it waits on.
pub(crate) struct Stream {
    /// Recorded and waited on by `synchronize` in [`SyncMode::Blocking`] (so the waiting
    /// thread sleeps); none in [`SyncMode::Spin`]. Declared first: destroyed before the stream.
    done: Option<Event>,
    raw: CUstream,
    ctx: Arc<Context>,
}

impl Stream {
    /// A new stream in `ctx` (which must be current).
    pub fn new(ctx: Arc<Context>) -> Result<Self> {
        let raw = cu::stream::create(cu::stream::StreamKind::NonBlocking)
            .map_err(|e| map_error(e, "cuStreamCreate"))?;
        let done = match SyncMode::get() {
            SyncMode::Blocking => match Event::new(ctx.clone()) {
                Ok(event) => Some(event),
                Err(e) => {
                    // SAFETY: the stream was created above and is destroyed once.
                    let _ = unsafe { cu::stream::destroy(raw) };
                    return Err(e);
                }
            },
            SyncMode::Spin => None,
        };
        Ok(Self { done, raw, ctx })
    }

    /// The raw handle.
    pub fn raw(&self) -> CUstream {
        self.raw
    }

    /// Waits for everything queued on the stream (sleeping in [`SyncMode::Blocking`]).
    pub fn synchronize(&self) -> Result<()> {
        match &self.done {
            Some(event) => {
                event.record(self.raw)?;
                event.synchronize()
            }
            // SAFETY: the stream is alive.
            None => unsafe { cu::stream::synchronize(self.raw) }
                .map_err(|e| map_error(e, "cuStreamSynchronize")),
        }
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.done = None;
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

/// A kernel compiled ahead of time for one real architecture (`scripts/build-ptx.py`).
pub(crate) struct Cubin {
    /// Compute capability it was built for (major, minor).
    pub arch: (i32, i32),
    /// The ELF image.
    pub image: &'static [u8],
}

/// The cubin among `cubins` that runs on a device of compute capability `device`: the same
/// major version and the highest minor not above the device's (a cubin runs on later minor
/// versions of its major version only).
pub(crate) fn pick_cubin(cubins: &[Cubin], device: (i32, i32)) -> Option<&Cubin> {
    cubins
        .iter()
        .filter(|c| c.arch.0 == device.0 && c.arch.1 <= device.1)
        .max_by_key(|c| c.arch.1)
}

/// The compute capability of `ctx`'s device.
fn compute_capability(ctx: &Context) -> Result<(i32, i32)> {
    use cudarc::driver::sys::CUdevice_attribute as A;
    let get = |a| {
        // SAFETY: `ctx.dev` is a valid device handle; the call writes one integer.
        unsafe { cu::device::get_attribute(ctx.dev, a) }
            .map_err(|e| map_error(e, "cuDeviceGetAttribute"))
    };
    Ok((
        get(A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?,
        get(A::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?,
    ))
}

/// A function of a module loaded into one context, unloaded on drop: the cubin built for the
/// device where there is one, else the PTX (JIT-compiled by the driver, which caches the
/// result).
pub(crate) struct Kernel {
    module: CUmodule,
    function: CUfunction,
    name: &'static str,
    ctx: Arc<Context>,
}

impl Kernel {
    /// Loads the cubin of `cubins` that runs on `ctx`'s device (made current), else `ptx`,
    /// and looks up the function `name`. Says which it loaded.
    pub fn load(
        ctx: Arc<Context>,
        ptx: &str,
        cubins: &[Cubin],
        name: &'static str,
    ) -> Result<(Self, &'static str)> {
        ctx.make_current()?;
        let cubin = compute_capability(&ctx)
            .ok()
            .and_then(|cc| pick_cubin(cubins, cc));
        let from_cubin = cubin.and_then(|c| {
            // The driver reads the ELF image in place: copy it to 8-byte aligned memory.
            let mut aligned = vec![0u64; c.image.len().div_ceil(8)];
            // SAFETY: `aligned` has at least `c.image.len()` bytes; u64 has no invalid bytes.
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(aligned.as_mut_ptr().cast::<u8>(), c.image.len())
            };
            bytes.copy_from_slice(c.image);
            // SAFETY: `aligned` holds a whole cubin image that outlives the call; the driver
            // copies what it keeps.
            unsafe { cu::module::load_data(aligned.as_ptr().cast()) }.ok()
        });
        let (module, loaded) = match from_cubin {
            Some(m) => (m, "cubin"),
            None => {
                let image =
                    CString::new(ptx).map_err(|_| VideoError::backend("PTX contains a NUL"))?;
                // SAFETY: `image` is a NUL-terminated PTX text; the driver copies it.
                let m = unsafe { cu::module::load_data(image.as_ptr().cast()) }
                    .map_err(|e| map_error(e, &format!("cuModuleLoadData ({name})")))?;
                (m, "PTX")
            }
        };
        let cname = CString::new(name).map_err(|_| VideoError::backend("kernel name with NUL"))?;
        // SAFETY: the module is loaded and the name NUL-terminated.
        let function = match unsafe { cu::module::get_function(module, cname) } {
            Ok(f) => f,
            Err(e) => {
                // SAFETY: unloading the module loaded above.
                let _ = unsafe { cu::module::unload(module) };
                return Err(map_error(e, &format!("cuModuleGetFunction({name})")));
            }
        };
        Ok((
            Self {
                module,
                function,
                name,
                ctx,
            },
            loaded,
        ))
    }

    /// Queues the kernel on `stream`.
    ///
    /// # Safety
    /// `params` must point at values matching the kernel's parameters in number, order and
    /// type, and every address among them must stay valid until the stream has run the kernel.
    pub unsafe fn launch(
        &self,
        grid: (u32, u32, u32),
        block: (u32, u32, u32),
        stream: CUstream,
        params: &mut [*mut c_void],
    ) -> Result<()> {
        // SAFETY: the function is loaded; the caller vouches for the parameters.
        unsafe { cu::launch_kernel(self.function, grid, block, 0, stream, params) }
            .map_err(|e| map_error(e, &format!("cuLaunchKernel({})", self.name)))
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        let _ = self.ctx.make_current();
        // SAFETY: the module was loaded by `load` and is unloaded once.
        let _ = unsafe { cu::module::unload(self.module) };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_block_on_the_gpu_unless_spinning_is_asked_for() {
        assert_eq!(SyncMode::from_value(None), SyncMode::Blocking);
        assert_eq!(SyncMode::from_value(Some("blocking")), SyncMode::Blocking);
        assert_eq!(SyncMode::from_value(Some(" SPIN ")), SyncMode::Spin);
    }

    #[test]
    fn sessions_share_the_primary_context_unless_one_each_is_asked_for() {
        assert_eq!(ContextMode::from_value(None), ContextMode::Primary);
        assert_eq!(
            ContextMode::from_value(Some("primary")),
            ContextMode::Primary
        );
        assert_eq!(
            ContextMode::from_value(Some("session")),
            ContextMode::PerSession
        );
    }

    #[test]
    fn the_cubin_for_the_device_has_its_major_version_and_no_later_minor() {
        const IMG: &[u8] = b"\x7fELF";
        let cubins = [
            Cubin {
                arch: (8, 0),
                image: IMG,
            },
            Cubin {
                arch: (8, 6),
                image: IMG,
            },
            Cubin {
                arch: (9, 0),
                image: IMG,
            },
        ];
        let arch = |cc| pick_cubin(&cubins, cc).map(|c| c.arch);
        assert_eq!(arch((9, 0)), Some((9, 0)), "H100/H200");
        assert_eq!(arch((8, 0)), Some((8, 0)), "A100");
        assert_eq!(
            arch((8, 9)),
            Some((8, 6)),
            "Ada takes the latest sm_8x below it"
        );
        assert_eq!(arch((8, 5)), Some((8, 0)));
        assert_eq!(arch((7, 5)), None, "Turing: PTX");
        assert_eq!(arch((10, 0)), None, "Blackwell: PTX");
    }
}
