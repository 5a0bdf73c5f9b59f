//! Adapter-level GPU tests: the NVDEC adapter driven directly with access units (no session,
//! no bitstream layer), so that the decoder itself can be checked on its own. Without a GPU
//! they say so and pass, unless `VIDEO_HW_REQUIRE_GPU=1`.

use super::calls::library;
use super::decoder::NvdecDecoder;
use crate::api::codec::{Codec, Timestamp};
use crate::api::config::{DecodeOutput, DecoderConfig};
use crate::api::frame::{DecodedFrame, PixelFormat};
use crate::backend::DecoderBackend;
use crate::bitstream::AccessUnit;
use std::path::PathBuf;
use std::time::Instant;

fn gpu_name() -> Option<String> {
    match crate::backend::nvidia::environment() {
        Ok((_, name)) => Some(name),
        Err(why) => {
            if std::env::var("VIDEO_HW_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("no NVIDIA GPU but VIDEO_HW_REQUIRE_GPU=1: {why}");
            }
            eprintln!("**** SKIPPED: no NVIDIA GPU/driver: {why} ****");
            None
        }
    }
}

fn data_dir() -> Option<PathBuf> {
    let d = std::env::var_os("VIDEO_HW_TEST_DATA").map(PathBuf::from)?;
    d.join("conformance/manifest.tsv").exists().then_some(d)
}

/// Splits Annex-B bytes into NAL units (start codes removed).
fn split_nals(data: &[u8]) -> Vec<Vec<u8>> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let mut e = starts.get(k + 1).map_or(data.len(), |n| n - 3);
        while e > s && data[e - 1] == 0 {
            e -= 1;
        }
        if e > s {
            nals.push(data[s..e].to_vec());
        }
    }
    nals
}

/// Groups NAL units into access units with a simple rule set (first slice of a picture,
/// or parameter sets/SEI/AUD after a slice, start a new one).
fn access_units(codec: Codec, data: &[u8]) -> Vec<AccessUnit> {
    let mut aus = Vec::new();
    let mut cur: Vec<Vec<u8>> = Vec::new();
    let mut has_vcl = false;
    for nal in split_nals(data) {
        let (vcl, first_slice, prefix) = match codec {
            Codec::H264 => {
                let t = nal[0] & 0x1f;
                let vcl = (1..=5).contains(&t);
                (
                    vcl,
                    vcl && nal.len() > 1 && nal[1] & 0x80 != 0,
                    matches!(t, 6..=9 | 14 | 15),
                )
            }
            _ => {
                let t = (nal[0] >> 1) & 0x3f;
                let vcl = t < 32;
                (
                    vcl,
                    vcl && nal.len() > 2 && nal[2] & 0x80 != 0,
                    matches!(t, 32..=35 | 39),
                )
            }
        };
        if has_vcl && (first_slice || prefix) {
            aus.push(std::mem::take(&mut cur));
            has_vcl = false;
        }
        has_vcl |= vcl;
        cur.push(nal);
    }
    if !cur.is_empty() {
        aus.push(cur);
    }
    aus.into_iter()
        .enumerate()
        .map(|(i, nals)| AccessUnit {
            codec,
            nals,
            keyframe: false,
            offset: 0,
            pts: Some(Timestamp::mpeg(i as i64 * 3000)),
        })
        .collect()
}

fn decode(
    name: &str,
    codec: Codec,
    output: DecodeOutput,
    data: &[u8],
) -> (Vec<DecodedFrame>, Vec<String>) {
    let lib = library().expect("library");
    let config = DecoderConfig::new(codec).with_output(output);
    let mut dec = NvdecDecoder::new(lib, &config, name.to_string()).expect("decoder");
    let mut frames = Vec::new();
    let mut errors = Vec::new();
    for au in access_units(codec, data) {
        if let Err(e) = dec.decode(&au, &mut frames) {
            errors.push(e.to_string());
        }
    }
    if let Err(e) = dec.flush(&mut frames) {
        errors.push(e.to_string());
    }
    (frames, errors)
}

fn md5(frames: &[DecodedFrame]) -> String {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    for f in frames {
        let mut buf = Vec::new();
        let f2;
        let f = if f.format == PixelFormat::Nv12 || f.format == PixelFormat::I420 {
            f
        } else {
            f2 = crate::transform::convert_yuv(f, PixelFormat::I420).expect("yuv");
            &f2
        };
        f.write_planar(&mut buf).expect("planar");
        h.update(&buf);
    }
    format!("{:x}", h.finalize())
}

#[test]
fn adapter_decodes_conformance_streams() {
    let Some(gpu) = gpu_name() else { return };
    let Some(dir) = data_dir() else {
        eprintln!("**** SKIPPED: VIDEO_HW_TEST_DATA/conformance missing ****");
        return;
    };
    let manifest = std::fs::read_to_string(dir.join("conformance/manifest.tsv")).expect("manifest");
    let (mut ok, mut total) = (0, 0);
    for line in manifest.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let (file, codec, frames, pix, want) = (c[0], c[1], c[3], c[6], c[7]);
        let Ok(codec) = codec.parse::<Codec>() else {
            continue;
        };
        if pix != "yuv420p" {
            continue;
        }
        total += 1;
        let data = std::fs::read(dir.join("conformance").join(file)).expect("read");
        let t = Instant::now();
        let (out, errors) = decode(&gpu, codec, DecodeOutput::Native, &data);
        let got = md5(&out);
        let pass = got == want && out.len().to_string() == frames;
        ok += usize::from(pass);
        eprintln!(
            "ADAPTER {file}: {} frames {}/{frames} md5 {got} want {want} errors {errors:?} ({:.0} ms)",
            if pass { "ok" } else { "FAIL" },
            out.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    eprintln!(
        "ADAPTER SUMMARY {ok}/{total}; counters {:?}",
        crate::backend::nvidia::stats::snapshot()
    );
    assert!(ok > 0);
}

#[test]
fn a_decoder_left_idle_by_one_session_decodes_the_next_sessions_stream_exactly() {
    let Some(gpu) = gpu_name() else { return };
    let Some(dir) = data_dir() else { return };
    let data = std::fs::read(dir.join("conformance/h264/test-25fps.h264")).expect("read");
    let (first, e1) = decode(&gpu, Codec::H264, DecodeOutput::Native, &data);
    // The first session ended with a flush: its decoder waits on the shelf.
    let before = crate::backend::nvidia::stats::snapshot();
    let (second, e2) = decode(&gpu, Codec::H264, DecodeOutput::Native, &data);
    let after = crate::backend::nvidia::stats::snapshot();
    crate::backend::release_cached_gpu_memory();
    let (third, e3) = decode(&gpu, Codec::H264, DecodeOutput::Native, &data);
    eprintln!(
        "SHELF taken {} -> {}, kept {} -> {}; errors {e1:?} {e2:?} {e3:?}",
        before.decoders_taken, after.decoders_taken, before.decoders_kept, after.decoders_kept
    );
    assert!(e1.is_empty() && e2.is_empty() && e3.is_empty());
    assert!(
        before.decoders_kept >= 1,
        "the first session left its decoder"
    );
    assert!(
        after.decoders_taken > before.decoders_taken,
        "the second took one"
    );
    let manifest = std::fs::read_to_string(dir.join("conformance/manifest.tsv")).expect("manifest");
    let want = manifest
        .lines()
        .find_map(|l| l.strip_prefix("h264/test-25fps.h264\t"))
        .and_then(|rest| rest.split('\t').nth(6))
        .expect("the stream in the manifest");
    assert_eq!(md5(&first), want);
    assert_eq!(md5(&second), md5(&first));
    assert_eq!(md5(&third), md5(&first));
}

#[test]
fn adapter_outputs_gpu_and_rgb() {
    let Some(gpu) = gpu_name() else { return };
    let Some(dir) = data_dir() else { return };
    let data = std::fs::read(dir.join("conformance/h264/test-25fps.h264")).expect("read");
    let (gpu_frames, e1) = decode(&gpu, Codec::H264, DecodeOutput::Gpu, &data);
    let (rgb, e2) = decode(
        &gpu,
        Codec::H264,
        DecodeOutput::Cpu(PixelFormat::Rgb24),
        &data,
    );
    eprintln!(
        "ADAPTER gpu {} frames {:?} errors {e1:?}; rgb {} frames {:?} errors {e2:?}; counters {:?}",
        gpu_frames.len(),
        gpu_frames.first().map(|f| (&f.data, f.crop)),
        rgb.len(),
        rgb.first().map(|f| (f.format, f.crop)),
        crate::backend::nvidia::stats::snapshot()
    );
    assert_eq!(gpu_frames.len(), 250);
    assert_eq!(rgb.len(), 250);
}

#[test]
fn device_rgb_frames_equal_the_host_rgb_path_byte_for_byte() {
    let Some(gpu) = gpu_name() else { return };
    let Some(dir) = data_dir() else { return };
    let data = std::fs::read(dir.join("conformance/h264/test-25fps.h264")).expect("read");
    let (host, e1) = decode(
        &gpu,
        Codec::H264,
        DecodeOutput::Cpu(PixelFormat::Rgb24),
        &data,
    );
    let (device, e2) = decode(
        &gpu,
        Codec::H264,
        DecodeOutput::GpuConverted(PixelFormat::Rgb24),
        &data,
    );
    assert!(e1.is_empty() && e2.is_empty(), "{e1:?} {e2:?}");
    assert_eq!(host.len(), 250);
    assert_eq!(device.len(), host.len());
    let ctx = crate::backend::nvidia::held_primary(0).expect("context");
    ctx.make_current().expect("current");
    let stream = crate::backend::nvidia::cuda::Stream::new(ctx.clone()).expect("stream");
    for (k, (h, d)) in host.iter().zip(&device).enumerate() {
        let crate::api::frame::FrameData::Gpu(s) = &d.data else {
            panic!("frame {k} is not in device memory");
        };
        assert_eq!((d.format, d.crop, d.pts), (h.format, h.crop, h.pts));
        let (w, rows) = (d.crop.width as usize * 3, d.crop.height as usize);
        assert_eq!(s.pitches, vec![w], "tightly packed");
        let mut back = vec![0u8; w * rows];
        crate::backend::nvidia::cuda::copy_2d(
            stream.raw(),
            crate::backend::nvidia::cuda::Mem::Device(s.planes[0]),
            w,
            crate::backend::nvidia::cuda::Mem::Host(back.as_mut_ptr().cast()),
            w,
            w,
            rows,
        )
        .expect("copy back");
        stream.synchronize().expect("copied");
        let crate::api::frame::FrameData::Cpu(p) = &h.data else {
            panic!("host frame {k} has no planes");
        };
        let host_rows: Vec<u8> = (0..rows)
            .flat_map(|r| p[0].data[r * p[0].stride..][..w].to_vec())
            .collect();
        assert!(
            back == host_rows,
            "frame {k}: device RGB differs from host RGB"
        );
    }
}

#[test]
fn adapter_throughput_on_bench_input() {
    let Some(gpu) = gpu_name() else { return };
    let inputs = [
        (Codec::H264, std::env::var_os("VIDEO_HW_BENCH_INPUT")),
        (Codec::Hevc, std::env::var_os("VIDEO_HW_BENCH_HEVC")),
    ];
    for (codec, path) in inputs {
        let Some(path) = path else { continue };
        let data = std::fs::read(&path).expect("read");
        let ours = access_units(codec, &data);
        let layer = crate::bitstream::access_unit::assemble_annexb(codec, &data);
        let differ = ours.iter().zip(&layer).position(|(a, b)| a.nals != b.nals);
        eprintln!(
            "ADAPTER-BENCH {codec}: {} AUs from the test splitter, {} from the bitstream layer; \
             first difference at {differ:?}: {:?}",
            ours.len(),
            layer.len(),
            differ.map(|i| (
                ours[i]
                    .nals
                    .iter()
                    .map(|n| (n[0], n.len()))
                    .collect::<Vec<_>>(),
                layer[i]
                    .nals
                    .iter()
                    .map(|n| (n[0], n.len()))
                    .collect::<Vec<_>>()
            ))
        );
        for (output, with_pts, use_layer) in [
            (DecodeOutput::Gpu, true, false),
            (DecodeOutput::Gpu, false, false),
            (DecodeOutput::Gpu, false, true),
            (DecodeOutput::Native, true, false),
            (DecodeOutput::Cpu(PixelFormat::Rgb24), true, false),
            (DecodeOutput::Cpu(PixelFormat::Rgb24), false, true),
        ] {
            let lib = library().expect("library");
            let mut aus = if use_layer {
                layer.clone()
            } else {
                ours.clone()
            };
            if !with_pts {
                aus.iter_mut().for_each(|a| a.pts = None);
            }
            let config = DecoderConfig::new(codec).with_output(output);
            let mut dec = NvdecDecoder::new(lib, &config, gpu.clone()).expect("decoder");
            let t = Instant::now();
            let mut n = 0;
            let mut frames = Vec::new();
            for au in &aus {
                dec.decode(au, &mut frames).expect("decode");
                n += frames.len();
                frames.clear();
            }
            dec.flush(&mut frames).expect("flush");
            n += frames.len();
            let s = t.elapsed().as_secs_f64();
            eprintln!(
                "ADAPTER-BENCH {codec} {output:?} pts={with_pts} bitstream-layer={use_layer}: {n} frames in {s:.3} s = {:.1} fps",
                n as f64 / s
            );
        }
    }
}
