//! The GPUs of this host as the backends see them: [`gpus`] lists them, [`resolve_gpus`]
//! turns a [`GpuSelection`] into GPU numbers a backend can open sessions on.

use super::Backend;
use crate::api::error::{Result, VideoError};
use crate::api::gpus::{GpuInfo, GpuSelection};

/// Every GPU the NVIDIA driver reports, with its decode engines and limits for H.264 and
/// HEVC; empty without the NVIDIA backend or its driver. Asks the driver once per GPU and
/// codec (the first call initialises CUDA on every GPU, about 0.1-0.3 s each).
pub fn gpus() -> Vec<GpuInfo> {
    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    return super::nvidia::gpus();
    #[allow(unreachable_code)]
    Vec::new()
}

/// The GPUs of `selection` that sessions on `backend` may use, in order:
/// - NVIDIA: checked against the CUDA devices; `Unsupported` naming the GPUs there are when
///   one listed does not exist, or naming why the driver cannot run;
/// - `Auto`: as NVIDIA where its driver runs; elsewhere sessions will not run on a GPU, and
///   the selection is `[0]`;
/// - backends without a choice of GPU (software, VideoToolbox): `[0]`.
pub fn resolve_gpus(backend: Backend, selection: &GpuSelection) -> Result<Vec<u32>> {
    match backend {
        Backend::Nvidia => nvidia_devices()
            .map_err(VideoError::unsupported)
            .and_then(|(count, names)| selection.among(count, &names)),
        Backend::Auto => match nvidia_devices() {
            Ok((count, names)) => selection.among(count, &names),
            Err(_) => Ok(vec![0]),
        },
        _ => Ok(vec![0]),
    }
}

/// The CUDA device count and names, or why the NVIDIA backend cannot run.
fn nvidia_devices() -> std::result::Result<(u32, Vec<String>), String> {
    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    return super::nvidia::cuda::driver().map(|d| (d.devices, d.names.clone()));
    #[allow(unreachable_code)]
    Err("the NVIDIA backend is not built in (feature backend-nvidia, Linux or Windows)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_without_a_choice_of_gpu_take_gpu_0_whatever_the_selection() {
        for selection in [GpuSelection::All, GpuSelection::List(vec![3])] {
            assert_eq!(
                resolve_gpus(Backend::Software, &selection).unwrap(),
                vec![0]
            );
        }
    }

    #[test]
    fn nvidia_without_its_driver_is_unsupported_not_a_crash() {
        if nvidia_devices().is_ok() {
            return; // A GPU machine: the device tests cover it.
        }
        let e = resolve_gpus(Backend::Nvidia, &GpuSelection::List(vec![1])).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Unsupported, "{e}");
        assert!(gpus().is_empty());
        assert_eq!(
            resolve_gpus(Backend::Auto, &GpuSelection::All).unwrap(),
            vec![0]
        );
    }
}
