//! Start-up off the critical path: a backend's slow start (NVIDIA: loading the driver,
//! `cuInit`, the primary context and the decoder capabilities, about 250 ms) begun on a
//! thread of its own while the caller opens and parses its input.

use super::Backend;

/// Begins the start-up of the backend(s) a decode on `requested` may use, on a thread of its
/// own, and returns at once. The first session opened afterwards finds the work done, or
/// waits for the rest of it (the probe runs once per process). Only NVIDIA has a start-up
/// worth moving; for the other backends this does nothing.
pub fn prepare_decode(requested: Backend) {
    let built = cfg!(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ));
    if !built || !matches!(requested, Backend::Nvidia | Backend::Auto) {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("video-hw-prepare".into())
        .spawn(|| {
            #[cfg(all(
                feature = "backend-nvidia",
                any(target_os = "linux", target_os = "windows")
            ))]
            super::nvidia::prepare();
        });
}
