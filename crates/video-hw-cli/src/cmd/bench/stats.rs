//! Summary statistics of repeated timings: mean, median, p95, coefficient of variation, fps.

use serde::Serialize;

/// The timings of one side of a workload, in seconds, and what they mean in frames/s.
#[derive(Debug, Clone, Serialize)]
pub struct TimingStats {
    /// Timed runs (warm-up runs excluded).
    pub runs: usize,
    /// Frames processed by one run (all sessions together).
    pub frames: u64,
    /// Every run's wall time, in run order.
    pub seconds: Vec<f64>,
    /// Mean wall time.
    pub mean_s: f64,
    /// Median wall time.
    pub median_s: f64,
    /// 95th percentile wall time (nearest rank).
    pub p95_s: f64,
    /// Standard deviation / mean (sample standard deviation; 0 for a single run).
    pub cv: f64,
    /// Frames per second at the median time.
    pub fps: f64,
}

impl TimingStats {
    /// Summarises `seconds` (one entry per run) of runs that each processed `frames`.
    pub fn new(frames: u64, seconds: Vec<f64>) -> Self {
        let runs = seconds.len();
        let mut sorted = seconds.clone();
        sorted.sort_by(f64::total_cmp);
        let mean = if runs == 0 {
            0.0
        } else {
            sorted.iter().sum::<f64>() / runs as f64
        };
        let median = match runs {
            0 => 0.0,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        let p95 = if runs == 0 {
            0.0
        } else {
            // Nearest rank: the smallest value with at least 95 % of the runs at or below it.
            let rank = (0.95 * runs as f64).ceil() as usize;
            sorted[rank.clamp(1, runs) - 1]
        };
        let cv = if runs < 2 || mean <= 0.0 {
            0.0
        } else {
            let var = sorted.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (runs - 1) as f64;
            var.sqrt() / mean
        };
        let fps = if median > 0.0 {
            frames as f64 / median
        } else {
            0.0
        };
        Self {
            runs,
            frames,
            seconds,
            mean_s: mean,
            median_s: median,
            p95_s: p95,
            cv,
            fps,
        }
    }
}

/// `ours / theirs`, or `None` when either side has no rate.
pub fn ratio(ours: f64, theirs: f64) -> Option<f64> {
    (ours > 0.0 && theirs > 0.0).then(|| ours / theirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_run_count_takes_the_middle_value_as_median() {
        let s = TimingStats::new(100, vec![3.0, 1.0, 2.0]);
        assert_eq!(s.median_s, 2.0);
        assert_eq!(s.mean_s, 2.0);
        assert_eq!(s.p95_s, 3.0);
        assert_eq!(s.fps, 50.0);
        // Sample standard deviation of 1, 2, 3 is 1.
        assert!((s.cv - 0.5).abs() < 1e-12, "{}", s.cv);
        assert_eq!(s.seconds, vec![3.0, 1.0, 2.0], "run order is kept");
    }

    #[test]
    fn even_run_count_averages_the_two_middle_values() {
        let s = TimingStats::new(10, vec![1.0, 4.0, 2.0, 3.0]);
        assert_eq!(s.median_s, 2.5);
        assert_eq!(s.p95_s, 4.0);
    }

    #[test]
    fn single_run_has_zero_variation_and_no_runs_give_zero_rate() {
        let one = TimingStats::new(10, vec![2.0]);
        assert_eq!((one.cv, one.fps, one.p95_s), (0.0, 5.0, 2.0));
        let none = TimingStats::new(10, vec![]);
        assert_eq!((none.runs, none.fps, none.median_s), (0, 0.0, 0.0));
    }

    #[test]
    fn ratio_needs_two_positive_rates() {
        assert_eq!(ratio(30.0, 15.0), Some(2.0));
        assert_eq!(ratio(30.0, 0.0), None);
    }
}
