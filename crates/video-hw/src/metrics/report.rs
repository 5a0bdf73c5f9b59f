//! The one metrics schema every backend reports in, as JSON (serde) and as a table (`Display`).

use super::Stage;
use std::fmt;

/// Version of the [`MetricsReport`] schema; bumped when a field changes meaning.
pub const SCHEMA_VERSION: u32 = 1;

/// Percentiles of a latency distribution, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct LatencySummary {
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 95th percentile.
    pub p95_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Largest value seen.
    pub max_us: u64,
}

/// Output jitter: how much each inter-arrival interval differs from the one before
/// (|d(i) - d(i-1)|), in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct JitterSummary {
    /// Number of interval pairs measured.
    pub samples: u64,
    /// Median.
    pub p50_us: u64,
    /// 95th percentile.
    pub p95_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
}

/// Depth of a queue, sampled each time an item goes in.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct QueueDepthReport {
    /// The bound, when the queue has one.
    pub capacity: Option<usize>,
    /// Number of samples.
    pub samples: u64,
    /// Mean depth.
    pub mean: f64,
    /// 95th percentile of the depth.
    pub p95: u64,
    /// Deepest seen.
    pub peak: u64,
}

/// Figures of one stage.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StageReport {
    /// Which stage.
    pub stage: Stage,
    /// Units the stage completed.
    pub count: u64,
    /// Errors the stage reported.
    pub errors: u64,
    /// Time per unit (see [`Stage`] for what each stage times).
    pub latency: LatencySummary,
    /// Regularity of the stage's output.
    pub jitter: JitterSummary,
    /// The queue in front of the stage, when it has one.
    pub queue: Option<QueueDepthReport>,
}

/// Bytes and time of copies in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct CopyStats {
    /// Number of copies.
    pub count: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Time spent copying, milliseconds.
    pub time_ms: f64,
}

/// Host <-> device copies.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct CopyReport {
    /// Uploads.
    pub host_to_device: CopyStats,
    /// Downloads.
    pub device_to_host: CopyStats,
}

/// How many transforms took each path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct TransformPathCounts {
    /// On the GPU.
    pub gpu: u64,
    /// On the CPU, no GPU path being available for the frame.
    pub cpu: u64,
    /// On the CPU after the GPU path failed.
    pub fallback: u64,
    /// Nothing to do (already in the requested form, or `KeepNative`).
    pub skipped: u64,
}

/// Sessions opened for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SessionCounts {
    /// Sessions created.
    pub created: u64,
    /// Of which re-creations (after a device loss or a reconfiguration needing a new session).
    pub recreated: u64,
}

/// Units of an older generation that reached a later stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct StaleCounts {
    /// Delivered anyway (policy `Deliver`).
    pub delivered: u64,
    /// Dropped and counted here (policy `DropAndCount`).
    pub dropped: u64,
}

/// Frames out against pictures in, as the decode sessions counted them at their flushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PictureCounts {
    /// Pictures the input holds for output (counted by the bitstream layer).
    pub counted: u64,
    /// Counted pictures that never came out (reported as an error, unless damaged units
    /// skipped under [`crate::OnError::Skip`] explain them).
    pub lost: u64,
    /// Frames beyond the counted pictures (each also reported as an error).
    pub extra: u64,
    /// Damaged access units skipped under [`crate::OnError::Skip`].
    #[serde(default)]
    pub damaged: u64,
    /// Frames delivered with damage the decoder concealed.
    #[serde(default)]
    pub concealed: u64,
}

/// The metrics of one run, the same schema for every backend.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MetricsReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The backend that served the run (`software`, `nvidia`, `videotoolbox`), when known.
    pub backend: Option<String>,
    /// Time from the recorder's creation to the report, milliseconds.
    pub wall_time_ms: f64,
    /// One entry per stage, in pipeline order (stages that saw nothing included).
    pub stages: Vec<StageReport>,
    /// Host <-> device copies.
    pub copies: CopyReport,
    /// Transform paths taken.
    pub transform_paths: TransformPathCounts,
    /// Sessions (re)created.
    pub sessions: SessionCounts,
    /// Stale-generation units.
    pub stale: StaleCounts,
    /// Frames out against pictures in.
    #[serde(default)]
    pub pictures: PictureCounts,
}

impl MetricsReport {
    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The entry of `stage`.
    pub fn stage(&self, stage: Stage) -> Option<&StageReport> {
        self.stages.iter().find(|s| s.stage == stage)
    }
}

impl fmt::Display for MetricsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "video-hw metrics (backend: {}, wall {:.1} ms)",
            self.backend.as_deref().unwrap_or("unknown"),
            self.wall_time_ms
        )?;
        writeln!(
            f,
            "{:<14} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>17}",
            "stage",
            "count",
            "errors",
            "p50 us",
            "p95 us",
            "p99 us",
            "max us",
            "jit p50",
            "jit p95",
            "jit p99",
            "queue mean/p95/pk"
        )?;
        for s in &self.stages {
            let queue = s.queue.map_or_else(
                || "-".to_string(),
                |q| format!("{:.1}/{}/{}", q.mean, q.p95, q.peak),
            );
            writeln!(
                f,
                "{:<14} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>17}",
                s.stage.name(),
                s.count,
                s.errors,
                s.latency.p50_us,
                s.latency.p95_us,
                s.latency.p99_us,
                s.latency.max_us,
                s.jitter.p50_us,
                s.jitter.p95_us,
                s.jitter.p99_us,
                queue
            )?;
        }
        let c = &self.copies;
        writeln!(
            f,
            "copies: host->device {} ({} B, {:.2} ms); device->host {} ({} B, {:.2} ms)",
            c.host_to_device.count,
            c.host_to_device.bytes,
            c.host_to_device.time_ms,
            c.device_to_host.count,
            c.device_to_host.bytes,
            c.device_to_host.time_ms
        )?;
        let t = &self.transform_paths;
        writeln!(
            f,
            "transform paths: gpu {}, cpu {}, fallback {}, skipped {}",
            t.gpu, t.cpu, t.fallback, t.skipped
        )?;
        writeln!(
            f,
            "sessions: created {}, recreated {}; stale units: delivered {}, dropped {}",
            self.sessions.created,
            self.sessions.recreated,
            self.stale.delivered,
            self.stale.dropped
        )?;
        let p = &self.pictures;
        writeln!(
            f,
            "pictures: counted {}, lost {}, extra frames {}, damaged units skipped {}, concealed {}",
            p.counted, p.lost, p.extra, p.damaged, p.concealed
        )
    }
}
