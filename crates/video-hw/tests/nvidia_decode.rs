//! NVDEC decode through `DecodeSession` with `Backend::Nvidia`.
//!
//! Without an NVIDIA GPU every test says so and passes, except that
//! `VIDEO_HW_REQUIRE_GPU=1` (set by `.gpu/run-tests.sh` on the GPU machine) makes them fail.
//! Without a GPU, `nvidia_without_driver_is_unsupported_with_a_reason` checks the clean
//! `Unsupported` path instead.
#![cfg(all(
    feature = "backend-nvidia",
    any(target_os = "linux", target_os = "windows")
))]

use md5::{Digest, Md5};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use video_hw::{
    Backend, Codec, ColorRange, DecodeInput, DecodeOutput, DecodeSession, DecodedFrame,
    DecoderConfig, ErrorKind, FrameData, MatrixCoefficients, PixelFormat,
};

fn gpu() -> bool {
    let report = DecodeSession::capabilities(Backend::Nvidia);
    if report.available {
        return true;
    }
    if std::env::var("VIDEO_HW_REQUIRE_GPU").as_deref() == Ok("1") {
        panic!(
            "NVIDIA backend unavailable but VIDEO_HW_REQUIRE_GPU=1: {}",
            report.detail
        );
    }
    eprintln!(
        "**** SKIPPED: no usable NVIDIA GPU/driver here ({}) ****",
        report.detail
    );
    false
}

fn conformance_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("VIDEO_HW_CONFORMANCE").map(PathBuf::from),
        std::env::var_os("VIDEO_HW_TEST_DATA").map(|d| PathBuf::from(d).join("conformance")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .find(|d| d.join("manifest.tsv").exists());
    if found.is_none() {
        if std::env::var("VIDEO_HW_REQUIRE_CONFORMANCE").as_deref() == Ok("1") {
            panic!("conformance streams not found (VIDEO_HW_CONFORMANCE)");
        }
        eprintln!("**** SKIPPED: conformance streams not found (set VIDEO_HW_CONFORMANCE) ****");
    }
    found
}

struct Stream {
    file: String,
    codec: Codec,
    frames: usize,
    pix_fmt: String,
    md5: String,
}

fn manifest(dir: &Path) -> Vec<Stream> {
    let text = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            Some(Stream {
                file: c.first()?.to_string(),
                codec: c.get(1)?.parse().ok()?,
                frames: c.get(3)?.parse().ok()?,
                pix_fmt: c.get(6)?.to_string(),
                md5: c.get(7)?.to_string(),
            })
        })
        .collect()
}

/// Decodes a whole Annex-B file through a session, in 64 KiB chunks.
fn decode_file(
    path: &Path,
    codec: Codec,
    output: DecodeOutput,
) -> video_hw::Result<Vec<DecodedFrame>> {
    let bytes = std::fs::read(path).expect("read stream");
    let mut dec = DecodeSession::new(
        Backend::Nvidia,
        DecoderConfig::new(codec).with_output(output),
    )?;
    let mut frames = Vec::new();
    for chunk in bytes.chunks(64 * 1024) {
        let mut input = DecodeInput::annexb(chunk);
        // Never block in submit while the worker may be waiting for us to reap.
        while let Err(rejected) = dec.try_submit(input) {
            assert_eq!(
                rejected.error.kind(),
                ErrorKind::Backpressure,
                "{}",
                rejected.error
            );
            input = rejected.input;
            if let Some(f) = dec.reap_timeout(Duration::from_millis(2))? {
                frames.push(f);
            }
        }
        while let Some(f) = dec.try_reap()? {
            frames.push(f);
        }
    }
    frames.extend(dec.drain()?);
    Ok(frames)
}

fn md5_of(frames: &[DecodedFrame]) -> String {
    let mut h = Md5::new();
    for f in frames {
        let mut buf = Vec::new();
        f.write_planar(&mut buf).expect("planar");
        h.update(&buf);
    }
    format!("{:x}", h.finalize())
}

/// Streams NVDEC is known not to reproduce bit-exactly, with the reason.
const EXCEPTIONS: &[(&str, &str)] = &[
    (
        "h264/HPCAMOLQ_BRCM_B.264",
        "4:0:0 (monochrome) H.264: cuvidGetDecoderCaps on the H100 reports no support, so the \
         session fails with Unsupported naming the limit",
    ),
    (
        "h264/HPCVMOLQ_BRCM_B.264",
        "4:0:0 (monochrome) H.264: cuvidGetDecoderCaps on the H100 reports no support",
    ),
];

#[test]
fn nvdec_decodes_8bit_conformance_streams_to_manifest_md5() {
    if !gpu() {
        return;
    }
    let Some(dir) = conformance_dir() else { return };
    let streams: Vec<Stream> = manifest(&dir)
        .into_iter()
        .filter(|s| s.pix_fmt == "yuv420p" && matches!(s.codec, Codec::H264 | Codec::Hevc))
        .collect();
    let mut passed = 0;
    let mut failures = Vec::new();
    for s in &streams {
        let started = Instant::now();
        let outcome = decode_file(&dir.join(&s.file), s.codec, DecodeOutput::Native);
        let verdict = match outcome {
            Ok(frames) => {
                let md5 = md5_of(&frames);
                if md5 == s.md5 && frames.len() == s.frames {
                    passed += 1;
                    "ok".to_string()
                } else {
                    format!(
                        "MISMATCH frames {}/{} md5 {md5} want {}",
                        frames.len(),
                        s.frames,
                        s.md5
                    )
                }
            }
            Err(e) => format!("ERROR {e}"),
        };
        eprintln!(
            "NVDEC-CONFORMANCE {} {verdict} ({:.0} ms)",
            s.file,
            started.elapsed().as_secs_f64() * 1e3
        );
        if verdict != "ok" {
            failures.push((s.file.clone(), verdict));
        }
    }
    eprintln!(
        "NVDEC-CONFORMANCE SUMMARY {passed}/{} streams match the manifest MD5",
        streams.len()
    );
    let unexpected: Vec<_> = failures
        .iter()
        .filter(|(f, _)| !EXCEPTIONS.iter().any(|(e, _)| e == f))
        .collect();
    assert!(
        unexpected.is_empty(),
        "undocumented NVDEC failures: {unexpected:#?}"
    );
    assert!(passed > 0);
}

fn find(dir: &Path, file: &str) -> Stream {
    manifest(dir)
        .into_iter()
        .find(|s| s.file == file)
        .unwrap_or_else(|| panic!("{file} not in manifest"))
}

/// Reads a GPU frame's visible NV12 pixels back to the host, as write_planar's I420 layout.
fn gpu_frame_to_i420(f: &DecodedFrame) -> Vec<u8> {
    use cudarc::driver::result as cu;
    let FrameData::Gpu(s) = &f.data else {
        panic!("expected a GPU frame, got {:?}", f.data)
    };
    assert_eq!(s.api, video_hw::GpuApi::Cuda);
    assert_eq!(f.format, PixelFormat::Nv12);
    let dev = cu::device::get(0).expect("device");
    // SAFETY: retains the primary context the decoder uses (released below).
    let ctx = unsafe { cu::primary_ctx::retain(dev) }.expect("retain");
    // SAFETY: the context was just retained.
    unsafe { cu::ctx::set_current(ctx) }.expect("current");
    let rows = f.coded.height() as usize;
    let mut luma = vec![0u8; s.pitches[0] * rows];
    let mut chroma = vec![0u8; s.pitches[1] * rows.div_ceil(2)];
    // SAFETY: the surface holds at least these many bytes while `f` is alive.
    unsafe {
        cu::memcpy_dtoh_sync(&mut luma, s.planes[0]).expect("luma");
        cu::memcpy_dtoh_sync(&mut chroma, s.planes[1]).expect("chroma");
        cu::primary_ctx::release(dev).expect("release");
    }
    let c = f.crop;
    let (l, t, w, h) = (
        c.left as usize,
        c.top as usize,
        c.width as usize,
        c.height as usize,
    );
    let mut out = Vec::new();
    for r in t..t + h {
        out.extend_from_slice(&luma[r * s.pitches[0] + l..][..w]);
    }
    for comp in 0..2 {
        for r in t / 2..t / 2 + h.div_ceil(2) {
            let row = &chroma[r * s.pitches[1] + (l / 2) * 2..][..w.div_ceil(2) * 2];
            out.extend(row.iter().skip(comp).step_by(2));
        }
    }
    out
}

#[test]
fn gpu_output_frames_round_trip_to_the_manifest_md5() {
    if !gpu() {
        return;
    }
    let Some(dir) = conformance_dir() else { return };
    for file in [
        "h264/test-25fps.h264",
        "hevc/test-25fps.h265",
        "h264/clip-c.h264",
    ] {
        let s = find(&dir, file);
        let frames = decode_file(&dir.join(file), s.codec, DecodeOutput::Gpu).expect("decode");
        assert_eq!(frames.len(), s.frames, "{file}");
        let mut h = Md5::new();
        for f in &frames {
            h.update(gpu_frame_to_i420(f));
        }
        assert_eq!(
            format!("{:x}", h.finalize()),
            s.md5,
            "{file} via GPU frames"
        );
    }
    // Dropped frames give their buffers back: a second pass allocates nothing new.
    let before = video_hw::diagnostics::gpu_memory_info().expect("mem").0;
    for _ in 0..3 {
        let s = find(&dir, "h264/test-25fps.h264");
        drop(decode_file(&dir.join(&s.file), s.codec, DecodeOutput::Gpu).expect("decode"));
    }
    let after = video_hw::diagnostics::gpu_memory_info().expect("mem").0;
    let grown = before.saturating_sub(after);
    assert!(
        grown < 64 << 20,
        "GPU memory grew by {grown} bytes over 3 GPU-output sessions"
    );
}

#[test]
fn cuda_transform_of_gpu_frames_equals_the_decoders_own_rgb() {
    if !gpu() {
        return;
    }
    let Some(dir) = conformance_dir() else { return };
    let transform = video_hw::backend::cuda_transform().expect("CUDA transform");
    let metrics = video_hw::metrics::Metrics::new();
    for (file, format) in [
        ("h264/test-25fps.h264", PixelFormat::Rgb24),
        ("hevc/test-25fps.h265", PixelFormat::Bgra),
        ("h264/clip-c.h264", PixelFormat::Rgba),
    ] {
        let s = find(&dir, file);
        let gpu_frames = decode_file(&dir.join(file), s.codec, DecodeOutput::Gpu).expect("decode");
        let direct =
            decode_file(&dir.join(file), s.codec, DecodeOutput::Cpu(format)).expect("decode");
        assert_eq!(gpu_frames.len(), direct.len(), "{file}");
        let t = video_hw::transform::Transformer::new(
            video_hw::transform::TransformSpec::to(format),
            metrics.clone(),
        )
        .with_gpu(transform.clone());
        for (i, (g, d)) in gpu_frames.into_iter().zip(&direct).enumerate() {
            let (out, path) = t.apply(g).expect("transform");
            assert_eq!(
                path,
                video_hw::transform::TransformPath::Gpu,
                "{file} frame {i}"
            );
            assert_eq!(out.format, format);
            assert_eq!(out.dimensions(), d.dimensions(), "{file} frame {i}");
            let (FrameData::Cpu(a), FrameData::Cpu(b)) = (&out.data, &d.data) else {
                panic!("host frames expected");
            };
            assert!(a[0].data == b[0].data, "{file} frame {i}: pixels differ");
        }
        eprintln!(
            "CUDA-TRANSFORM {file} -> {format}: {} frames equal",
            direct.len()
        );
    }
}

/// Reference NV12 -> RGB in float64: BT.601/709/2020 by the frame's colour, limited or full.
fn reference_rgb(nv12: &DecodedFrame, bpp: usize, at: [usize; 3]) -> Vec<u8> {
    let planes = nv12.planes().expect("cpu");
    let (w, h) = (nv12.crop.width as usize, nv12.crop.height as usize);
    let (kr, kb) = match nv12.color.matrix.resolve(h as u32) {
        MatrixCoefficients::Bt709 => (0.2126f64, 0.0722f64),
        MatrixCoefficients::Bt2020Ncl => (0.2627, 0.0593),
        _ => (0.299, 0.114),
    };
    let kg = 1.0 - kr - kb;
    let (ys, cs, y0) = match nv12.color.range {
        ColorRange::Limited => (255.0 / 219.0, 255.0 / 224.0, 16.0),
        ColorRange::Full => (1.0, 1.0, 0.0),
    };
    let mut out = vec![0u8; w * h * bpp];
    for y in 0..h {
        for x in 0..w {
            let yy = (f64::from(planes[0].data[y * planes[0].stride + x]) - y0) * ys;
            let c = (y / 2) * planes[1].stride + (x / 2) * 2;
            let u = (f64::from(planes[1].data[c]) - 128.0) * cs;
            let v = (f64::from(planes[1].data[c + 1]) - 128.0) * cs;
            let r = yy + 2.0 * (1.0 - kr) * v;
            let g = yy - 2.0 * kb * (1.0 - kb) / kg * u - 2.0 * kr * (1.0 - kr) / kg * v;
            let b = yy + 2.0 * (1.0 - kb) * u;
            let px = &mut out[(y * w + x) * bpp..][..bpp];
            for (i, val) in [r, g, b].into_iter().enumerate() {
                px[at[i]] = val.round().clamp(0.0, 255.0) as u8;
            }
            if bpp == 4 {
                px[6 - at[0] - at[1] - at[2]] = 255;
            }
        }
    }
    out
}

#[test]
fn cuda_rgb_output_matches_float64_reference_within_one_lsb() {
    if !gpu() {
        return;
    }
    let Some(dir) = conformance_dir() else { return };
    let before = video_hw::diagnostics::nvdec_counters();
    for file in [
        "h264/test-25fps.h264",
        "h264/VID_1280x720_cabac_temporal_direct.264",
    ] {
        let s = find(&dir, file);
        let nv12 = decode_file(
            &dir.join(file),
            s.codec,
            DecodeOutput::Cpu(PixelFormat::Nv12),
        )
        .expect("nv12");
        for (format, bpp, at) in [
            (PixelFormat::Rgb24, 3, [0, 1, 2]),
            (PixelFormat::Rgba, 4, [0, 1, 2]),
            (PixelFormat::Bgra, 4, [2, 1, 0]),
        ] {
            let rgb =
                decode_file(&dir.join(file), s.codec, DecodeOutput::Cpu(format)).expect("rgb");
            assert_eq!(rgb.len(), nv12.len());
            let mut worst = 0u8;
            for (a, b) in nv12.iter().zip(&rgb).take(40) {
                assert_eq!(b.format, format);
                assert_eq!(b.dimensions(), a.dimensions());
                let want = reference_rgb(a, bpp, at);
                let mut got = Vec::new();
                b.write_planar(&mut got).expect("rgb bytes");
                assert_eq!(got.len(), want.len());
                worst = worst.max(
                    got.iter()
                        .zip(&want)
                        .map(|(x, y)| x.abs_diff(*y))
                        .max()
                        .unwrap_or(0),
                );
            }
            eprintln!("{file} {format}: largest difference to the float64 reference {worst}");
            assert!(worst <= 1, "{file} {format}: kernel differs by {worst} LSB");
        }
    }
    let after = video_hw::diagnostics::nvdec_counters();
    assert!(
        after.rgb_gpu > before.rgb_gpu,
        "the CUDA kernel converted the frames"
    );
    assert_eq!(
        after.rgb_cpu_fallbacks, before.rgb_cpu_fallbacks,
        "no CPU fallback was needed"
    );
}

#[test]
fn resolution_change_mid_stream_is_decoded_at_both_sizes() {
    if !gpu() {
        return;
    }
    let Some(dir) = conformance_dir() else { return };
    let s = find(&dir, "h264/clip-c.h264");
    let frames = decode_file(&dir.join(&s.file), s.codec, DecodeOutput::Native).expect("decode");
    let sizes: Vec<String> = frames.iter().map(|f| f.dimensions().to_string()).collect();
    let mut distinct = sizes.clone();
    distinct.dedup();
    eprintln!("clip-c sizes in output order: {distinct:?}");
    assert!(distinct.len() >= 2, "the size changes: {distinct:?}");
    assert_eq!(frames.len(), s.frames);
    assert_eq!(md5_of(&frames), s.md5);
}

#[test]
fn hevc_10bit_decodes_to_lsb_planar_i010_matching_ffmpeg_and_to_p016_on_request() {
    if !gpu() {
        return;
    }
    // Made by scripts/make-nvidia-test-streams.sh (Debian ffmpeg, libx265, yuv420p10le).
    let Some(dir) = std::env::var_os("VIDEO_HW_TEST_DATA").map(|d| PathBuf::from(d).join("nvidia"))
    else {
        eprintln!("**** SKIPPED: VIDEO_HW_TEST_DATA unset: no 10-bit HEVC stream ****");
        return;
    };
    let (stream, md5_file) = (dir.join("hevc10.h265"), dir.join("hevc10.md5"));
    if !stream.exists() {
        eprintln!(
            "**** SKIPPED: {} missing (scripts/make-nvidia-test-streams.sh) ****",
            stream.display()
        );
        return;
    }
    let want = std::fs::read_to_string(md5_file).expect("md5 file");
    let want = want.split_whitespace().next().unwrap_or("");
    // Planar output above 8 bits is LSB-aligned (FFmpeg's yuv420p10le), like every backend's.
    let frames = decode_file(&stream, Codec::Hevc, DecodeOutput::Native).expect("decode");
    assert!(!frames.is_empty());
    assert!(frames.iter().all(|f| f.format == PixelFormat::I010));
    assert_eq!(md5_of(&frames), want);
    let frames =
        decode_file(&stream, Codec::Hevc, DecodeOutput::Cpu(PixelFormat::P016)).expect("decode");
    assert!(!frames.is_empty());
    let mut h = Md5::new();
    for f in &frames {
        assert_eq!(f.format, PixelFormat::P016);
        let mut buf = Vec::new();
        f.write_planar(&mut buf).expect("planar");
        // P016 holds 10-bit samples in the high bits; yuv420p10le in the low bits.
        let low: Vec<u8> = buf
            .chunks_exact(2)
            .flat_map(|p| (u16::from_le_bytes([p[0], p[1]]) >> 6).to_le_bytes())
            .collect();
        h.update(&low);
    }
    assert_eq!(format!("{:x}", h.finalize()), want);
}

#[test]
fn concurrent_sessions_share_the_gpu_and_all_match() {
    if !gpu() {
        return;
    }
    let Some(dir) = conformance_dir() else { return };
    let s = find(&dir, "h264/test-25fps.h264");
    let path = dir.join(&s.file);
    let results: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    md5_of(&decode_file(&path, Codec::H264, DecodeOutput::Native).expect("decode"))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert!(results.iter().all(|m| *m == s.md5), "{results:?}");
}

/// `VIDEO_HW_NV_PIPELINE=1` (`_QUEUE=3`): the NVIDIA decoder under the PipelineScheduler
/// (ingest, decode submit, decode reap and the transform pool each on their own threads, queues
/// of 3) reproduces the manifest MD5, once with NV12 turned into I420 by the CPU transform
/// pool and once with the CUDA kernel's RGB24 checked against the session's own NV12; the
/// metrics show every stage and the transform paths.
#[test]
fn nvdec_under_the_pipeline_scheduler_matches_the_manifest_md5() {
    use std::sync::Arc;
    use video_hw::metrics::{Metrics, PipelineSwitch, Stage};
    use video_hw::pipeline::{
        FrameTransform, IngestItem, Output, PipelineConfig, PipelineScheduler,
    };
    use video_hw::transform::{TransformSpec, Transformer};
    if !gpu() {
        return;
    }
    let Some(dir) = conformance_dir() else { return };
    let switch = PipelineSwitch::from_vars(Backend::Nvidia, |name| match name {
        "VIDEO_HW_NV_PIPELINE" => Some("1".into()),
        "VIDEO_HW_NV_PIPELINE_QUEUE" => Some("3".into()),
        _ => None,
    });
    assert!(switch.enabled);
    let config = PipelineConfig::default().with_switch(switch);
    assert_eq!(config.queue_depth, 3);
    let s = find(&dir, "h264/VID_1280x720_cabac_temporal_direct.264");
    let bytes = std::fs::read(dir.join(&s.file)).expect("read");
    let bytes = Arc::new(bytes);
    let run = |output: DecodeOutput, to: Option<PixelFormat>| {
        let bytes = bytes.clone();
        let metrics = Metrics::new();
        let scheduler = PipelineScheduler::new(config, metrics.clone());
        let session = DecodeSession::new(
            Backend::Nvidia,
            DecoderConfig::new(Codec::H264).with_output(output),
        )
        .expect("session");
        let transform = to.map(|f| {
            Arc::new(Transformer::new(TransformSpec::to(f), metrics.clone()))
                as Arc<dyn FrameTransform>
        });
        let source = bytes
            .chunks(64 * 1024)
            .map(|c| Ok(IngestItem::from(DecodeInput::annexb(c))))
            .collect::<Vec<_>>();
        drop(bytes);
        // The pipeline runs on a thread of its own, watched: a stall fails the test instead of
        // hanging it.
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut frames = Vec::new();
            let mut errors = Vec::new();
            let result = scheduler.run_decode(source, session, transform, |out| {
                match out {
                    Output::Frame(unit) => frames.push(unit.item),
                    Output::Error { stage, error } => {
                        errors.push(format!("{}: {error}", stage.name()))
                    }
                    Output::Chunk(_) => {}
                }
                Ok(())
            });
            let _ = done_tx.send((result.map(|_| ()), frames, errors));
        });
        let (result, frames, errors) = done_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the scheduler did not finish within 120 s");
        result.expect("pipeline");
        assert!(errors.is_empty(), "{errors:?}");
        (frames, metrics.report())
    };
    let (i420, report) = run(DecodeOutput::Native, Some(PixelFormat::I420));
    assert_eq!(i420.len(), s.frames);
    assert!(i420.iter().all(|f| f.format == PixelFormat::I420));
    assert_eq!(md5_of(&i420), s.md5, "I420 through the scheduler");
    for stage in [
        Stage::Ingest,
        Stage::DecodeSubmit,
        Stage::DecodeReap,
        Stage::Transform,
    ] {
        let r = report.stage(stage).expect("stage");
        assert!(r.count > 0, "{stage:?} saw nothing");
    }
    assert_eq!(
        report.stage(Stage::DecodeReap).unwrap().count,
        s.frames as u64
    );
    assert_eq!(report.transform_paths.cpu, s.frames as u64);
    eprintln!(
        "PIPELINE nvidia I420: {} frames, md5 ok\n{report}",
        i420.len()
    );

    // RGB24 by the CUDA kernel, the frames passing the transform stage untouched.
    let (rgb, report) = run(
        DecodeOutput::Cpu(PixelFormat::Rgb24),
        Some(PixelFormat::Rgb24),
    );
    assert_eq!(rgb.len(), s.frames);
    assert_eq!(report.transform_paths.skipped, s.frames as u64);
    let (nv12, _) = run(DecodeOutput::Native, None);
    let mut worst = 0u8;
    for (r, n) in rgb.iter().zip(&nv12) {
        assert_eq!(r.format, PixelFormat::Rgb24);
        let want = reference_rgb(n, 3, [0, 1, 2]);
        let FrameData::Cpu(planes) = &r.data else {
            panic!("RGB frame not in host memory")
        };
        for (a, b) in planes[0].data.iter().zip(&want) {
            worst = worst.max(a.abs_diff(*b));
        }
    }
    assert!(worst <= 1, "RGB24 differs from the reference by {worst}");
    eprintln!(
        "PIPELINE nvidia RGB24: {} frames within {worst} LSB of the float64 reference",
        rgb.len()
    );
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[test]
fn create_decode_destroy_churn_does_not_grow_memory() {
    if !gpu() {
        return;
    }
    let Some(dir) = conformance_dir() else { return };
    let s = find(&dir, "h264/test-25fps.h264");
    let path = dir.join(&s.file);
    let secs: u64 = std::env::var("VIDEO_HW_CHURN_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let outputs = [
        DecodeOutput::Native,
        DecodeOutput::Gpu,
        DecodeOutput::Cpu(PixelFormat::Rgb24),
    ];
    // Warm-up: the first sessions load the driver, the kernel and the allocators' pools.
    for o in outputs {
        drop(decode_file(&path, Codec::H264, o).expect("warm-up"));
    }
    // Allocators (a malloc arena per thread, the driver's pools) grow during the first rounds
    // and then stay flat; a leak keeps growing. The baseline is taken after the first third
    // of the run, and the last two thirds must stay within the bounds.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let settle = started + Duration::from_secs(secs / 3);
    let rss_start = rss_bytes() >> 20;
    let mut baseline = None;
    let mut samples = Vec::new();
    let mut rounds = 0;
    while Instant::now() < deadline {
        if baseline.is_none() && Instant::now() >= settle {
            let gpu = video_hw::diagnostics::gpu_memory_info().expect("mem").0;
            baseline = Some((rss_bytes(), gpu));
        }
        samples.push(rss_bytes() >> 20);
        std::thread::scope(|scope| {
            for o in outputs {
                let p = &path;
                scope.spawn(move || {
                    let frames = decode_file(p, Codec::H264, o).expect("churn decode");
                    assert_eq!(frames.len(), 250);
                });
            }
        });
        rounds += 1;
    }
    let (rss0, gpu0) = baseline.expect("the run lasts past its first third");
    let (rss1, gpu1) = (
        rss_bytes(),
        video_hw::diagnostics::gpu_memory_info().expect("mem").0,
    );
    let rss_growth = rss1.saturating_sub(rss0);
    let gpu_growth = gpu0.saturating_sub(gpu1);
    let trace: Vec<_> = samples
        .iter()
        .step_by((samples.len() / 12).max(1))
        .collect();
    eprintln!(
        "churn: {rounds} rounds of 3 sessions in {secs} s; host RSS {rss_start} MiB at start, \
         {} MiB after the first third, {} MiB at the end (MiB trace {trace:?}); GPU memory \
         in use grew {} MiB over the last two thirds",
        rss0 >> 20,
        rss1 >> 20,
        gpu_growth >> 20
    );
    assert!(rounds > 0);
    // Bounds: allocator noise only. A leak of even 200 KiB per session would exceed them
    // over the last two thirds of a 20 s run (~140 sessions).
    assert!(rss_growth < 32 << 20, "host RSS grew by {rss_growth} bytes");
    assert!(
        gpu_growth < 32 << 20,
        "GPU memory grew by {gpu_growth} bytes"
    );
}

#[test]
fn nvidia_without_driver_is_unsupported_with_a_reason() {
    let report = DecodeSession::capabilities(Backend::Nvidia);
    if report.available {
        eprintln!(
            "NVIDIA available here ({}); the no-driver path is not exercised",
            report.detail
        );
        return;
    }
    assert!(!report.detail.is_empty());
    let err = DecodeSession::new(Backend::Nvidia, DecoderConfig::new(Codec::H264))
        .err()
        .expect("no NVIDIA session without the driver");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(
        err.to_string().contains(&report.detail),
        "{err} names {}",
        report.detail
    );
}
