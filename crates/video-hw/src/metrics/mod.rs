//! Metrics: one schema for every backend.
//!
//! Stages record into a cheap, thread-safe [`Metrics`] handle (clone it into every worker);
//! [`Metrics::report`] turns what was recorded into a [`MetricsReport`], printed as a table
//! (`Display`) or JSON ([`MetricsReport::to_json`]). [`metrics_requested`] says whether the
//! environment asks for the report at the end of a session.

mod env;
mod report;
mod transform_path;
mod utilization;

pub use env::{
    PipelineSwitch, is_truthy, metrics_requested, metrics_requested_from, print_if_requested,
};
pub use report::{
    CopyReport, CopyStats, JitterSummary, LatencySummary, MetricsReport, PictureCounts,
    QueueDepthReport, SCHEMA_VERSION, SessionCounts, StageReport, StaleCounts, TransformPathCounts,
};
pub use transform_path::TransformPath;
pub use utilization::{
    UtilizationMonitor, UtilizationReport, UtilizationSample, UtilizationSource,
};

use hdrhistogram::Histogram;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A stage of the pipeline. What each stage's latency measures:
/// - `ingest`: producing one input (reading/splitting).
/// - `decode_submit`, `encode_submit`: from the unit entering the stage's queue to the session
///   accepting it (queue wait + backpressure wait).
/// - `decode_reap`, `encode_reap`: from asking the session for output to getting it.
/// - `transform`: converting one frame (on the transform worker).
/// - `egress`: from the unit entering the egress queue to the sink returning.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Reading input.
    Ingest,
    /// Handing input to the decoder.
    DecodeSubmit,
    /// Collecting decoded frames.
    DecodeReap,
    /// Pixel-format conversion / resize.
    Transform,
    /// Handing pictures to the encoder.
    EncodeSubmit,
    /// Collecting encoded chunks.
    EncodeReap,
    /// Delivering output to the sink.
    Egress,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; 7] = [
        Stage::Ingest,
        Stage::DecodeSubmit,
        Stage::DecodeReap,
        Stage::Transform,
        Stage::EncodeSubmit,
        Stage::EncodeReap,
        Stage::Egress,
    ];

    /// The snake_case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::DecodeSubmit => "decode_submit",
            Stage::DecodeReap => "decode_reap",
            Stage::Transform => "transform",
            Stage::EncodeSubmit => "encode_submit",
            Stage::EncodeReap => "encode_reap",
            Stage::Egress => "egress",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Direction of a host <-> device copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyDirection {
    /// Upload.
    HostToDevice,
    /// Download.
    DeviceToHost,
}

fn histogram() -> Histogram<u64> {
    // 3 significant digits, auto-resizing: never fails for sigfig 3.
    Histogram::new(3).expect("3 significant figures is a valid histogram precision")
}

/// Records `v`, growing the histogram as needed (clamping only if it cannot grow).
fn put(h: &mut Histogram<u64>, v: u64) {
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Depth statistics of a queue: mean, p95 and peak of samples taken as items go in.
#[derive(Debug, Clone)]
pub struct DepthStats {
    capacity: Option<usize>,
    hist: Histogram<u64>,
    sum: u128,
    peak: u64,
}

impl DepthStats {
    /// Empty statistics for a queue bounded at `capacity` (if any).
    pub fn new(capacity: Option<usize>) -> Self {
        Self {
            capacity,
            hist: histogram(),
            sum: 0,
            peak: 0,
        }
    }

    /// Records one depth sample.
    pub fn sample(&mut self, depth: usize) {
        let d = depth as u64;
        put(&mut self.hist, d);
        self.sum += u128::from(d);
        self.peak = self.peak.max(d);
    }

    /// The summary.
    pub fn report(&self) -> QueueDepthReport {
        let samples = self.hist.len();
        QueueDepthReport {
            capacity: self.capacity,
            samples,
            mean: if samples == 0 {
                0.0
            } else {
                self.sum as f64 / samples as f64
            },
            p95: self.hist.value_at_quantile(0.95),
            peak: self.peak,
        }
    }
}

#[derive(Debug)]
struct StageRecorder {
    latency: Histogram<u64>,
    latency_sum_us: u128,
    jitter: Histogram<u64>,
    last_arrival: Option<Instant>,
    last_interval: Option<Duration>,
    errors: u64,
    queue: Option<QueueDepthReport>,
    depth: Option<DepthStats>,
}

impl StageRecorder {
    fn new() -> Self {
        Self {
            latency: histogram(),
            latency_sum_us: 0,
            jitter: histogram(),
            last_arrival: None,
            last_interval: None,
            errors: 0,
            queue: None,
            depth: None,
        }
    }

    fn record(&mut self, latency: Duration, now: Instant) {
        let us = micros(latency);
        put(&mut self.latency, us);
        self.latency_sum_us += u128::from(us);
        if let Some(prev) = self.last_arrival {
            let interval = now.saturating_duration_since(prev);
            if let Some(last) = self.last_interval {
                put(&mut self.jitter, micros(interval.abs_diff(last)));
            }
            self.last_interval = Some(interval);
        }
        self.last_arrival = Some(now);
    }

    fn report(&self, stage: Stage) -> StageReport {
        let count = self.latency.len();
        let q = |h: &Histogram<u64>, p: f64| {
            if h.is_empty() {
                0
            } else {
                h.value_at_quantile(p)
            }
        };
        StageReport {
            stage,
            count,
            errors: self.errors,
            latency: LatencySummary {
                mean_us: if count == 0 {
                    0.0
                } else {
                    self.latency_sum_us as f64 / count as f64
                },
                p50_us: q(&self.latency, 0.50),
                p95_us: q(&self.latency, 0.95),
                p99_us: q(&self.latency, 0.99),
                max_us: self.latency.max(),
            },
            jitter: JitterSummary {
                samples: self.jitter.len(),
                p50_us: q(&self.jitter, 0.50),
                p95_us: q(&self.jitter, 0.95),
                p99_us: q(&self.jitter, 0.99),
            },
            queue: self
                .queue
                .or_else(|| self.depth.as_ref().map(DepthStats::report)),
        }
    }
}

#[derive(Debug, Default)]
struct CopyAcc {
    count: u64,
    bytes: u64,
    time: Duration,
}

#[derive(Debug)]
struct Inner {
    started: Instant,
    backend: Mutex<Option<String>>,
    stages: [Mutex<StageRecorder>; 7],
    paths: [AtomicU64; 4],
    copies: Mutex<[CopyAcc; 2]>,
    sessions_created: AtomicU64,
    sessions_recreated: AtomicU64,
    stale_delivered: AtomicU64,
    stale_dropped: AtomicU64,
    pictures: Mutex<PictureCounts>,
}

/// The recorder: a cheap, cloneable, thread-safe handle (an `Arc`; a mutex per stage, atomics
/// for counters). Clone it into every thread that records.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while recording leaves plain counters behind: keep using them.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    /// An empty recorder; its wall clock starts now.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                started: Instant::now(),
                backend: Mutex::new(None),
                stages: std::array::from_fn(|_| Mutex::new(StageRecorder::new())),
                paths: Default::default(),
                copies: Mutex::new(Default::default()),
                sessions_created: AtomicU64::new(0),
                sessions_recreated: AtomicU64::new(0),
                stale_delivered: AtomicU64::new(0),
                stale_dropped: AtomicU64::new(0),
                pictures: Mutex::new(PictureCounts::default()),
            }),
        }
    }

    /// Names the backend in the report.
    pub fn set_backend(&self, name: impl Into<String>) {
        *lock(&self.inner.backend) = Some(name.into());
    }

    /// One unit completed `stage` taking `latency` (its arrival time also feeds the jitter).
    pub fn record(&self, stage: Stage, latency: Duration) {
        let now = Instant::now();
        lock(&self.inner.stages[stage.index()]).record(latency, now);
    }

    /// Runs `f`, recording its duration for `stage`.
    pub fn time<R>(&self, stage: Stage, f: impl FnOnce() -> R) -> R {
        let t = Instant::now();
        let r = f();
        self.record(stage, t.elapsed());
        r
    }

    /// `stage` reported an error.
    pub fn record_error(&self, stage: Stage) {
        lock(&self.inner.stages[stage.index()]).errors += 1;
    }

    /// Samples the depth of the queue in front of `stage` (for stages without a
    /// [`crate::pipeline::BoundedQueue`], e.g. a session's own output queue).
    pub fn record_queue_depth(&self, stage: Stage, depth: usize, capacity: Option<usize>) {
        lock(&self.inner.stages[stage.index()])
            .depth
            .get_or_insert_with(|| DepthStats::new(capacity))
            .sample(depth);
    }

    /// Installs the depth summary of the queue in front of `stage` (what a
    /// [`crate::pipeline::BoundedQueue`] measured); it replaces sampled depths in the report.
    pub fn set_queue(&self, stage: Stage, queue: QueueDepthReport) {
        lock(&self.inner.stages[stage.index()]).queue = Some(queue);
    }

    /// A host <-> device copy of `bytes` that took `time`.
    pub fn record_copy(&self, direction: CopyDirection, bytes: u64, time: Duration) {
        let mut c = lock(&self.inner.copies);
        let acc = &mut c[direction as usize];
        acc.count += 1;
        acc.bytes += bytes;
        acc.time += time;
    }

    /// A transform took `path`.
    pub fn record_transform_path(&self, path: TransformPath) {
        self.inner.paths[path as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A session was created (`recreated`: to replace an earlier one).
    pub fn record_session(&self, recreated: bool) {
        self.inner.sessions_created.fetch_add(1, Ordering::Relaxed);
        if recreated {
            self.inner
                .sessions_recreated
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A unit of an older generation reached a later stage and was delivered (`dropped`
    /// false) or dropped (`dropped` true).
    pub fn record_stale(&self, dropped: bool) {
        let c = if dropped {
            &self.inner.stale_dropped
        } else {
            &self.inner.stale_delivered
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// A decode session's account of frames out against pictures in (added up).
    pub fn record_pictures(&self, counts: PictureCounts) {
        let mut p = lock(&self.inner.pictures);
        p.counted += counts.counted;
        p.lost += counts.lost;
        p.extra += counts.extra;
        p.damaged += counts.damaged;
        p.concealed += counts.concealed;
    }

    /// Everything recorded so far.
    pub fn report(&self) -> MetricsReport {
        let i = &self.inner;
        let copies = lock(&i.copies);
        let copy = |a: &CopyAcc| CopyStats {
            count: a.count,
            bytes: a.bytes,
            time_ms: a.time.as_secs_f64() * 1e3,
        };
        let path = |p: TransformPath| i.paths[p as usize].load(Ordering::Relaxed);
        MetricsReport {
            schema_version: SCHEMA_VERSION,
            backend: lock(&i.backend).clone(),
            wall_time_ms: i.started.elapsed().as_secs_f64() * 1e3,
            stages: Stage::ALL
                .iter()
                .map(|&s| lock(&i.stages[s.index()]).report(s))
                .collect(),
            copies: CopyReport {
                host_to_device: copy(&copies[CopyDirection::HostToDevice as usize]),
                device_to_host: copy(&copies[CopyDirection::DeviceToHost as usize]),
            },
            transform_paths: TransformPathCounts {
                gpu: path(TransformPath::Gpu),
                cpu: path(TransformPath::Cpu),
                fallback: path(TransformPath::Fallback),
                skipped: path(TransformPath::Skipped),
            },
            sessions: SessionCounts {
                created: i.sessions_created.load(Ordering::Relaxed),
                recreated: i.sessions_recreated.load(Ordering::Relaxed),
            },
            stale: StaleCounts {
                delivered: i.stale_delivered.load(Ordering::Relaxed),
                dropped: i.stale_dropped.load(Ordering::Relaxed),
            },
            pictures: *lock(&i.pictures),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_latency_percentiles_come_from_what_was_recorded() {
        let m = Metrics::new();
        for us in 1..=100u64 {
            m.record(Stage::Transform, Duration::from_micros(us * 100));
        }
        let r = m.report();
        let t = r.stage(Stage::Transform).unwrap();
        assert_eq!(t.count, 100);
        // Values above the histogram's initial range (2047) make it grow, not clamp.
        assert!(t.latency.p50_us.abs_diff(5_000) <= 5, "{:?}", t.latency);
        assert!(t.latency.p99_us.abs_diff(9_900) <= 10, "{:?}", t.latency);
        assert!(t.latency.max_us.abs_diff(10_000) <= 10, "{:?}", t.latency);
        assert!((t.latency.mean_us - 5_050.0).abs() < 1.0, "{:?}", t.latency);
        assert_eq!(r.stage(Stage::Egress).unwrap().count, 0);
        assert_eq!(r.stages.len(), Stage::ALL.len());
    }

    #[test]
    fn counters_reach_the_report() {
        let m = Metrics::new();
        m.set_backend("software");
        m.record_transform_path(TransformPath::Gpu);
        m.record_transform_path(TransformPath::Fallback);
        m.record_transform_path(TransformPath::Fallback);
        m.record_copy(CopyDirection::HostToDevice, 1000, Duration::from_millis(2));
        m.record_session(false);
        m.record_session(true);
        m.record_stale(true);
        m.record_error(Stage::DecodeReap);
        m.record_queue_depth(Stage::Egress, 3, Some(4));
        m.record_queue_depth(Stage::Egress, 1, Some(4));
        let r = m.report();
        assert_eq!(r.backend.as_deref(), Some("software"));
        assert_eq!(
            r.transform_paths,
            TransformPathCounts {
                gpu: 1,
                cpu: 0,
                fallback: 2,
                skipped: 0
            }
        );
        assert_eq!(r.copies.host_to_device.bytes, 1000);
        assert_eq!(r.copies.device_to_host.count, 0);
        assert_eq!(
            r.sessions,
            SessionCounts {
                created: 2,
                recreated: 1
            }
        );
        assert_eq!(r.stale.dropped, 1);
        assert_eq!(r.stage(Stage::DecodeReap).unwrap().errors, 1);
        let q = r.stage(Stage::Egress).unwrap().queue.unwrap();
        assert_eq!((q.peak, q.samples, q.capacity), (3, 2, Some(4)));
        assert!((q.mean - 2.0).abs() < 1e-9);
    }

    #[test]
    fn jitter_is_the_change_between_consecutive_intervals() {
        let mut s = StageRecorder::new();
        let t0 = Instant::now();
        // Arrivals at 0, 10, 20, 50 ms: intervals 10, 10, 30 -> deviations 0, 20 ms.
        for ms in [0u64, 10, 20, 50] {
            s.record(Duration::ZERO, t0 + Duration::from_millis(ms));
        }
        let r = s.report(Stage::Egress);
        assert_eq!(r.jitter.samples, 2);
        assert!(r.jitter.p50_us <= 10, "{:?}", r.jitter);
        assert!(r.jitter.p99_us.abs_diff(20_000) <= 20, "{:?}", r.jitter);
    }

    #[test]
    fn metrics_report_round_trips_through_json() {
        let m = Metrics::new();
        m.set_backend("nvidia");
        for st in Stage::ALL {
            m.record(st, Duration::from_micros(250));
        }
        m.set_queue(
            Stage::Transform,
            QueueDepthReport {
                capacity: Some(8),
                samples: 10,
                mean: 2.5,
                p95: 6,
                peak: 7,
            },
        );
        m.record_transform_path(TransformPath::Cpu);
        let report = m.report();
        let json = report.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["schema_version"], SCHEMA_VERSION);
        assert_eq!(value["stages"][3]["stage"], "transform");
        assert_eq!(value["stages"][3]["queue"]["peak"], 7);
        assert_eq!(value["transform_paths"]["cpu"], 1);
        for key in ["copies", "sessions", "stale", "wall_time_ms", "backend"] {
            assert!(value.get(key).is_some(), "missing {key} in {json}");
        }
        let back: MetricsReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn table_lists_every_stage_and_the_counters() {
        let m = Metrics::new();
        m.record(Stage::Egress, Duration::from_micros(42));
        let table = m.report().to_string();
        for st in Stage::ALL {
            assert!(table.contains(st.name()), "{table}");
        }
        assert!(table.contains("transform paths: gpu 0, cpu 0"), "{table}");
    }
}
