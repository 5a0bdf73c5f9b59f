//! Start-up off the critical path: a backend's slow start (NVIDIA: loading the driver,
//! `cuInit`, the primary context and the decoder capabilities, about 250 ms) begun on a
//! thread of its own while the caller opens and parses its input.

use super::Backend;

use crate::api::codec::Codec;

/// Begins the start-up of the backend(s) a decode of `codec` on `requested` may use, on GPU
/// `gpu` (`DecoderConfig::gpu`), on a thread of its own, and returns at once. The first session opened afterwards finds the
/// work done, or waits for the rest of it (the probe runs once per process). Only NVIDIA has
/// a start-up worth moving (and asks NVDEC about `codec` alone: asking about the others
/// would hold the driver while the sessions create their decoders); for the other backends
/// this does nothing.
pub fn prepare_decode(requested: Backend, codec: Codec, gpu: u32) {
    let built = cfg!(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ));
    if !built || !matches!(requested, Backend::Nvidia | Backend::Auto) {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("video-hw-prepare".into())
        .spawn(move || {
            #[cfg(all(
                feature = "backend-nvidia",
                any(target_os = "linux", target_os = "windows")
            ))]
            super::nvidia::prepare(gpu, codec);
            let _ = (codec, gpu);
        });
}
