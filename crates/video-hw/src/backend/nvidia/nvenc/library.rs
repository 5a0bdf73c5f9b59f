//! `libnvidia-encode` opened at run time and its function table filled by
//! `NvEncodeAPICreateInstance`.

use super::ffi::*;

/// The file name of the NVENC library on this platform.
pub(crate) const NVENC_LIBRARY: &str = if cfg!(windows) {
    "nvEncodeAPI64.dll"
} else {
    "libnvidia-encode.so.1"
};

/// The function table of the loaded library.
pub(crate) struct Nvenc {
    pub fns: NV_ENCODE_API_FUNCTION_LIST,
    /// Keeps the library mapped for as long as the pointers above live (the process).
    _lib: libloading::Library,
}

// SAFETY: the table holds function pointers into a library mapped for the whole process;
// NVENC's entry points may be called from any thread (each session is used by one).
unsafe impl Send for Nvenc {}
// SAFETY: as above; the table is never written after loading.
unsafe impl Sync for Nvenc {}

impl Nvenc {
    /// Opens the library and fills the function table, or says what is missing.
    fn load() -> Result<Self, String> {
        // SAFETY: loading the driver's NVENC library runs its initialisers, which have no
        // preconditions on our side.
        let lib = unsafe { libloading::Library::new(NVENC_LIBRARY) }.map_err(|e| {
            format!("cannot open {NVENC_LIBRARY} (the NVIDIA driver's NVENC library): {e}")
        })?;
        // SAFETY: the symbols' types are the prototypes declared in nvEncodeAPI.h.
        let max: FnGetMaxSupportedVersion = *unsafe {
            lib.get(b"NvEncodeAPIGetMaxSupportedVersion\0")
        }
        .map_err(|e| format!("{NVENC_LIBRARY} lacks NvEncodeAPIGetMaxSupportedVersion: {e}"))?;
        // SAFETY: as above.
        let create: FnCreateInstance = *unsafe { lib.get(b"NvEncodeAPICreateInstance\0") }
            .map_err(|e| format!("{NVENC_LIBRARY} lacks NvEncodeAPICreateInstance: {e}"))?;
        let mut driver_version = 0u32;
        // SAFETY: writes one u32.
        let status = unsafe { max(&mut driver_version) };
        let ours = (NVENCAPI_MAJOR_VERSION << 4) | NVENCAPI_MINOR_VERSION;
        if status != NV_ENC_SUCCESS || driver_version < ours {
            return Err(format!(
                "the driver's NVENC API is {}.{}, this build needs {NVENCAPI_MAJOR_VERSION}.{NVENCAPI_MINOR_VERSION} ({})",
                driver_version >> 4,
                driver_version & 0xf,
                status_name(status)
            ));
        }
        let mut fns = NV_ENCODE_API_FUNCTION_LIST::zeroed();
        fns.version = NV_ENCODE_API_FUNCTION_LIST_VER;
        // SAFETY: `fns` is a zeroed, versioned table the library fills.
        let status = unsafe { create(&mut fns) };
        if status != NV_ENC_SUCCESS {
            return Err(format!(
                "NvEncodeAPICreateInstance failed: {}",
                status_name(status)
            ));
        }
        Ok(Self { fns, _lib: lib })
    }
}

/// The process-wide NVENC library, loaded once.
pub(crate) fn library() -> Result<&'static Nvenc, String> {
    static LIB: std::sync::OnceLock<Result<Nvenc, String>> = std::sync::OnceLock::new();
    LIB.get_or_init(Nvenc::load).as_ref().map_err(Clone::clone)
}
