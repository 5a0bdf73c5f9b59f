//! [`NvidiaOptions`]: the tuning of the NVIDIA decoder, a field of
//! [`DecoderConfig`](super::config::DecoderConfig).

/// Tuning of the NVIDIA (NVDEC) decoder; other backends ignore it. The defaults are what the
/// measurements in `docs/nvidia.md` chose. Each field can be overridden for a whole process by
/// an environment variable (read by the backend when a session opens; set ones win over the
/// config), so that a measurement can vary a knob without recompiling:
///
/// | field | variable | values |
/// |---|---|---|
/// | [`display_delay`](Self::display_delay) | `VIDEO_HW_NV_DISPLAY_DELAY` | `0`..`16` |
/// | [`overlap_host_copies`](Self::overlap_host_copies) | `VIDEO_HW_NV_HOST_COPY` | `sync` (off), `async` (on) |
/// | [`pin_limit`](Self::pin_limit) | `VIDEO_HW_NV_PIN_MAX` | a count |
/// | [`end_of_picture`](Self::end_of_picture) | `VIDEO_HW_NV_END_OF_PICTURE` | `0` (off), `1` (on) |
/// | [`copy_kernel`](Self::copy_kernel) | `VIDEO_HW_NV_COPY` | `kernel` (on), anything else (off) |
/// | [`keep_idle_decoders`](Self::keep_idle_decoders) | `VIDEO_HW_NV_KEEP_DECODERS` | `0` (off), `1` (on) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvidiaOptions {
    /// Pictures NVDEC's parser holds before displaying one (`ulMaxDisplayDelay`, at most 16;
    /// default 4): the engine keeps decoding later pictures while earlier ones are copied out.
    /// 0 gives the lowest latency: each picture comes out of the `decode` call that completes
    /// it.
    pub display_delay: u32,
    /// Host outputs (CPU planes, RGB) are copied to host memory in the background while the
    /// next packet is decoded, and handed out one packet later (default on). Off, or with a
    /// display delay of 0, each copy completes before the `decode` call returns.
    pub overlap_host_copies: bool,
    /// Host buffers page-locked per size at most (`None`, the default: as many as the
    /// session's queues hold); beyond it, buffers stay pageable (a measurement knob).
    pub pin_limit: Option<usize>,
    /// Each packet is marked as one whole picture (`CUVID_PKT_ENDOFPICTURE`), so the parser
    /// decodes it at once (default on); off leaves picture ends to the parser.
    pub end_of_picture: bool,
    /// GPU outputs are copied out of the decoder's surface by the pitch-copy kernel instead
    /// of the copy engines (default off).
    pub copy_kernel: bool,
    /// A session that ends cleanly (its last call a flush) leaves its NVDEC decoder to the
    /// process for two seconds instead of destroying it, and a session whose stream needs a
    /// decoder of exactly that format (GPU, codec, bit depth, size, surfaces) takes it
    /// instead of creating one (default on). Decoding file after file of one format then
    /// pays neither `cuvidCreateDecoder` nor `cuvidDestroyDecoder` (40-170 ms and 80-300 ms
    /// on the H200). [`crate::release_cached_gpu_memory`] destroys the idle decoders at
    /// once. Off, each session destroys its decoder as it closes.
    pub keep_idle_decoders: bool,
}

impl NvidiaOptions {
    /// The default display delay.
    pub const DEFAULT_DISPLAY_DELAY: u32 = 4;
    /// The largest display delay NVDEC is given.
    pub const MAX_DISPLAY_DELAY: u32 = 16;
}

impl Default for NvidiaOptions {
    fn default() -> Self {
        Self {
            display_delay: Self::DEFAULT_DISPLAY_DELAY,
            overlap_host_copies: true,
            pin_limit: None,
            end_of_picture: true,
            copy_kernel: false,
            keep_idle_decoders: true,
        }
    }
}
