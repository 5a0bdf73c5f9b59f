//! Output placement: which path turns the decoder's frames into the [`DecodeOutput`] asked
//! for, and where the frames live meanwhile ([`FramePlacement`]). Chosen once per session
//! (or once per segmented decode) from what the backend declares
//! ([`backend::decoder_converts_on_gpu`], its [`crate::transform::GpuTransform`]); every
//! frame's outcome is counted in the session's [`Metrics`].
//!
//! The fastest exact path first:
//! 1. [`ConversionPath::Decoder`]: the decoder converts on its GPU straight from its picture
//!    (no extra copy). Not for frames that must wait in device memory.
//! 2. [`ConversionPath::GpuTransform`]: frames stay in pooled device memory and the
//!    backend's GPU transform converts them when reaped (a segmented decode's look-ahead holds
//!    device memory, not host memory; or [`FramePlacement::Device`]).
//! 3. [`ConversionPath::Cpu`]: the CPU transform, on the reaping thread or a pipeline's pool.

use crate::api::config::{ConversionPath, DecodeOutput, DecoderConfig, FramePlacement};
use crate::api::error::{Result, VideoError};
use crate::api::frame::{DecodedFrame, FrameData, PixelFormat};
use crate::backend::{self, Backend};
use crate::metrics::Metrics;
use crate::transform::{TransformPath, TransformSpec, Transformer};

/// The path chosen for one session (or one segmented decode).
#[derive(Debug, Clone)]
pub(crate) struct OutputPlan {
    /// The path.
    pub path: ConversionPath,
    /// What the backend adapter is asked for.
    pub adapter_output: DecodeOutput,
    /// The format the caller gets, when it asked for a conversion.
    target: Option<PixelFormat>,
    /// Converts the frames the decoder did not (GPU transform and CPU paths, and the
    /// decoder path's frames that arrive unconverted).
    transformer: Option<Transformer>,
}

impl OutputPlan {
    /// Whether frames finished by `self` and by `other` are the same: same path, adapter
    /// output and target format.
    pub(crate) fn same_output(&self, other: &OutputPlan) -> bool {
        self.path == other.path
            && self.adapter_output == other.adapter_output
            && self.target == other.target
    }
}

/// Plans the output of a decode on `backend` (a concrete one) for `config`; `segmented`: the
/// frames wait for their turn after the session (the library's choice then keeps them in
/// device memory where the backend has a GPU transform). Conversions are counted in `metrics`.
pub(crate) fn plan(
    backend: Backend,
    config: &DecoderConfig,
    segmented: bool,
    metrics: &Metrics,
) -> Result<OutputPlan> {
    let none = |adapter_output| OutputPlan {
        path: ConversionPath::None,
        adapter_output,
        target: None,
        transformer: None,
    };
    let gpu_frames = matches!(backend, Backend::Nvidia | Backend::VideoToolbox);
    let no_gpu_frames = || {
        VideoError::unsupported(format!(
            "GPU-resident output needs a GPU backend; {backend} keeps frames in CPU memory"
        ))
    };
    let format = match (config.output, config.placement) {
        (DecodeOutput::MetadataOnly, _) => return Ok(none(DecodeOutput::MetadataOnly)),
        (DecodeOutput::Gpu, _) | (DecodeOutput::Native, FramePlacement::Device) => {
            return if gpu_frames {
                Ok(none(DecodeOutput::Gpu))
            } else {
                Err(no_gpu_frames())
            };
        }
        (DecodeOutput::GpuConverted(f), _) => {
            return if backend::decoder_converts_on_device(backend, f) {
                Ok(OutputPlan {
                    path: ConversionPath::Decoder,
                    ..none(DecodeOutput::GpuConverted(f))
                })
            } else if gpu_frames {
                Err(VideoError::unsupported(format!(
                    "{backend} cannot convert frames to {f} in device memory (NVIDIA converts \
                     to rgb24, rgba, bgra and argb there): ask for DecodeOutput::Gpu (native \
                     NV12) or a host format"
                )))
            } else {
                Err(no_gpu_frames())
            };
        }
        (DecodeOutput::Native, _) => return Ok(none(DecodeOutput::Native)),
        (
            DecodeOutput::Cpu(
                f @ (PixelFormat::I420
                | PixelFormat::Nv12
                | PixelFormat::Rgb24
                | PixelFormat::Rgba
                | PixelFormat::Bgra
                | PixelFormat::I010
                | PixelFormat::I012
                | PixelFormat::P016),
            ),
            _,
        ) => f,
        (DecodeOutput::Cpu(other), _) => {
            return Err(VideoError::unsupported(format!(
                "decoding to {other} is not supported (i420, nv12, rgb24, rgba, bgra, and for \
                 10/12-bit video i010, i012, p016 are)"
            )));
        }
    };
    let cpu = Transformer::new(TransformSpec::to(format), metrics.clone());
    let on_device = match config.placement {
        FramePlacement::Device => true,
        FramePlacement::Host => false,
        FramePlacement::Auto => segmented,
    };
    if on_device {
        match backend::gpu_transform(backend, format, config.gpu) {
            Some(Ok(gpu)) => {
                return Ok(OutputPlan {
                    path: ConversionPath::GpuTransform,
                    adapter_output: DecodeOutput::Gpu,
                    target: Some(format),
                    transformer: Some(cpu.with_gpu(gpu)),
                });
            }
            Some(Err(e)) if config.placement == FramePlacement::Device => return Err(e),
            None if config.placement == FramePlacement::Device => {
                return Err(if gpu_frames {
                    VideoError::unsupported(format!(
                        "{backend} has no GPU transform to {format}: ask for host placement"
                    ))
                } else {
                    no_gpu_frames()
                });
            }
            // The library's choice: the next path.
            _ => {}
        }
    }
    let path = if backend::decoder_converts_on_gpu(backend, format) {
        ConversionPath::Decoder
    } else {
        ConversionPath::Cpu
    };
    Ok(OutputPlan {
        path,
        adapter_output: DecodeOutput::Cpu(format),
        target: Some(format),
        transformer: Some(cpu),
    })
}

impl OutputPlan {
    /// `frame` as the caller asked for it: converted unless the decoder already did (a
    /// decoder-converted frame was counted by [`OutputPlan::count_decoder_frames`]).
    pub fn finish(&self, frame: DecodedFrame) -> Result<DecodedFrame> {
        let (Some(t), Some(target)) = (&self.transformer, self.target) else {
            return Ok(frame);
        };
        match &frame.data {
            FrameData::MetadataOnly => Ok(frame),
            FrameData::Cpu(_) if frame.format == target && self.path == ConversionPath::Decoder => {
                Ok(frame)
            }
            _ => t.apply(frame).map(|(f, _path)| f),
        }
    }

    /// The CPU or GPU-transform conversion, for a pipeline's transform pool to run instead
    /// of the reaping thread (`None` on the other paths).
    pub fn pool_transform(&self) -> Option<Transformer> {
        match self.path {
            ConversionPath::Cpu | ConversionPath::GpuTransform => self.transformer.clone(),
            ConversionPath::None | ConversionPath::Decoder => None,
        }
    }

    /// Counts the frames of `frames` the decoder converted itself (on the decoder path):
    /// `fallbacks` of them on the CPU (its fallback), the rest on its GPU.
    pub fn count_decoder_frames(&self, frames: &[DecodedFrame], fallbacks: u64, m: &Metrics) {
        let Some(target) = self.target.filter(|_| self.path == ConversionPath::Decoder) else {
            return;
        };
        let converted = frames
            .iter()
            .filter(|f| f.format == target && matches!(f.data, FrameData::Cpu(_)))
            .count() as u64;
        let fallbacks = fallbacks.min(converted);
        for _ in 0..fallbacks {
            m.record_transform_path(TransformPath::Fallback);
        }
        for _ in fallbacks..converted {
            m.record_transform_path(TransformPath::Gpu);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::codec::Codec;

    fn config(output: DecodeOutput, placement: FramePlacement) -> DecoderConfig {
        DecoderConfig::new(Codec::H264)
            .with_output(output)
            .with_placement(placement)
    }

    #[test]
    fn software_converts_on_the_cpu_whatever_the_choice() {
        let m = Metrics::new();
        for placement in [FramePlacement::Auto, FramePlacement::Host] {
            for segmented in [false, true] {
                let c = config(DecodeOutput::Cpu(PixelFormat::Rgb24), placement);
                let p = plan(Backend::Software, &c, segmented, &m).unwrap();
                assert_eq!(p.path, ConversionPath::Cpu);
                assert_eq!(p.adapter_output, DecodeOutput::Cpu(PixelFormat::Rgb24));
                assert!(p.pool_transform().is_some());
            }
        }
    }

    #[test]
    fn device_placement_on_a_cpu_backend_is_unsupported() {
        let m = Metrics::new();
        for output in [DecodeOutput::Native, DecodeOutput::Cpu(PixelFormat::Rgb24)] {
            let c = config(output, FramePlacement::Device);
            let e = plan(Backend::Software, &c, false, &m).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Unsupported, "{output:?}");
        }
    }

    #[test]
    fn native_and_metadata_outputs_convert_nothing() {
        let m = Metrics::new();
        for output in [DecodeOutput::Native, DecodeOutput::MetadataOnly] {
            let p = plan(
                Backend::Software,
                &config(output, FramePlacement::Auto),
                true,
                &m,
            )
            .unwrap();
            assert_eq!(p.path, ConversionPath::None);
            assert_eq!(p.adapter_output, output);
        }
    }

    #[cfg(all(
        feature = "backend-nvidia",
        any(target_os = "linux", target_os = "windows")
    ))]
    #[test]
    fn nvidia_rgb_converts_in_the_decoder_unless_frames_wait_on_the_device() {
        let m = Metrics::new();
        let c = config(DecodeOutput::Cpu(PixelFormat::Rgb24), FramePlacement::Auto);
        // One session: the decoder's kernel, whether or not a GPU is present (it is only
        // opened by the session).
        let p = plan(Backend::Nvidia, &c, false, &m).unwrap();
        assert_eq!(p.path, ConversionPath::Decoder);
        let host = config(DecodeOutput::Cpu(PixelFormat::Rgb24), FramePlacement::Host);
        assert_eq!(
            plan(Backend::Nvidia, &host, true, &m).unwrap().path,
            ConversionPath::Decoder
        );
        // Segmented: the CUDA transform where the driver is there, else the decoder path.
        let p = plan(Backend::Nvidia, &c, true, &m).unwrap();
        let want = if crate::backend::cuda_transform().is_ok() {
            ConversionPath::GpuTransform
        } else {
            ConversionPath::Decoder
        };
        assert_eq!(p.path, want);
    }

    #[test]
    fn decoder_frames_are_counted_as_gpu_or_fallback() {
        use crate::api::codec::Dimensions;
        use crate::api::frame::{CropRect, Plane};
        let m = Metrics::new();
        let p = OutputPlan {
            path: ConversionPath::Decoder,
            adapter_output: DecodeOutput::Cpu(PixelFormat::Rgb24),
            target: Some(PixelFormat::Rgb24),
            transformer: None,
        };
        let size = Dimensions::new(2, 2).unwrap();
        let frame = || DecodedFrame {
            format: PixelFormat::Rgb24,
            coded: size,
            crop: CropRect::full(size),
            color: Default::default(),
            pts: None,
            keyframe: true,
            data: FrameData::Cpu(vec![Plane {
                data: vec![0u8; 12].into(),
                stride: 6,
            }]),
        };
        p.count_decoder_frames(&[frame(), frame(), frame()], 1, &m);
        let r = m.report();
        assert_eq!((r.transform_paths.gpu, r.transform_paths.fallback), (2, 1));
    }
}
