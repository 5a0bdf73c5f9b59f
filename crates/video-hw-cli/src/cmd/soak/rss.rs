//! Host memory of this process (resident set size) and the trend of a series of samples.

/// Where the resident set size is read from on this platform, or `None` where it is not.
pub fn source() -> Option<&'static str> {
    cfg!(target_os = "linux").then_some("/proc/self/statm (resident pages x page size)")
}

/// The resident set size of this process in MiB, or `None` where it cannot be read.
pub fn current_mb() -> Option<f64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some((pages * page_size()?) as f64 / (1024.0 * 1024.0))
}

/// The page size, from the `KernelPageSize` of the first mapping (statm counts pages).
fn page_size() -> Option<u64> {
    use std::sync::OnceLock;
    static PAGE: OnceLock<Option<u64>> = OnceLock::new();
    *PAGE.get_or_init(|| {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let line = smaps.lines().find(|l| l.starts_with("KernelPageSize:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    })
}

/// Least-squares slope of `y` over `x` (`(x, y)` pairs), `None` with fewer than two distinct `x`.
pub fn slope(samples: &[(f64, f64)]) -> Option<f64> {
    let n = samples.len() as f64;
    if samples.len() < 2 {
        return None;
    }
    let mx = samples.iter().map(|s| s.0).sum::<f64>() / n;
    let my = samples.iter().map(|s| s.1).sum::<f64>() / n;
    let sxx: f64 = samples.iter().map(|s| (s.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = samples.iter().map(|s| (s.0 - mx) * (s.1 - my)).sum();
    Some(sxy / sxx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line_is_exact_and_noise_averages_out() {
        let line: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0 + 2.0 * i as f64)).collect();
        assert!((slope(&line).unwrap() - 2.0).abs() < 1e-12);
        let flat_noisy = [
            (0.0, 10.0),
            (1.0, 12.0),
            (2.0, 10.0),
            (3.0, 12.0),
            (4.0, 10.0),
            (5.0, 12.0),
        ];
        assert!(slope(&flat_noisy).unwrap().abs() < 0.2);
        assert_eq!(slope(&[(1.0, 1.0)]), None);
        assert_eq!(slope(&[(1.0, 1.0), (1.0, 2.0)]), None);
    }

    #[test]
    fn resident_size_is_positive_where_it_can_be_read() {
        match current_mb() {
            Some(mb) => assert!(mb > 0.1, "{mb}"),
            None => assert!(source().is_none()),
        }
    }
}
