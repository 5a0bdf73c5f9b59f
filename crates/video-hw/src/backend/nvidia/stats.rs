//! Counters of the NVIDIA decoder, summed over every session of the process.
//!
//! Public as `video_hw::diagnostics::nvdec_counters()`; each adapter also reports its own
//! counters in its implementation string at the end of a session (debug log). Sessions do not
//! read these back: they count their own frames and conversion paths.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($($name:ident: $doc:literal),* $(,)?) => {
        /// A snapshot of the process-wide NVDEC counters.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct NvdecCounters {
            $(#[doc = $doc] pub $name: u64,)*
        }

        #[derive(Default)]
        pub(crate) struct Atomics {
            $(pub $name: AtomicU64,)*
        }

        impl Atomics {
            fn snapshot(&self) -> NvdecCounters {
                NvdecCounters { $($name: self.$name.load(Ordering::Relaxed),)* }
            }
        }
    };
}

counters! {
    sessions_opened: "Decoder adapters created.",
    decoders_created: "`cuvidCreateDecoder` calls (first sequence and re-creations).",
    decoders_taken: "Decoders taken from an ended session instead of created (`NvidiaOptions::keep_idle_decoders`).",
    decoders_kept: "Decoders left idle for a later session instead of destroyed.",
    reconfigures: "`cuvidReconfigureDecoder` calls (resolution changes within the maximum).",
    pictures_decoded: "Pictures handed to `cuvidDecodePicture`.",
    frames_out: "Frames delivered to the session.",
    decode_errors: "Pictures whose decode status was an uncorrected error.",
    concealed_errors: "Pictures whose decode status was an error the hardware concealed.",
    copy_bytes: "Bytes copied out of decoder surfaces (device or host destination).",
    copy_nanos: "Wall time spent in those copies, synchronisation included (ns).",
    host_copies: "Frames copied to host memory.",
    overlapped_copies: "Host copies left in flight while the next packet was parsed (`VIDEO_HW_NV_HOST_COPY=async`, the default with a display delay).",
    copy_waits: "Overlapped host copies still running when their frame was due (the session waited for them).",
    device_copies: "Frames copied to pooled device buffers (GPU output).",
    kernel_copies: "Plane copies into pooled device buffers done by the copy kernel (`VIDEO_HW_NV_COPY=kernel`).",
    host_buffers_allocated: "Host plane buffers allocated (CPU outputs).",
    host_buffers_reused: "Host plane buffers recycled from the session's pool.",
    host_buffers_pinned: "Host plane buffers page-locked with `cuMemHostRegister`.",
    host_pin_failures: "Host plane buffers the driver would not page-lock (copied into more slowly).",
    rgb_gpu: "Frames converted to RGB by the CUDA kernel.",
    rgb_cpu_fallbacks: "Frames converted to RGB on the CPU because the kernel path failed.",
}

pub(crate) static COUNTERS: std::sync::LazyLock<Atomics> =
    std::sync::LazyLock::new(Atomics::default);

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// With `VIDEO_HW_NV_TRACE=1`, prints on stderr how long `what` took since `since`: the
/// start-up and tear-down steps of the driver, decoders and sessions (for diagnosis).
/// Each line starts with the time since the backend began starting up (`+ms`) and the thread,
/// so that the lines of concurrent sessions make a timeline.
pub(crate) fn trace(what: &str, since: std::time::Instant) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var("VIDEO_HW_NV_TRACE").as_deref() == Ok("1")) {
        let now = std::time::Instant::now();
        let origin = *TRACE_ORIGIN.get_or_init(|| since);
        eprintln!(
            "video-hw nvidia: [+{:.1} ms {:?}] {what}: {:.2} ms",
            now.saturating_duration_since(origin).as_secs_f64() * 1e3,
            std::thread::current().id(),
            now.saturating_duration_since(since).as_secs_f64() * 1e3
        );
    }
}

/// When the backend began starting up: the origin of [`trace`]'s timeline.
static TRACE_ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Marks the start of the backend's start-up as the origin of [`trace`]'s timeline.
pub(crate) fn trace_origin() {
    TRACE_ORIGIN.get_or_init(std::time::Instant::now);
}

/// The counters so far.
pub fn snapshot() -> NvdecCounters {
    COUNTERS.snapshot()
}
