//! GPU test: the NV12 -> RGB kernel and the pitch-copy kernel on random 1080p and 2160p
//! pictures: their output checked (RGB within 1 LSB of the CPU path, the copy bit-exact),
//! then their throughput in GB/s reported beside the device's measured copy bandwidth
//! (a large device-to-device `cuMemcpy`, bytes read plus bytes written). Figures are printed
//! (`KERNEL-BENCH` lines), never asserted. Without a GPU it says so and passes, unless
//! `VIDEO_HW_REQUIRE_GPU=1`.

use super::pitch_copy::PitchCopy;
use super::rgb::{self, Coeffs, RgbKernel, Source};
use super::{self as cuda, Context, DeviceBuffer, Mem, Stream, check};
use crate::api::color::ColorDescription;
use crate::api::frame::PixelFormat;
use crate::transform::reference_tests::noise;
use cudarc::driver::sys::{self, CUevent};

/// A pair of timing events on one stream.
struct Timer {
    start: CUevent,
    end: CUevent,
}

impl Timer {
    fn new() -> Self {
        let mut t = Self {
            start: std::ptr::null_mut(),
            end: std::ptr::null_mut(),
        };
        // SAFETY: each call writes one event handle (timing enabled: flags 0).
        unsafe {
            check(sys::cuEventCreate(&mut t.start, 0), "cuEventCreate").expect("event");
            check(sys::cuEventCreate(&mut t.end, 0), "cuEventCreate").expect("event");
        }
        t
    }

    /// Milliseconds taken by what `work` queues on `stream`.
    fn time(&self, stream: &Stream, work: impl FnOnce()) -> f64 {
        // SAFETY: the events and the stream are alive and in the current context.
        unsafe {
            check(
                sys::cuEventRecord(self.start, stream.raw()),
                "cuEventRecord",
            )
            .expect("record");
            work();
            check(sys::cuEventRecord(self.end, stream.raw()), "cuEventRecord").expect("record");
            check(sys::cuEventSynchronize(self.end), "cuEventSynchronize").expect("sync");
            let mut ms = 0f32;
            check(
                sys::cuEventElapsedTime(&mut ms, self.start, self.end),
                "cuEventElapsedTime",
            )
            .expect("elapsed");
            f64::from(ms)
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        // SAFETY: created in `new`, destroyed once.
        unsafe {
            sys::cuEventDestroy_v2(self.start);
            sys::cuEventDestroy_v2(self.end);
        }
    }
}

fn upload(stream: &Stream, dst: &DeviceBuffer, bytes: &mut [u8]) {
    cuda::copy_2d(
        stream.raw(),
        Mem::Host(bytes.as_mut_ptr().cast()),
        bytes.len(),
        Mem::Device(dst.ptr),
        bytes.len(),
        bytes.len(),
        1,
    )
    .expect("upload");
    stream.synchronize().expect("sync");
}

fn download(stream: &Stream, src: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    cuda::copy_2d(
        stream.raw(),
        Mem::Device(src),
        len,
        Mem::Host(out.as_mut_ptr().cast()),
        len,
        len,
        1,
    )
    .expect("download");
    stream.synchronize().expect("sync");
    out
}

#[test]
fn rgb_and_copy_kernels_are_exact_and_their_bandwidth_is_reported() {
    if crate::backend::nvidia::environment().is_err() {
        if std::env::var("VIDEO_HW_REQUIRE_GPU").as_deref() == Ok("1") {
            panic!("no NVIDIA GPU but VIDEO_HW_REQUIRE_GPU=1");
        }
        eprintln!("**** SKIPPED: no NVIDIA GPU/driver ****");
        return;
    }
    let ctx = Context::retain(0).expect("context");
    let stream = Stream::new(ctx.clone()).expect("stream");
    let timer = Timer::new();

    // The ceiling: a 1 GiB device-to-device copy, bytes read plus bytes written.
    let big = 1usize << 30;
    let a = DeviceBuffer::new(ctx.clone(), big).expect("alloc");
    let b = DeviceBuffer::new(ctx.clone(), big).expect("alloc");
    let copy = || {
        // SAFETY: both buffers hold `big` bytes and outlive the synchronised timing.
        let res = unsafe { sys::cuMemcpyDtoDAsync_v2(b.ptr, a.ptr, big, stream.raw()) };
        check(res, "cuMemcpyDtoDAsync").expect("copy");
    };
    timer.time(&stream, copy);
    let ms = (0..5)
        .map(|_| timer.time(&stream, copy))
        .fold(f64::INFINITY, f64::min);
    let ceiling = 2.0 * big as f64 / (ms * 1e-3) / 1e9;
    eprintln!(
        "KERNEL-BENCH device copy bandwidth: {ceiling:.0} GB/s (1 GiB cuMemcpyDtoD, read+write, best of 5)"
    );
    drop((a, b));

    // Host copies of one 1080p RGB24 frame: into plain (pageable) memory, and into the same
    // memory once registered with cuMemHostRegister, as the host pool does; and what the
    // registration itself costs.
    {
        let len = 1920 * 1080 * 3;
        let src = DeviceBuffer::new(ctx.clone(), len).expect("alloc");
        let mut host = noise(len, 7);
        let d2h = |host: &mut [u8]| {
            let t = std::time::Instant::now();
            for _ in 0..20 {
                cuda::copy_2d(
                    stream.raw(),
                    Mem::Device(src.ptr),
                    len,
                    Mem::Host(host.as_mut_ptr().cast()),
                    len,
                    len,
                    1,
                )
                .expect("copy");
                stream.synchronize().expect("sync");
            }
            20.0 * len as f64 / t.elapsed().as_secs_f64() / 1e9
        };
        d2h(&mut host);
        let pageable = d2h(&mut host);
        let t = std::time::Instant::now();
        // SAFETY: `host` holds `len` bytes and is unregistered below, before it is freed.
        let res = unsafe { sys::cuMemHostRegister_v2(host.as_mut_ptr().cast(), len, 0) };
        let register_ms = t.elapsed().as_secs_f64() * 1e3;
        check(res, "cuMemHostRegister").expect("register");
        let pinned = d2h(&mut host);
        // SAFETY: registered above.
        unsafe { sys::cuMemHostUnregister(host.as_mut_ptr().cast()) };
        eprintln!(
            "KERNEL-BENCH device->host, one 1080p RGB24 frame (6.2 MB, synchronised each): \
             pageable {pageable:.1} GB/s, registered {pinned:.1} GB/s; registering it took {register_ms:.2} ms"
        );
    }

    let (kernel, loaded) = RgbKernel::load(ctx.clone()).expect("rgb kernel");
    println!("RGB kernel loaded from its {loaded}");
    let pitch_copy = PitchCopy::load(ctx.clone()).expect("copy kernel");
    for (w, h) in [(1920usize, 1080usize), (3840, 2160)] {
        let pitch = w.next_multiple_of(512);
        let rows = h + h / 2;
        // Several source pictures, so that repeated runs do not read one picture from L2.
        let pictures = 8;
        let src = DeviceBuffer::new(ctx.clone(), pitch * rows * pictures).expect("alloc");
        let mut host_src = noise(pitch * rows * pictures, (w * h) as u32);
        upload(&stream, &src, &mut host_src);
        for format in [PixelFormat::Rgb24, PixelFormat::Rgba] {
            let (bpp, _) = rgb::packing(format).expect("rgb");
            let dst_pitch = w * bpp;
            let dst = DeviceBuffer::new(ctx.clone(), dst_pitch * h * pictures).expect("alloc");
            let coeffs =
                Coeffs::for_color(ColorDescription::default(), h as u32, 8).expect("coefficients");
            let source = |i: usize| Source {
                luma: src.ptr + (i * pitch * rows) as u64,
                luma_pitch: pitch,
                chroma: src.ptr + (i * pitch * rows + pitch * h) as u64,
                chroma_pitch: pitch,
                left: 0,
                top: 0,
                width: w as u32,
                height: h as u32,
                wide: false,
            };
            let out = |i: usize| dst.ptr + (i * dst_pitch * h) as u64;
            // Correctness on random samples: picture 3 against the CPU path.
            let poison = vec![0xA5u8; dst_pitch * h];
            let mut p = poison.clone();
            cuda::copy_2d(
                stream.raw(),
                Mem::Host(p.as_mut_ptr().cast()),
                p.len(),
                Mem::Device(out(3)),
                p.len(),
                p.len(),
                1,
            )
            .expect("poison");
            kernel
                .launch(stream.raw(), &source(3), format, coeffs, out(3), dst_pitch)
                .expect("launch");
            let got = download(&stream, out(3), dst_pitch * h);
            let base = 3 * pitch * rows;
            let luma: Vec<u8> = (0..h)
                .flat_map(|y| host_src[base + y * pitch..][..w].to_vec())
                .collect();
            let chroma: Vec<u8> = (0..h / 2)
                .flat_map(|y| host_src[base + (h + y) * pitch..][..w].to_vec())
                .collect();
            let want = rgb::convert_cpu(&luma, &chroma, w, h, false, format, coeffs).expect("cpu");
            let worst = got
                .iter()
                .zip(want.iter())
                .map(|(a, b)| a.abs_diff(*b))
                .max()
                .unwrap_or(255);
            assert!(
                worst <= 1,
                "{w}x{h} {format}: kernel differs from the CPU path by {worst}"
            );

            let reps = 50;
            let launch_all = || {
                for r in 0..reps {
                    let i = r % pictures;
                    kernel
                        .launch(stream.raw(), &source(i), format, coeffs, out(i), dst_pitch)
                        .expect("launch");
                }
            };
            timer.time(&stream, launch_all);
            let ms = timer.time(&stream, launch_all) / reps as f64;
            let bytes = (w * h * 3 / 2 + w * h * bpp) as f64;
            let gbs = bytes / (ms * 1e-3) / 1e9;
            eprintln!(
                "KERNEL-BENCH nv12_to_rgb {w}x{h} -> {format}: {:.1} us/frame, {:.0} frames/s, \
                 {gbs:.0} GB/s (NV12 read + {format} written) = {:.0}% of the copy bandwidth; \
                 largest difference from the CPU path {worst} LSB",
                ms * 1e3,
                1e3 / ms,
                100.0 * gbs / ceiling
            );
        }

        // The pitch copy (GPU output): kernel against the copy engines, same picture layout.
        let dst_pitch = w.next_multiple_of(256);
        let dst = DeviceBuffer::new(ctx.clone(), dst_pitch * rows * pictures).expect("alloc");
        let s = |i: usize| src.ptr + (i * pitch * rows) as u64;
        let d = |i: usize| dst.ptr + (i * dst_pitch * rows) as u64;
        assert!(
            pitch_copy
                .copy(stream.raw(), s(5), pitch, d(5), dst_pitch, w, rows)
                .expect("copy")
        );
        let got = download(&stream, d(5), dst_pitch * rows);
        let same = (0..rows)
            .all(|y| got[y * dst_pitch..][..w] == host_src[5 * pitch * rows + y * pitch..][..w]);
        assert!(same, "{w}x{h}: the copy kernel changed the picture");
        let reps = 50;
        let by_kernel = || {
            for r in 0..reps {
                let i = r % pictures;
                pitch_copy
                    .copy(stream.raw(), s(i), pitch, d(i), dst_pitch, w, rows)
                    .expect("copy");
            }
        };
        let by_engine = || {
            for r in 0..reps {
                let i = r % pictures;
                cuda::copy_2d(
                    stream.raw(),
                    Mem::Device(s(i)),
                    pitch,
                    Mem::Device(d(i)),
                    dst_pitch,
                    w,
                    rows,
                )
                .expect("copy");
            }
        };
        timer.time(&stream, by_kernel);
        timer.time(&stream, by_engine);
        let bytes = 2.0 * (w * rows) as f64;
        for (name, ms) in [
            (
                "pitch_copy kernel",
                timer.time(&stream, by_kernel) / reps as f64,
            ),
            (
                "cuMemcpy2DAsync",
                timer.time(&stream, by_engine) / reps as f64,
            ),
        ] {
            let gbs = bytes / (ms * 1e-3) / 1e9;
            eprintln!(
                "KERNEL-BENCH {name} NV12 {w}x{h}: {:.1} us/frame, {gbs:.0} GB/s (read+write) = {:.0}% of the copy bandwidth",
                ms * 1e3,
                100.0 * gbs / ceiling
            );
        }
    }
}
