//! How many decodes of one stream a backend runs at once to advantage: its decode engines.
//! The parallel plan ([`crate::ParallelPlan`]) sizes an automatic parallel decode with it.

use super::{Backend, probe_for};
use crate::api::codec::Codec;

/// Engines that decode `codec` at once on `backend` (a concrete backend) on GPU `gpu`, each
/// able to run one session at full speed:
/// - NVIDIA: the NVDEC engines of device `gpu`, as the driver reports them (`nNumNVDECs` of
///   the decoder capabilities; 7 on an H100 or H200);
/// - software, when OpenH264 serves the codec: the CPU cores (OpenH264 decodes on one
///   thread), at most [`MAX_SOFTWARE_ENGINES`];
/// - software through FFmpeg, which threads one decode over every core already, and
///   VideoToolbox: 1.
///
/// 1 when the backend cannot decode `codec` there. Backends without a choice of GPU ignore
/// `gpu`.
pub fn decode_engines(backend: Backend, codec: Codec, gpu: u32) -> usize {
    let _ = gpu;
    match backend {
        #[cfg(all(
            feature = "backend-nvidia",
            any(target_os = "linux", target_os = "windows")
        ))]
        Backend::Nvidia => super::nvidia::nvdec_engines(gpu, codec).max(1),
        Backend::Software => {
            let report = probe_for(Backend::Software, true, codec);
            let first = report.decode.iter().find(|c| c.codec == codec);
            if first.is_some_and(|c| c.implementation.starts_with("openh264")) {
                std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .min(MAX_SOFTWARE_ENGINES)
            } else {
                1
            }
        }
        _ => 1,
    }
}

/// The most single-threaded software decodes one stream is shared among.
pub const MAX_SOFTWARE_ENGINES: usize = 8;

/// What opening and closing one more decode session on `backend` for `codec` costs, in
/// 1080p frames of that codec decoded on one engine: a parallel decode gives each session at
/// least this much work. NVIDIA: about 0.22 s of one engine's time, measured on the H200
/// (decoders created at once took 100-170 ms each and `cuvidDestroyDecoder` 80-300 ms): 150
/// frames of H.264 (about 650 a second per engine; 3-4 sessions decoded a 600-frame file
/// fastest, 7 slower), 300 of HEVC and VP9 (about 1200 a second; a 600-frame HEVC file: 2
/// sessions 0.39 s, 4 sessions 0.40-0.46 s, 7 sessions 0.57 s from Python, one session
/// 0.49-0.56 s). Software: 2 (a decoder instance costs milliseconds).
pub fn decode_session_cost(backend: Backend, codec: Codec) -> u32 {
    match (backend, codec) {
        (Backend::Software, _) => 2,
        (_, Codec::H264) => 150,
        _ => 300,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_backend_has_at_least_one_engine() {
        for b in Backend::CONCRETE {
            for c in Codec::ALL {
                assert!(decode_engines(b, c, 0) >= 1, "{b} {c}");
            }
        }
    }

    #[cfg(all(feature = "sw-openh264", not(feature = "sw-ffmpeg")))]
    #[test]
    fn openh264_counts_the_cpu_cores() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(
            decode_engines(Backend::Software, Codec::H264, 0),
            cores.min(MAX_SOFTWARE_ENGINES)
        );
    }

    #[cfg(feature = "sw-ffmpeg")]
    #[test]
    fn ffmpeg_threads_one_decode_itself() {
        assert_eq!(decode_engines(Backend::Software, Codec::H264, 0), 1);
    }
}
