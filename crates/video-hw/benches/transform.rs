//! CPU transform throughput: 1080p NV12 -> RGB24 (frames/s = elements/s).
//!
//! `cargo bench -p video-hw --no-default-features --bench transform`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use video_hw::transform::{TransformPool, TransformSpec, transform_frame};
use video_hw::{
    ColorDescription, CropRect, DecodedFrame, Dimensions, FrameData, PixelFormat, Plane,
};

const W: usize = 1920;
const H: usize = 1080;

/// A 1080p NV12 frame with a gradient and some texture (content does not change the speed of
/// the kernels, but keeps the output from being trivially constant).
fn frame() -> DecodedFrame {
    let y: Vec<u8> = (0..W * H)
        .map(|i| (16 + (i % W) * 219 / W + (i / W) % 7) as u8)
        .collect();
    let uv: Vec<u8> = (0..W * H / 2)
        .map(|i| (64 + (i % W) * 128 / W + (i / W) % 5) as u8)
        .collect();
    let size = Dimensions::new(W as u32, H as u32).expect("1080p");
    DecodedFrame {
        format: PixelFormat::Nv12,
        coded: size,
        crop: CropRect::full(size),
        color: ColorDescription::BT709_LIMITED,
        pts: None,
        keyframe: true,
        data: FrameData::Cpu(vec![
            Plane {
                data: Arc::from(y),
                stride: W,
            },
            Plane {
                data: Arc::from(uv),
                stride: W,
            },
        ]),
    }
}

fn nv12_to_rgb24(c: &mut Criterion) {
    let src = frame();
    let spec = TransformSpec::to(PixelFormat::Rgb24);
    let mut g = c.benchmark_group("cpu_transform_1080p");
    g.throughput(Throughput::Elements(1));
    g.bench_function("nv12_to_rgb24", |b| {
        b.iter(|| transform_frame(black_box(&src), &spec).expect("converts"))
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let shared = Arc::new(src);
    let pool = TransformPool::new(threads, 2 * threads, move |f: Arc<DecodedFrame>| {
        transform_frame(&f, &spec)
    })
    .expect("pool");
    // Throughput of the pool: keep it full, `batch` frames per iteration.
    let batch = 8 * threads as u64;
    g.throughput(Throughput::Elements(batch));
    g.bench_function(format!("nv12_to_rgb24_pool_{threads}_threads"), |b| {
        b.iter(|| {
            let mut received = 0;
            for _ in 0..batch {
                let mut job = shared.clone();
                while let Err(back) = pool.try_submit(job) {
                    job = back;
                    pool.recv().expect("open").1.expect("converts");
                    received += 1;
                }
            }
            while received < batch {
                pool.recv().expect("open").1.expect("converts");
                received += 1;
            }
        })
    });
    g.finish();
}

criterion_group!(benches, nv12_to_rgb24);
criterion_main!(benches);
