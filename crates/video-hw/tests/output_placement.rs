//! Output placement decided by the library: the session (and a segmented decode) picks the
//! conversion path for `DecodeOutput::Cpu(format)` and `FramePlacement`, reports it, and
//! counts every frame's path in its metrics; a pipeline runs a session's CPU conversion on
//! its transform pool. On NVIDIA (skipped without a GPU unless `VIDEO_HW_REQUIRE_GPU=1`):
//! RGB by the decoder's kernel for one session, frames kept on the GPU and converted by the
//! CUDA transform for a segmented decode, and the GPU index reaching the driver.

mod common;

use common::*;
use video_hw::bitstream::{assemble_annexb, split_at_idr};
use video_hw::metrics::{Metrics, MetricsReport, Stage};
use video_hw::pipeline::{IngestItem, Output, PipelineConfig, PipelineScheduler};
use video_hw::{
    Backend, Codec, ConversionPath, DecodeInput, DecodeOutput, DecodeSession, DecoderConfig,
    ErrorKind, FramePlacement, PixelFormat, SegmentedConfig, decode_segmented_with_metrics,
};

const SOFTWARE_STREAM: &str = "h264/BA_MW_D.264";
const NVIDIA_STREAM: &str = "h264/test-25fps.h264";

fn rgb(placement: FramePlacement) -> DecoderConfig {
    DecoderConfig::new(Codec::H264)
        .with_output(DecodeOutput::Cpu(PixelFormat::Rgb24))
        .with_placement(placement)
}

/// One session: its conversion path, its frames and its metrics.
fn one_session(
    backend: Backend,
    config: DecoderConfig,
    data: &[u8],
) -> (ConversionPath, Decoded, MetricsReport) {
    let mut session = DecodeSession::new(backend, config).expect("decoder opens");
    let path = session.conversion();
    assert_eq!(session.summary().conversion, path);
    let mut out = Decoded::default();
    submit_all(
        &mut session,
        data.chunks(1 << 16).map(DecodeInput::annexb),
        &mut out,
    );
    finish(&mut session, &mut out);
    (path, out, session.metrics().report())
}

/// A segmented decode on two sessions: its conversion path, frames and metrics.
fn segmented(
    backend: Backend,
    config: DecoderConfig,
    data: &[u8],
) -> (ConversionPath, Decoded, MetricsReport) {
    let units = assemble_annexb(Codec::H264, data);
    let segments = split_at_idr(Codec::H264, &units, 1);
    let metrics = Metrics::new();
    let mut out = Decoded::default();
    let summary = decode_segmented_with_metrics(
        backend,
        &config,
        &segments,
        SegmentedConfig::new(2),
        &metrics,
        |f| {
            match f {
                Ok(f) => out.frames.push(f),
                Err(e) => out.errors.push(e),
            }
            Ok(())
        },
    )
    .expect("segmented decode runs");
    (summary.conversion, out, metrics.report())
}

fn stream(file: &str, backend: Backend) -> Option<Vec<u8>> {
    let dir = conformance_dir()?;
    if !usable(backend, Codec::H264, true) {
        return None;
    }
    Some(std::fs::read(dir.join(file)).expect("stream readable"))
}

#[test]
fn software_rgb_output_is_converted_on_the_cpu_and_counted() {
    let Some(data) = stream(SOFTWARE_STREAM, Backend::Software) else {
        return;
    };
    let (path, one, report) = one_session(Backend::Software, rgb(FramePlacement::Auto), &data);
    assert_eq!(path, ConversionPath::Cpu);
    assert!(one.errors.is_empty(), "{:?}", one.errors);
    assert!(!one.frames.is_empty());
    assert!(one.frames.iter().all(|f| f.format == PixelFormat::Rgb24));
    assert_eq!(report.transform_paths.cpu, one.frames.len() as u64);
    let (path, parts, report) = segmented(Backend::Software, rgb(FramePlacement::Auto), &data);
    assert_eq!(path, ConversionPath::Cpu, "no GPU transform on software");
    assert_eq!(
        parts.md5(),
        one.md5(),
        "segmented frames equal one session's"
    );
    assert_eq!(report.transform_paths.cpu, parts.frames.len() as u64);
}

#[test]
fn a_pipeline_runs_the_sessions_cpu_conversion_on_its_pool() {
    let Some(data) = stream(SOFTWARE_STREAM, Backend::Software) else {
        return;
    };
    let metrics = Metrics::new();
    let session = DecodeSession::with_metrics(
        Backend::Software,
        rgb(FramePlacement::Auto),
        metrics.clone(),
    )
    .expect("decoder opens");
    let scheduler = PipelineScheduler::new(PipelineConfig::default(), metrics.clone());
    let mut frames = Vec::new();
    let source = data
        .chunks(1 << 16)
        .map(|c| Ok(IngestItem::from(DecodeInput::annexb(c))));
    scheduler
        .run_decode(source, session, None, |out| {
            if let Output::Frame(unit) = out {
                frames.push(unit.item);
            }
            Ok(())
        })
        .expect("pipeline runs");
    assert!(!frames.is_empty());
    assert!(frames.iter().all(|f| f.format == PixelFormat::Rgb24));
    let report = metrics.report();
    assert_eq!(report.transform_paths.cpu, frames.len() as u64);
    assert_eq!(
        report
            .stage(Stage::Transform)
            .expect("transform stage")
            .count,
        frames.len() as u64,
        "every frame went through the pool's transform stage"
    );
}

#[test]
fn device_placement_on_a_cpu_backend_is_unsupported() {
    if !usable(Backend::Software, Codec::H264, true) {
        return;
    }
    for output in [DecodeOutput::Native, DecodeOutput::Cpu(PixelFormat::Rgb24)] {
        let config = DecoderConfig::new(Codec::H264)
            .with_output(output)
            .with_placement(FramePlacement::Device);
        let err = DecodeSession::new(Backend::Software, config)
            .err()
            .expect("refused");
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    }
}

#[test]
fn converted_device_frames_on_a_cpu_backend_are_unsupported_naming_why() {
    if !usable(Backend::Software, Codec::H264, true) {
        return;
    }
    let config =
        DecoderConfig::new(Codec::H264).with_output(DecodeOutput::GpuConverted(PixelFormat::Rgb24));
    let err = DecodeSession::new(Backend::Software, config)
        .err()
        .expect("refused");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("GPU"), "{err}");
}

#[test]
fn nvidia_converts_to_rgb_in_device_memory_with_the_host_paths_pixels() {
    let Some(data) = stream(NVIDIA_STREAM, Backend::Nvidia) else {
        return;
    };
    let (_, host, _) = one_session(Backend::Nvidia, rgb(FramePlacement::Auto), &data);
    let config =
        DecoderConfig::new(Codec::H264).with_output(DecodeOutput::GpuConverted(PixelFormat::Rgb24));
    let (path, device, _) = one_session(Backend::Nvidia, config.clone(), &data);
    assert_eq!(path, ConversionPath::Decoder);
    assert!(device.errors.is_empty(), "{:?}", device.errors);
    assert_eq!(device.frames.len(), host.frames.len());
    for f in &device.frames {
        assert!(
            matches!(f.data, video_hw::FrameData::Gpu(_)),
            "in device memory"
        );
        assert_eq!(f.format, PixelFormat::Rgb24);
    }
    let (_, parts, _) = segmented(Backend::Nvidia, config, &data);
    assert!(parts.errors.is_empty(), "{:?}", parts.errors);
    assert_eq!(parts.frames.len(), host.frames.len());
    let nv12 =
        DecoderConfig::new(Codec::H264).with_output(DecodeOutput::GpuConverted(PixelFormat::Nv12));
    let err = DecodeSession::new(Backend::Nvidia, nv12)
        .err()
        .expect("refused");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
}

#[test]
fn nvidia_converts_in_the_decoder_and_keeps_waiting_frames_on_the_gpu() {
    let Some(data) = stream(NVIDIA_STREAM, Backend::Nvidia) else {
        return;
    };
    let (path, one, report) = one_session(Backend::Nvidia, rgb(FramePlacement::Auto), &data);
    assert_eq!(
        path,
        ConversionPath::Decoder,
        "one session: the decoder's kernel"
    );
    assert!(one.errors.is_empty(), "{:?}", one.errors);
    assert_eq!(report.transform_paths.gpu, one.frames.len() as u64);
    assert_eq!(report.transform_paths.fallback, 0);

    let (path, device, report) = one_session(Backend::Nvidia, rgb(FramePlacement::Device), &data);
    assert_eq!(path, ConversionPath::GpuTransform);
    assert_eq!(
        device.md5(),
        one.md5(),
        "the CUDA transform equals the kernel"
    );
    assert_eq!(report.transform_paths.gpu, device.frames.len() as u64);

    let (path, parts, report) = segmented(Backend::Nvidia, rgb(FramePlacement::Auto), &data);
    assert_eq!(
        path,
        ConversionPath::GpuTransform,
        "segmented: frames wait on the GPU"
    );
    assert!(parts.errors.is_empty(), "{:?}", parts.errors);
    assert_eq!(parts.md5(), one.md5());
    assert_eq!(report.transform_paths.gpu, parts.frames.len() as u64);

    let (path, host, _) = segmented(Backend::Nvidia, rgb(FramePlacement::Host), &data);
    assert_eq!(
        path,
        ConversionPath::Decoder,
        "host placement: the sessions convert"
    );
    assert_eq!(host.md5(), one.md5());
    eprintln!(
        "PLACEMENT nvidia: {} frames, every path equal",
        one.frames.len()
    );
}

#[test]
fn nvidia_refuses_a_gpu_index_the_driver_does_not_have() {
    if !usable(Backend::Nvidia, Codec::H264, true) {
        return;
    }
    let config = DecoderConfig::new(Codec::H264).with_gpu(1000);
    let err = DecodeSession::new(Backend::Nvidia, config)
        .err()
        .expect("GPU 1000 refused");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("GPU 1000"), "{err}");
}
