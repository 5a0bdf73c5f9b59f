//! Scheduler tests with test-double stages (named `*Double`), and one with the real sessions.

use super::*;
use crate::api::codec::Dimensions;
use crate::api::encode_input::EncodeInput;
use crate::api::error::{Rejected, Result, VideoError};
use crate::api::frame::{CropRect, DecodedFrame, FrameData, PixelFormat, Plane};
use crate::api::packet::{BitstreamLayout, DecodeInput, EncodedChunk};
use crate::metrics::{Metrics, Stage};
use crate::transform::{TransformPath, TransformSpec, Transformer};
use crate::{Codec, ColorDescription};
use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn thread_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_string()
}

/// Thread names seen by each double, per role.
#[derive(Default)]
pub(super) struct ThreadLog {
    entries: Mutex<Vec<(&'static str, String)>>,
}

impl ThreadLog {
    fn note(&self, role: &'static str) {
        self.entries.lock().unwrap().push((role, thread_name()));
    }

    fn names(&self, role: &str) -> BTreeSet<String> {
        self.entries
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _)| *r == role)
            .map(|(_, n)| n.clone())
            .collect()
    }
}

const SIZE: u32 = 16;

/// A 16x16 I420 frame whose luma is all `value`.
fn tiny_frame(value: u8) -> DecodedFrame {
    let size = Dimensions::new(SIZE, SIZE).unwrap();
    let n = (SIZE * SIZE) as usize;
    DecodedFrame {
        format: PixelFormat::I420,
        coded: size,
        crop: CropRect::full(size),
        color: ColorDescription::default(),
        pts: None,
        keyframe: false,
        data: FrameData::Cpu(vec![
            Plane {
                data: vec![value; n].into(),
                stride: SIZE as usize,
            },
            Plane {
                data: vec![128; n / 4].into(),
                stride: SIZE as usize / 2,
            },
            Plane {
                data: vec![128; n / 4].into(),
                stride: SIZE as usize / 2,
            },
        ]),
    }
}

pub(super) fn luma_of(frame: &DecodedFrame) -> u8 {
    let mut out = Vec::new();
    frame.write_planar(&mut out).unwrap();
    out[0]
}

/// Decoder double: each Annex-B input `[v]` becomes one frame of luma `v` (`0xFF`: a decode
/// error instead). At most `credits` inputs are accepted and not yet reaped.
pub(super) struct DecoderDouble {
    credits: usize,
    ready: VecDeque<Result<DecodedFrame>>,
    log: Arc<ThreadLog>,
    peak_outstanding: Arc<AtomicUsize>,
}

impl DecoderDouble {
    pub(super) fn new(credits: usize, log: Arc<ThreadLog>) -> Self {
        Self {
            credits,
            ready: VecDeque::new(),
            log,
            peak_outstanding: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl DecodeStage for DecoderDouble {
    fn try_submit(&mut self, input: DecodeInput) -> std::result::Result<(), Rejected<DecodeInput>> {
        self.log.note("decode_submit");
        if self.ready.len() >= self.credits {
            return Err(Rejected {
                error: VideoError::backpressure("double is full"),
                input,
            });
        }
        let DecodeInput::AnnexB { data, .. } = &input else {
            unreachable!("tests submit Annex-B")
        };
        self.ready.push_back(match data[0] {
            0xFF => Err(VideoError::invalid_bitstream("double: bad input")),
            v => Ok(tiny_frame(v)),
        });
        self.peak_outstanding
            .fetch_max(self.ready.len(), Ordering::Relaxed);
        Ok(())
    }

    fn reap_timeout(&mut self, _timeout: Duration) -> Result<Option<DecodedFrame>> {
        self.log.note("decode_reap");
        self.ready.pop_front().transpose()
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Encoder double: each picture becomes a chunk holding its first luma byte.
struct EncoderDouble {
    credits: usize,
    ready: VecDeque<EncodedChunk>,
    log: Arc<ThreadLog>,
}

impl EncodeStage for EncoderDouble {
    fn try_submit(&mut self, input: EncodeInput) -> std::result::Result<(), Rejected<EncodeInput>> {
        self.log.note("encode_submit");
        if self.ready.len() >= self.credits {
            return Err(Rejected {
                error: VideoError::backpressure("double is full"),
                input,
            });
        }
        self.ready.push_back(EncodedChunk {
            codec: Codec::H264,
            layout: BitstreamLayout::AnnexB,
            pts: input.pts,
            dts: input.pts,
            keyframe: false,
            generation: 0,
            data: vec![input.planes()[0].data.as_slice()[0]],
        });
        Ok(())
    }

    fn reap_timeout(&mut self, _timeout: Duration) -> Result<Option<EncodedChunk>> {
        self.log.note("encode_reap");
        Ok(self.ready.pop_front())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Transform double: the real CPU transformer, noting the thread it runs on.
struct TransformDouble {
    inner: Transformer,
    log: Arc<ThreadLog>,
}

impl FrameTransform for TransformDouble {
    fn apply(&self, frame: DecodedFrame) -> Result<(DecodedFrame, TransformPath)> {
        self.log.note("transform");
        self.inner.apply(frame)
    }
}

fn inputs(values: impl IntoIterator<Item = u8>) -> Vec<Result<IngestItem>> {
    values
        .into_iter()
        .map(|v| Ok(IngestItem::from(DecodeInput::annexb(vec![v]))))
        .collect()
}

pub(super) fn config() -> PipelineConfig {
    PipelineConfig::default()
        .with_queue_depth(4)
        .with_transform_threads(2)
}

fn transform_double(
    spec: TransformSpec,
    metrics: &Metrics,
    log: &Arc<ThreadLog>,
) -> Arc<dyn FrameTransform> {
    Arc::new(TransformDouble {
        inner: Transformer::new(spec, metrics.clone()),
        log: log.clone(),
    })
}

#[test]
fn decode_pipeline_delivers_every_frame_transformed_and_in_order() {
    let metrics = Metrics::new();
    let log = Arc::new(ThreadLog::default());
    let sched = PipelineScheduler::new(config(), metrics.clone());
    let values: Vec<u8> = (0..60).map(|i| i * 3).collect();
    let mut got = Vec::new();
    let summary = sched
        .run_decode(
            inputs(values.clone()),
            DecoderDouble::new(3, log.clone()),
            Some(transform_double(
                TransformSpec::to(PixelFormat::Rgb24),
                &metrics,
                &log,
            )),
            |out| {
                match out {
                    Output::Frame(u) => {
                        got.push((u.seq, u.item.format, u.item.planes().unwrap()[0].data[0]))
                    }
                    other => panic!("unexpected {other:?}"),
                }
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(summary.inputs, 60);
    assert_eq!(summary.frames_delivered, 60);
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        (0..60).collect::<Vec<_>>()
    );
    assert!(got.iter().all(|g| g.1 == PixelFormat::Rgb24));
    // Luma rises with the input value, so red does too: order kept through the pool.
    assert!(got.windows(2).all(|w| w[0].2 <= w[1].2), "{got:?}");
    let r = metrics.report();
    assert_eq!(r.transform_paths.cpu, 60);
    assert_eq!(r.stage(Stage::Egress).unwrap().count, 60);
    assert_eq!(r.stage(Stage::DecodeReap).unwrap().count, 60);
    assert_eq!(r.stage(Stage::Ingest).unwrap().count, 60);
}

#[test]
fn transforms_never_run_on_a_submit_or_reap_thread() {
    let metrics = Metrics::new();
    let log = Arc::new(ThreadLog::default());
    let sched = PipelineScheduler::new(config(), metrics.clone());
    let mut chunks = 0;
    sched
        .run_transcode(
            inputs(0..40),
            DecoderDouble::new(2, log.clone()),
            Some(transform_double(
                TransformSpec::to(PixelFormat::Nv12),
                &metrics,
                &log,
            )),
            EncoderDouble {
                credits: 2,
                ready: VecDeque::new(),
                log: log.clone(),
            },
            |out| {
                assert!(matches!(out, Output::Chunk(_)));
                chunks += 1;
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(chunks, 40);
    let transform = log.names("transform");
    assert!(!transform.is_empty());
    assert!(
        transform
            .iter()
            .all(|n| n.starts_with("video-hw-transform-")),
        "{transform:?}"
    );
    for role in [
        "decode_submit",
        "decode_reap",
        "encode_submit",
        "encode_reap",
    ] {
        let names = log.names(role);
        assert!(!names.is_empty(), "{role} never ran");
        assert!(
            names.is_disjoint(&transform),
            "{role} shares a thread with transforms: {names:?}"
        );
    }
    assert_eq!(
        log.names("decode_submit"),
        BTreeSet::from(["video-hw-decode-submit".to_string()])
    );
    assert_eq!(
        log.names("encode_reap"),
        BTreeSet::from(["video-hw-encode-reap".to_string()])
    );
}

#[test]
fn transcode_chunks_keep_order_and_generation() {
    let metrics = Metrics::new();
    let log = Arc::new(ThreadLog::default());
    let sched = PipelineScheduler::new(config(), metrics.clone());
    let source: Vec<Result<IngestItem>> = (0..30u8)
        .map(|v| {
            Ok(IngestItem::new(
                DecodeInput::annexb(vec![v + 10]),
                u64::from(v / 10),
            ))
        })
        .collect();
    let mut got = Vec::new();
    let summary = sched
        .run_transcode(
            source,
            DecoderDouble::new(4, log.clone()),
            None,
            EncoderDouble {
                credits: 3,
                ready: VecDeque::new(),
                log,
            },
            |out| {
                if let Output::Chunk(u) = out {
                    got.push((u.item.data[0], u.generation));
                }
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(summary.chunks_delivered + summary.stale_dropped, 30);
    assert_eq!(summary.stale_dropped, 0, "Deliver is the default policy");
    let want: Vec<(u8, u64)> = (0..30u8).map(|v| (v + 10, u64::from(v / 10))).collect();
    assert_eq!(got, want);
}

#[test]
fn keep_native_frames_bypass_the_transform() {
    let metrics = Metrics::new();
    let log = Arc::new(ThreadLog::default());
    let sched = PipelineScheduler::new(config(), metrics.clone());
    // 10 converted, then 10 native (a new request: the decoder is drained in between).
    let source: Vec<Result<IngestItem>> = (0..20u8)
        .map(|v| {
            let item = IngestItem::from(DecodeInput::annexb(vec![v]));
            Ok(if v >= 10 { item.keep_native() } else { item })
        })
        .collect();
    let mut got = Vec::new();
    sched
        .run_decode(
            source,
            DecoderDouble::new(4, log.clone()),
            Some(transform_double(
                TransformSpec::to(PixelFormat::Bgra),
                &metrics,
                &log,
            )),
            |out| {
                if let Output::Frame(u) = out {
                    got.push((u.keep_native, u.item.format));
                }
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(got.len(), 20);
    assert!(
        got[..10].iter().all(|g| *g == (false, PixelFormat::Bgra)),
        "{got:?}"
    );
    assert!(
        got[10..].iter().all(|g| *g == (true, PixelFormat::I420)),
        "{got:?}"
    );
    assert_eq!(
        log.entries
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.0 == "transform")
            .count(),
        10
    );
    let r = metrics.report();
    assert_eq!((r.transform_paths.cpu, r.transform_paths.skipped), (10, 10));
}

/// Runs 5 inputs of generation 0 then 5 of generation 1, the sink holding the first frame
/// until ingest has read into generation 1, so the other 4 frames of generation 0 are stale
/// when egress reaches them.
fn run_with_stale_units(policy: StalePolicy) -> (PipelineSummary, Vec<(u64, bool, u8)>, Metrics) {
    let metrics = Metrics::new();
    let log = Arc::new(ThreadLog::default());
    let sched = PipelineScheduler::new(
        config().with_queue_depth(8).with_stale_policy(policy),
        metrics.clone(),
    );
    let gen1_read = Arc::new(AtomicBool::new(false));
    let first_seen = Arc::new(AtomicBool::new(false));
    let (flag, seen) = (gen1_read.clone(), first_seen.clone());
    let mut n = 0u8;
    let source = std::iter::from_fn(move || {
        // Generation 1 starts only once the sink holds the first frame (not stale yet).
        if n == 5 {
            while !seen.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        // Asking for the second generation-1 input means the first was pushed, so ingest
        // has raised the current generation.
        if n == 6 {
            flag.store(true, Ordering::Release);
        }
        if n == 10 {
            return None;
        }
        n += 1;
        Some(Ok(IngestItem::new(
            DecodeInput::annexb(vec![n]),
            u64::from(n > 5),
        )))
    });
    let mut got = Vec::new();
    let summary = sched
        .run_decode(source, DecoderDouble::new(8, log), None, |out| {
            if let Output::Frame(u) = out {
                if got.is_empty() {
                    first_seen.store(true, Ordering::Release);
                    while !gen1_read.load(Ordering::Acquire) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
                got.push((u.generation, u.stale, luma_of(&u.item)));
            }
            Ok(())
        })
        .unwrap();
    (summary, got, metrics)
}

#[test]
fn stale_generation_policy_deliver_marks_and_counts() {
    let (summary, got, metrics) = run_with_stale_units(StalePolicy::Deliver);
    assert_eq!(got.len(), 10);
    let want: Vec<(u64, bool, u8)> = (1..=10u8)
        .map(|v| (u64::from(v > 5), (2..=5).contains(&v), v))
        .collect();
    assert_eq!(got, want);
    assert_eq!((summary.stale_delivered, summary.stale_dropped), (4, 0));
    assert_eq!(metrics.report().stale.delivered, 4);
}

#[test]
fn stale_generation_policy_drop_and_count_drops_only_stale_units() {
    let (summary, got, metrics) = run_with_stale_units(StalePolicy::DropAndCount);
    let values: Vec<u8> = got.iter().map(|g| g.2).collect();
    assert_eq!(values, vec![1, 6, 7, 8, 9, 10]);
    assert_eq!((summary.stale_delivered, summary.stale_dropped), (0, 4));
    assert_eq!(
        summary.frames_delivered + summary.stale_dropped,
        10,
        "nothing lost silently"
    );
    assert_eq!(metrics.report().stale.dropped, 4);
}

#[test]
fn bounded_memory_under_a_slow_consumer() {
    let metrics = Metrics::new();
    let log = Arc::new(ThreadLog::default());
    let cfg = PipelineConfig {
        queue_depth: 3,
        transform_queue: 2,
        transform_threads: 2,
        ..PipelineConfig::default()
    };
    let sched = PipelineScheduler::new(cfg, metrics.clone());
    let decoder = DecoderDouble::new(2, log.clone());
    let peak_outstanding = decoder.peak_outstanding.clone();
    let mut delivered = 0;
    sched
        .run_decode(
            inputs((0..120).map(|v| v as u8)),
            decoder,
            Some(transform_double(
                TransformSpec::to(PixelFormat::Rgba),
                &metrics,
                &log,
            )),
            |_| {
                std::thread::sleep(Duration::from_millis(1));
                delivered += 1;
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(delivered, 120);
    let r = metrics.report();
    for (stage, bound) in [
        (Stage::DecodeSubmit, 3),
        (Stage::Egress, 3),
        (Stage::Transform, 2),
    ] {
        let q = r.stage(stage).unwrap().queue.unwrap();
        assert!(q.peak <= bound, "{stage}: {q:?}");
        assert!(q.samples > 0, "{stage}: {q:?}");
    }
    // The producer ran ahead until the bounds stopped it.
    assert_eq!(
        r.stage(Stage::DecodeSubmit).unwrap().queue.unwrap().peak,
        3,
        "{r}"
    );
    assert!(peak_outstanding.load(Ordering::Relaxed) <= 2);
}

#[test]
fn errors_travel_to_the_sink_and_a_sink_error_ends_the_run() {
    let metrics = Metrics::new();
    let log = Arc::new(ThreadLog::default());
    let sched = PipelineScheduler::new(config(), metrics.clone());
    let mut seen = Vec::new();
    let summary = sched
        .run_decode(
            inputs([1, 2, 0xFF, 3]),
            DecoderDouble::new(4, log.clone()),
            None,
            |out| {
                seen.push(match out {
                    Output::Frame(u) => format!("frame {}", luma_of(&u.item)),
                    Output::Error { stage, error } => format!("{stage}: {:?}", error.kind()),
                    Output::Chunk(_) => "chunk".into(),
                });
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(
        seen,
        vec![
            "frame 1",
            "frame 2",
            "decode_reap: InvalidBitstream",
            "frame 3"
        ]
    );
    assert_eq!(summary.errors, 1);
    assert_eq!(metrics.report().stage(Stage::DecodeReap).unwrap().errors, 1);

    let sched = PipelineScheduler::new(config(), Metrics::new());
    let err = sched
        .run_decode(inputs(0..200), DecoderDouble::new(2, log), None, |_| {
            Err(VideoError::backend("sink is full"))
        })
        .unwrap_err();
    assert_eq!(err.context(), "sink is full");
}

#[test]
fn source_errors_reach_the_sink() {
    let sched = PipelineScheduler::new(config(), Metrics::new());
    let mut source = inputs([1, 2]);
    source.push(Err(VideoError::invalid_input("unreadable file")));
    let mut seen = Vec::new();
    let summary = sched
        .run_decode(
            source,
            DecoderDouble::new(2, Arc::new(ThreadLog::default())),
            None,
            |out| {
                seen.push(matches!(
                    out,
                    Output::Error {
                        stage: Stage::Ingest,
                        ..
                    }
                ));
                Ok(())
            },
        )
        .unwrap();
    assert_eq!(summary.errors, 1);
    assert_eq!(seen.iter().filter(|e| **e).count(), 1);
}

#[test]
fn real_sessions_transcode_through_the_scheduler() {
    use crate::{Backend, DecodeSession, DecoderConfig, EncodeSession, EncoderConfig};
    if !crate::backend::probe_one(Backend::Software).encodes(Codec::H264) {
        eprintln!("SKIPPED: no software H.264 encoder in this build");
        return;
    }
    let size = Dimensions::new(64, 64).unwrap();
    let mut enc =
        EncodeSession::new(Backend::Software, EncoderConfig::new(Codec::H264, size)).unwrap();
    for i in 0..10u8 {
        let picture = vec![i.wrapping_mul(20); PixelFormat::I420.frame_size(size)];
        enc.submit(EncodeInput::packed(PixelFormat::I420, size, picture).unwrap())
            .unwrap();
    }
    let stream: Vec<u8> = enc
        .drain()
        .unwrap()
        .into_iter()
        .flat_map(|c| c.data)
        .collect();
    let metrics = Metrics::new();
    let sched = PipelineScheduler::new(PipelineConfig::default(), metrics.clone());
    let dec = DecodeSession::new(Backend::Software, DecoderConfig::new(Codec::H264)).unwrap();
    let enc = EncodeSession::new(Backend::Software, EncoderConfig::new(Codec::H264, size)).unwrap();
    let transform: Arc<dyn FrameTransform> = Arc::new(Transformer::new(
        TransformSpec::to(PixelFormat::I420),
        metrics.clone(),
    ));
    let source = stream
        .chunks(100)
        .map(|c| Ok(IngestItem::from(DecodeInput::annexb(c))))
        .collect::<Vec<_>>();
    let mut chunks = 0;
    let summary = sched
        .run_transcode(source, dec, Some(transform), enc, |out| {
            if let Output::Chunk(_) = out {
                chunks += 1;
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(chunks, 10);
    assert_eq!(summary.frames_decoded, 10);
    let report = metrics.report();
    assert_eq!(report.stage(Stage::EncodeReap).unwrap().count, 10);
}

/// Runs `segments` (one byte per frame) on `lanes` decoder doubles through the scheduler's
/// segmented run, one-byte inputs, `frames_ahead` frames per segment queue.
fn run_segments_on_doubles(
    segments: &[Vec<u8>],
    lanes: usize,
    frames_ahead: usize,
    log: &Arc<ThreadLog>,
    metrics: &Metrics,
) -> (Result<PipelineSummary>, Vec<Result<u8>>, BTreeSet<String>) {
    let sched = PipelineScheduler::new(config(), metrics.clone());
    let data: Vec<&[u8]> = segments.iter().map(Vec::as_slice).collect();
    let decoders = (0..lanes)
        .map(|_| DecoderDouble::new(2, log.clone()))
        .collect();
    let (mut got, mut callers) = (Vec::new(), BTreeSet::new());
    let summary = sched.run_segments(&data, 1, frames_ahead, decoders, |item| {
        callers.insert(thread_name());
        got.push(item.map(|f| luma_of(&f)));
        if got.len() == 1000 {
            return Err(VideoError::backend("the sink is full"));
        }
        Ok(())
    });
    (summary, got, callers)
}

#[test]
fn segmented_run_delivers_every_segment_in_stream_order_from_the_scheduler_lanes() {
    let metrics = Metrics::new();
    let log = Arc::new(ThreadLog::default());
    // Segments of unequal lengths, so that lanes finish out of stream order.
    let lengths = [9usize, 2, 14, 1, 6, 11, 3];
    let mut next = 1u8;
    let segments: Vec<Vec<u8>> = lengths
        .iter()
        .map(|&n| {
            (0..n)
                .map(|_| {
                    next += 1;
                    next
                })
                .collect()
        })
        .collect();
    let (summary, got, callers) = run_segments_on_doubles(&segments, 3, 2, &log, &metrics);
    let summary = summary.unwrap();
    let want: Vec<u8> = segments.concat();
    let got: Vec<u8> = got.into_iter().map(Result::unwrap).collect();
    assert_eq!(got, want, "frames in stream order, none lost or repeated");
    assert_eq!(summary.inputs, want.len() as u64);
    assert_eq!(summary.frames_decoded, want.len() as u64);
    assert_eq!(summary.frames_delivered, want.len() as u64);
    assert_eq!(summary.errors, 0);
    // The sessions ran on the scheduler's workers; the caller got the frames on its thread.
    assert_eq!(
        log.names("decode_submit"),
        ["video-hw-decode-submit".to_string()].into()
    );
    assert_eq!(
        log.names("decode_reap"),
        ["video-hw-decode-reap".to_string()].into()
    );
    assert_eq!(callers, [thread_name()].into());
    let r = metrics.report();
    assert_eq!(
        r.stage(Stage::DecodeSubmit).unwrap().count,
        want.len() as u64
    );
    assert_eq!(r.stage(Stage::DecodeReap).unwrap().count, want.len() as u64);
}

#[test]
fn segmented_run_keeps_a_decode_error_in_its_place_and_a_caller_error_stops_every_lane() {
    let metrics = Metrics::new();
    let log = Arc::new(ThreadLog::default());
    let segments = vec![vec![1, 2], vec![3, 0xFF, 4], vec![5]];
    let (summary, got, _) = run_segments_on_doubles(&segments, 2, 1, &log, &metrics);
    let summary = summary.unwrap();
    let shown: Vec<Option<u8>> = got.iter().map(|r| r.as_ref().ok().copied()).collect();
    assert_eq!(shown, [Some(1), Some(2), Some(3), None, Some(4), Some(5)]);
    assert_eq!((summary.frames_delivered, summary.errors), (5, 1));

    // The sink fails at its 1000th item, with lanes waiting on full segment queues and on
    // sessions that are out of credits: the run ends and returns the sink's error.
    let segments: Vec<Vec<u8>> = (0..40).map(|_| vec![7; 60]).collect();
    let (summary, got, _) = run_segments_on_doubles(&segments, 3, 1, &log, &metrics);
    let err = summary.expect_err("the sink's error comes back");
    assert!(err.to_string().contains("the sink is full"), "{err}");
    assert_eq!(got.len(), 1000, "nothing is handed out after the error");
}

#[test]
fn decode_and_encode_lanes_run_at_once_each_in_order_to_its_own_sink() {
    let metrics = Metrics::new();
    let log = Arc::new(ThreadLog::default());
    let sched = PipelineScheduler::new(config(), metrics.clone());
    let mut seen = [Vec::new(), Vec::new()];
    let lanes = seen.iter_mut().enumerate().map(|(lane, seen)| {
        let values = (0..30).map(move |i| (i * 2 + lane as u8) % 0xFE);
        let sink = move |out: Output| {
            match out {
                Output::Frame(u) => seen.push(luma_of(&u.item)),
                other => panic!("unexpected {other:?}"),
            }
            Ok(())
        };
        (inputs(values), DecoderDouble::new(2, log.clone()), sink)
    });
    let summaries = sched.run_decode_many(lanes).unwrap();
    for (lane, seen) in seen.iter().enumerate() {
        let want: Vec<u8> = (0..30).map(|i| (i * 2 + lane as u8) % 0xFE).collect();
        assert_eq!(*seen, want, "lane {lane}");
        assert_eq!(summaries[lane].frames_delivered, 30);
    }

    let mut chunks = [Vec::new(), Vec::new()];
    let lanes = chunks.iter_mut().enumerate().map(|(lane, chunks)| {
        let pictures = (0..20u8).map(move |i| {
            crate::transform::frame_to_encode_input(tiny_frame(i + 100 * lane as u8))
        });
        let encoder = EncoderDouble {
            credits: 2,
            ready: VecDeque::new(),
            log: log.clone(),
        };
        let sink = move |out: Output| {
            match out {
                Output::Chunk(u) => chunks.push((u.seq, u.item.data[0])),
                other => panic!("unexpected {other:?}"),
            }
            Ok(())
        };
        (pictures, encoder, sink)
    });
    let summaries = sched.run_encode_many(lanes).unwrap();
    for (lane, chunks) in chunks.iter().enumerate() {
        let want: Vec<(u64, u8)> = (0..20u8)
            .map(|i| (i as u64, i + 100 * lane as u8))
            .collect();
        assert_eq!(*chunks, want, "lane {lane}");
        assert_eq!(summaries[lane].chunks_delivered, 20);
    }
    assert_eq!(
        log.names("encode_submit"),
        ["video-hw-encode-submit".to_string()].into()
    );
    assert_eq!(
        log.names("encode_reap"),
        ["video-hw-encode-reap".to_string()].into()
    );
}
