//! NVML (`libnvidia-ml`, the driver's management library) opened at run time, read for the
//! decoder and GPU utilisation of one device: the [`UtilizationSource`] behind
//! [`crate::diagnostics::utilization_monitor`]. The sampling logic lives in
//! [`crate::metrics::UtilizationMonitor`] and is tested there against a double; only the
//! four NVML calls are here.

use crate::api::error::{Result, VideoError};
use crate::metrics::{UtilizationMonitor, UtilizationSample, UtilizationSource};
use std::ffi::{c_char, c_uint, c_void};

/// The file name of NVML on this platform.
const NVML_LIBRARY: &str = if cfg!(windows) {
    "nvml.dll"
} else {
    "libnvidia-ml.so.1"
};

type NvmlReturn = c_uint;
type NvmlDevice = *mut c_void;
const NVML_SUCCESS: NvmlReturn = 0;

/// `nvmlUtilization_t`.
#[repr(C)]
#[derive(Default)]
struct NvmlUtilization {
    gpu: c_uint,
    memory: c_uint,
}

type FnInit = unsafe extern "C" fn() -> NvmlReturn;
type FnShutdown = unsafe extern "C" fn() -> NvmlReturn;
type FnHandleByIndex = unsafe extern "C" fn(c_uint, *mut NvmlDevice) -> NvmlReturn;
type FnHandleByPciBusId = unsafe extern "C" fn(*const c_char, *mut NvmlDevice) -> NvmlReturn;
type FnDecoderUtilization =
    unsafe extern "C" fn(NvmlDevice, *mut c_uint, *mut c_uint) -> NvmlReturn;
type FnUtilizationRates = unsafe extern "C" fn(NvmlDevice, *mut NvmlUtilization) -> NvmlReturn;
type FnDeviceName = unsafe extern "C" fn(NvmlDevice, *mut c_char, c_uint) -> NvmlReturn;

/// Starts reading the decoder and GPU utilisation of NVIDIA device `gpu` through NVML (opened
/// at run time) every 100 ms; [`UtilizationMonitor::stop`] gives the summary. `Unsupported`
/// where NVML cannot be opened.
///
/// ```no_run
/// # fn main() -> video_hw::Result<()> {
/// let monitor = video_hw::diagnostics::utilization_monitor(0)?;
/// // ... decode ...
/// println!("{}", monitor.stop());
/// # Ok(())
/// # }
/// ```
pub fn utilization_monitor(gpu: u32) -> Result<UtilizationMonitor> {
    let nvml = Nvml::open(gpu).map_err(VideoError::unsupported)?;
    Ok(UtilizationMonitor::start(
        nvml,
        std::time::Duration::from_millis(100),
    ))
}

/// One device read through NVML; NVML is shut down on drop.
pub(crate) struct Nvml {
    device: NvmlDevice,
    index: u32,
    name: String,
    /// Whether the device was looked up again by CUDA's PCI bus id (on the first reading,
    /// on the monitor's thread: asking CUDA for the bus id waits for `cuInit`).
    by_bus_looked_up: bool,
    by_bus: FnHandleByPciBusId,
    device_name: FnDeviceName,
    decoder: FnDecoderUtilization,
    rates: FnUtilizationRates,
    shutdown: FnShutdown,
    /// Keeps the library mapped while the pointers above live.
    _lib: libloading::Library,
}

// SAFETY: NVML is thread-safe (its documentation: "all NVML calls are thread-safe"); the
// device handle is an opaque token valid until `nvmlShutdown`, which only `Drop` calls.
unsafe impl Send for Nvml {}

impl Nvml {
    /// Opens NVML and its device `index` (NVML's numbering, which is CUDA's on a host whose
    /// `CUDA_VISIBLE_DEVICES` is unset), or says why not. The first reading looks the device
    /// up again by the PCI bus id of CUDA's device `index`, since NVML ignores
    /// `CUDA_VISIBLE_DEVICES`.
    pub(crate) fn open(index: u32) -> std::result::Result<Self, String> {
        // SAFETY: loading the driver's NVML runs its initialisers, which have no
        // preconditions on our side.
        let lib = unsafe { libloading::Library::new(NVML_LIBRARY) }
            .map_err(|e| format!("cannot open {NVML_LIBRARY} (the NVIDIA driver's NVML): {e}"))?;
        let sym = |name: &[u8]| -> Result<*const c_void, String> {
            // SAFETY: the symbol is read as an untyped pointer, cast below to the prototype
            // nvml.h declares for it.
            unsafe { lib.get::<*const c_void>(name) }
                .map(|s| *s)
                .map_err(|e| {
                    format!(
                        "{NVML_LIBRARY} lacks {}: {e}",
                        String::from_utf8_lossy(name)
                    )
                })
        };
        // SAFETY: each pointer below is the named NVML function, whose prototype in nvml.h is
        // the type it becomes.
        let init: FnInit = unsafe { std::mem::transmute(sym(b"nvmlInit_v2\0")?) };
        // SAFETY: as above.
        let shutdown: FnShutdown = unsafe { std::mem::transmute(sym(b"nvmlShutdown\0")?) };
        // SAFETY: as above.
        let by_index: FnHandleByIndex =
            unsafe { std::mem::transmute(sym(b"nvmlDeviceGetHandleByIndex_v2\0")?) };
        // SAFETY: as above.
        let decoder: FnDecoderUtilization =
            unsafe { std::mem::transmute(sym(b"nvmlDeviceGetDecoderUtilization\0")?) };
        // SAFETY: as above.
        let rates: FnUtilizationRates =
            unsafe { std::mem::transmute(sym(b"nvmlDeviceGetUtilizationRates\0")?) };
        // SAFETY: as above.
        let device_name: FnDeviceName =
            unsafe { std::mem::transmute(sym(b"nvmlDeviceGetName\0")?) };
        // SAFETY: as above.
        let by_bus: FnHandleByPciBusId =
            unsafe { std::mem::transmute(sym(b"nvmlDeviceGetHandleByPciBusId_v2\0")?) };
        // SAFETY: no arguments; NVML counts its initialisations.
        let status = unsafe { init() };
        if status != NVML_SUCCESS {
            return Err(format!("nvmlInit failed ({status})"));
        }
        let mut device: NvmlDevice = std::ptr::null_mut();
        // SAFETY: writes one handle.
        let status = unsafe { by_index(index, &mut device) };
        if status != NVML_SUCCESS {
            // SAFETY: balances the successful init above.
            unsafe { shutdown() };
            return Err(format!("NVML has no device {index} ({status})"));
        }
        let name = name_of(device_name, device);
        Ok(Self {
            device,
            index,
            name,
            by_bus_looked_up: false,
            by_bus,
            device_name,
            decoder,
            rates,
            shutdown,
            _lib: lib,
        })
    }
}

/// NVML's name of `device`.
fn name_of(device_name: FnDeviceName, device: NvmlDevice) -> String {
    let mut buf = [0 as c_char; 96];
    // SAFETY: `device` is a valid handle; writes at most `buf.len()` bytes, NUL-terminated.
    let named = unsafe { device_name(device, buf.as_mut_ptr(), buf.len() as c_uint) };
    if named == NVML_SUCCESS {
        // SAFETY: NVML NUL-terminated the name within the buffer.
        unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    } else {
        "unknown GPU".into()
    }
}

impl Nvml {
    /// Takes NVML's device at the PCI bus id of CUDA's device `index` instead, where both
    /// answer (once).
    fn look_up_by_bus(&mut self) {
        self.by_bus_looked_up = true;
        let Ok((bus, _)) = super::cuda::device_facts(self.index) else {
            return;
        };
        let Ok(bus) = std::ffi::CString::new(bus) else {
            return;
        };
        let mut device: NvmlDevice = std::ptr::null_mut();
        // SAFETY: `bus` is a NUL-terminated string that outlives the call, which writes one
        // handle.
        if unsafe { (self.by_bus)(bus.as_ptr(), &mut device) } == NVML_SUCCESS {
            self.device = device;
            self.name = name_of(self.device_name, device);
        }
    }
}

impl UtilizationSource for Nvml {
    fn describe(&self) -> String {
        format!("NVML, GPU {}: {}", self.index, self.name)
    }

    fn read(&mut self) -> Option<UtilizationSample> {
        if !self.by_bus_looked_up {
            self.look_up_by_bus();
        }
        let (mut decoder, mut period) = (0 as c_uint, 0 as c_uint);
        // SAFETY: the handle is valid until shutdown; writes two integers.
        let d = unsafe { (self.decoder)(self.device, &mut decoder, &mut period) };
        let mut rates = NvmlUtilization::default();
        // SAFETY: as above; writes one struct.
        let g = unsafe { (self.rates)(self.device, &mut rates) };
        (d == NVML_SUCCESS && g == NVML_SUCCESS).then_some(UtilizationSample {
            decoder,
            gpu: rates.gpu,
        })
    }
}

impl Drop for Nvml {
    fn drop(&mut self) {
        // SAFETY: balances the init of `open`; the handle is not used afterwards.
        unsafe { (self.shutdown)() };
    }
}
