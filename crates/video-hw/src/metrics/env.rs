//! Environment switches. Configuration structs come first; the environment only fills their
//! defaults, through the pure `from_vars` functions (tested without touching the process env).

use crate::api::backend_kind::Backend;

/// Whether an environment value switches something on (`1`, `true`, `yes`, `on`).
pub fn is_truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// The per-backend prefix of the older variables (`NV`, `VT`), if the backend has one.
fn legacy_prefix(backend: Backend) -> Option<&'static str> {
    match backend {
        Backend::Nvidia => Some("VIDEO_HW_NV"),
        Backend::VideoToolbox => Some("VIDEO_HW_VT"),
        _ => None,
    }
}

/// Whether to print the metrics report when a session on `backend` ends, from a variable
/// lookup: `VIDEO_HW_METRICS` for every backend, and the older `VIDEO_HW_NV_METRICS` /
/// `VIDEO_HW_VT_METRICS` for their backend.
pub fn metrics_requested_from(backend: Backend, var: impl Fn(&str) -> Option<String>) -> bool {
    let on = |name: &str| var(name).is_some_and(|v| is_truthy(&v));
    on("VIDEO_HW_METRICS") || legacy_prefix(backend).is_some_and(|p| on(&format!("{p}_METRICS")))
}

/// [`metrics_requested_from`] on the process environment.
pub fn metrics_requested(backend: Backend) -> bool {
    metrics_requested_from(backend, |n| std::env::var(n).ok())
}

/// Prints `report` as a table to stderr when the environment asks for metrics on `backend`
/// (see [`metrics_requested`]); returns whether it printed. Call it when a session or a run ends.
pub fn print_if_requested(backend: Backend, report: &super::MetricsReport) -> bool {
    let print = metrics_requested(backend);
    if print {
        eprintln!("{report}");
    }
    print
}

/// What the environment says about the scheduler for one backend
/// (`VIDEO_HW_NV_PIPELINE=1`, `VIDEO_HW_VT_PIPELINE=1`, `VIDEO_HW_PIPELINE=1` for any, and the
/// matching `_QUEUE=N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PipelineSwitch {
    /// Run sessions of this backend through the scheduler.
    pub enabled: bool,
    /// Queue depth between stages, when given.
    pub queue_depth: Option<usize>,
}

impl PipelineSwitch {
    /// From a variable lookup. A `_QUEUE` value that is not a positive integer is ignored.
    pub fn from_vars(backend: Backend, var: impl Fn(&str) -> Option<String>) -> Self {
        let mut prefixes = vec!["VIDEO_HW"];
        prefixes.extend(legacy_prefix(backend));
        let mut s = Self::default();
        for p in prefixes {
            if var(&format!("{p}_PIPELINE")).is_some_and(|v| is_truthy(&v)) {
                s.enabled = true;
            }
            if let Some(n) = var(&format!("{p}_PIPELINE_QUEUE"))
                .or_else(|| var(&format!("{p}_QUEUE")))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .filter(|&n| n > 0)
            {
                s.queue_depth = Some(n);
            }
        }
        s
    }

    /// [`PipelineSwitch::from_vars`] on the process environment.
    pub fn from_env(backend: Backend) -> Self {
        Self::from_vars(backend, |n| std::env::var(n).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |n| map.get(n).cloned()
    }

    #[test]
    fn metrics_switch_honours_the_generic_and_the_legacy_variables() {
        assert!(metrics_requested_from(
            Backend::Software,
            vars(&[("VIDEO_HW_METRICS", "1")])
        ));
        assert!(metrics_requested_from(
            Backend::Nvidia,
            vars(&[("VIDEO_HW_NV_METRICS", "1")])
        ));
        assert!(!metrics_requested_from(
            Backend::Software,
            vars(&[("VIDEO_HW_NV_METRICS", "1")])
        ));
        assert!(metrics_requested_from(
            Backend::VideoToolbox,
            vars(&[("VIDEO_HW_VT_METRICS", "yes")])
        ));
        assert!(!metrics_requested_from(
            Backend::Nvidia,
            vars(&[("VIDEO_HW_METRICS", "0")])
        ));
        assert!(!metrics_requested_from(Backend::Nvidia, vars(&[])));
    }

    #[test]
    fn pipeline_switch_reads_the_backend_variables_and_queue_depth() {
        let s = PipelineSwitch::from_vars(
            Backend::Nvidia,
            vars(&[
                ("VIDEO_HW_NV_PIPELINE", "1"),
                ("VIDEO_HW_NV_PIPELINE_QUEUE", "6"),
            ]),
        );
        assert_eq!(
            s,
            PipelineSwitch {
                enabled: true,
                queue_depth: Some(6)
            }
        );
        let s = PipelineSwitch::from_vars(
            Backend::VideoToolbox,
            vars(&[("VIDEO_HW_NV_PIPELINE", "1"), ("VIDEO_HW_VT_QUEUE", "3")]),
        );
        assert_eq!(
            s,
            PipelineSwitch {
                enabled: false,
                queue_depth: Some(3)
            }
        );
        let s = PipelineSwitch::from_vars(
            Backend::Software,
            vars(&[
                ("VIDEO_HW_PIPELINE", "on"),
                ("VIDEO_HW_PIPELINE_QUEUE", "zero"),
            ]),
        );
        assert_eq!(
            s,
            PipelineSwitch {
                enabled: true,
                queue_depth: None
            }
        );
    }
}
