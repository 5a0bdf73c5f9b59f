//! How busy a device's engines were during a run: a thread reads a [`UtilizationSource`]
//! (on NVIDIA, NVML's decoder and GPU utilisation, see
//! [`crate::diagnostics::utilization_monitor`]) at a fixed period until the run ends, and
//! [`UtilizationMonitor::stop`] summarises the readings. A report then says how far a run is
//! from the engines' ceiling, not only from a peer.

use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// One reading, in percent of the sampling period the device reports over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtilizationSample {
    /// Video decode engines (NVDEC: the average over all engines of the device).
    pub decoder: u32,
    /// The GPU's compute engines (some kernel running).
    pub gpu: u32,
}

/// Something that reads a device's utilisation.
pub trait UtilizationSource: Send + 'static {
    /// What is read (`NVML, GPU 0: NVIDIA H200`).
    fn describe(&self) -> String;
    /// One reading; `None` when the device gave none this time.
    fn read(&mut self) -> Option<UtilizationSample>;
}

/// Readings of a run, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UtilizationReport {
    /// What was read.
    pub source: String,
    /// Readings taken.
    pub samples: usize,
    /// Mean decoder utilisation, percent.
    pub decoder_mean: f64,
    /// Highest decoder utilisation, percent.
    pub decoder_max: u32,
    /// Mean GPU utilisation, percent.
    pub gpu_mean: f64,
    /// Highest GPU utilisation, percent.
    pub gpu_max: u32,
}

impl UtilizationReport {
    /// The summary of `samples` read from `source`.
    pub fn of(source: String, samples: &[UtilizationSample]) -> Self {
        let mean = |f: fn(&UtilizationSample) -> u32| {
            if samples.is_empty() {
                0.0
            } else {
                samples.iter().map(|s| f64::from(f(s))).sum::<f64>() / samples.len() as f64
            }
        };
        Self {
            source,
            samples: samples.len(),
            decoder_mean: mean(|s| s.decoder),
            decoder_max: samples.iter().map(|s| s.decoder).max().unwrap_or(0),
            gpu_mean: mean(|s| s.gpu),
            gpu_max: samples.iter().map(|s| s.gpu).max().unwrap_or(0),
        }
    }
}

impl UtilizationReport {
    /// The readings of several runs of the same source taken as one (means weighted by
    /// readings, the highest peak); `None` when there is no reading at all.
    pub fn combine(reports: &[UtilizationReport]) -> Option<Self> {
        let samples: usize = reports.iter().map(|r| r.samples).sum();
        if samples == 0 {
            return None;
        }
        let mean = |f: fn(&UtilizationReport) -> f64| {
            reports.iter().map(|r| f(r) * r.samples as f64).sum::<f64>() / samples as f64
        };
        Some(Self {
            source: reports.iter().find(|r| r.samples > 0)?.source.clone(),
            samples,
            decoder_mean: mean(|r| r.decoder_mean),
            decoder_max: reports.iter().map(|r| r.decoder_max).max().unwrap_or(0),
            gpu_mean: mean(|r| r.gpu_mean),
            gpu_max: reports.iter().map(|r| r.gpu_max).max().unwrap_or(0),
        })
    }
}

impl std::fmt::Display for UtilizationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "decoder {:.0}% mean, {}% peak; GPU {:.0}% mean, {}% peak ({} readings, {})",
            self.decoder_mean,
            self.decoder_max,
            self.gpu_mean,
            self.gpu_max,
            self.samples,
            self.source
        )
    }
}

/// Reads a [`UtilizationSource`] on a thread of its own until [`UtilizationMonitor::stop`].
pub struct UtilizationMonitor {
    stop: Arc<AtomicBool>,
    /// The readings and what the source says of itself once done (it may learn more of its
    /// device while it reads).
    thread: Option<JoinHandle<(Vec<UtilizationSample>, String)>>,
    source: String,
}

impl UtilizationMonitor {
    /// Starts reading `source` every `period` (the first reading at once).
    pub fn start(mut source: impl UtilizationSource, period: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let describe = source.describe();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("video-hw-utilization".into())
            .spawn(move || {
                let mut samples = Vec::new();
                while !flag.load(Ordering::Acquire) {
                    samples.extend(source.read());
                    std::thread::park_timeout(period);
                }
                (samples, source.describe())
            })
            .ok();
        Self {
            stop,
            thread,
            source: describe,
        }
    }

    /// Stops reading and summarises what was read.
    pub fn stop(mut self) -> UtilizationReport {
        let (samples, source) = self.finish();
        UtilizationReport::of(source, &samples)
    }

    fn finish(&mut self) -> (Vec<UtilizationSample>, String) {
        self.stop.store(true, Ordering::Release);
        let done = self.thread.take().and_then(|t| {
            t.thread().unpark();
            t.join().ok()
        });
        done.unwrap_or_else(|| (Vec::new(), self.source.clone()))
    }
}

impl Drop for UtilizationMonitor {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device whose decoder gets busier at every reading; counts the readings.
    struct Ramp(u32, Arc<std::sync::atomic::AtomicU32>);

    impl UtilizationSource for Ramp {
        fn describe(&self) -> String {
            "ramp".into()
        }
        fn read(&mut self) -> Option<UtilizationSample> {
            self.0 += 10;
            self.1.fetch_add(1, Ordering::SeqCst);
            (self.0 != 30).then_some(UtilizationSample {
                decoder: self.0.min(100),
                gpu: 5,
            })
        }
    }

    #[test]
    fn the_report_gives_mean_and_peak_of_the_readings() {
        let samples = [
            UtilizationSample {
                decoder: 84,
                gpu: 10,
            },
            UtilizationSample {
                decoder: 100,
                gpu: 30,
            },
        ];
        let r = UtilizationReport::of("x".into(), &samples);
        assert_eq!((r.samples, r.decoder_max, r.gpu_max), (2, 100, 30));
        assert!((r.decoder_mean - 92.0).abs() < 1e-9);
        assert!((r.gpu_mean - 20.0).abs() < 1e-9);
        assert!(r.to_string().starts_with("decoder 92% mean, 100% peak"));
    }

    #[test]
    fn no_reading_gives_zeros_not_nan() {
        let r = UtilizationReport::of("none".into(), &[]);
        assert_eq!(r.samples, 0);
        assert_eq!(r.decoder_mean, 0.0);
    }

    #[test]
    fn the_monitor_reads_until_stopped_and_skips_missing_readings() {
        let reads = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let m = UtilizationMonitor::start(Ramp(0, reads.clone()), Duration::from_millis(1));
        // Wait until four readings are in, however slow the machine.
        while reads.load(Ordering::SeqCst) < 4 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let r = m.stop();
        assert_eq!(r.source, "ramp");
        assert!(r.samples >= 3, "{r:?}");
        // The third reading (30%) was missing: never counted.
        assert_eq!(r.gpu_max, 5);
        assert!(r.decoder_max >= 20);
    }

    #[test]
    fn runs_combine_into_means_weighted_by_readings_and_the_highest_peak() {
        let a = UtilizationReport::of(
            "NVML".into(),
            &[UtilizationSample {
                decoder: 100,
                gpu: 10,
            }; 3],
        );
        let b = UtilizationReport::of(
            "NVML".into(),
            &[UtilizationSample {
                decoder: 20,
                gpu: 90,
            }],
        );
        let c = UtilizationReport::combine(&[a, b]).unwrap();
        assert_eq!(c.samples, 4);
        assert!((c.decoder_mean - 80.0).abs() < 1e-9, "{c}");
        assert!((c.gpu_mean - 30.0).abs() < 1e-9, "{c}");
        assert_eq!((c.decoder_max, c.gpu_max), (100, 90));
        assert!(UtilizationReport::combine(&[]).is_none());
    }
}
