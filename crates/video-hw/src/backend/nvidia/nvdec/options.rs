//! The decoder's tuning: [`NvidiaOptions`] from the session's config, with the environment's
//! overrides applied here and nowhere else (the variables are listed on [`NvidiaOptions`]).

use crate::api::config::NvidiaOptions;
use crate::backend::nvidia::cuda::pitch_copy::CopyPath;

/// `options` with every override set in the environment applied.
pub(crate) fn effective(options: &NvidiaOptions) -> NvidiaOptions {
    with_overrides(*options, |name| std::env::var(name).ok())
}

/// `options` with the overrides `lookup` finds applied (a value that does not parse is
/// ignored), and the display delay held to NVDEC's range.
pub(crate) fn with_overrides(
    mut options: NvidiaOptions,
    lookup: impl Fn(&str) -> Option<String>,
) -> NvidiaOptions {
    let get = |name: &str| lookup(name).map(|v| v.trim().to_ascii_lowercase());
    if let Some(d) = get("VIDEO_HW_NV_DISPLAY_DELAY").and_then(|v| v.parse().ok()) {
        options.display_delay = d;
    }
    options.display_delay = options.display_delay.min(NvidiaOptions::MAX_DISPLAY_DELAY);
    match get("VIDEO_HW_NV_HOST_COPY").as_deref() {
        Some("sync" | "immediate") => options.overlap_host_copies = false,
        Some("async" | "overlapped") => options.overlap_host_copies = true,
        _ => {}
    }
    if let Some(n) = get("VIDEO_HW_NV_PIN_MAX").and_then(|v| v.parse().ok()) {
        options.pin_limit = Some(n);
    }
    match get("VIDEO_HW_NV_END_OF_PICTURE").as_deref() {
        Some("0") => options.end_of_picture = false,
        Some("1") => options.end_of_picture = true,
        _ => {}
    }
    match get("VIDEO_HW_NV_KEEP_DECODERS").as_deref() {
        Some("0") => options.keep_idle_decoders = false,
        Some("1") => options.keep_idle_decoders = true,
        _ => {}
    }
    if let Some(v) = get("VIDEO_HW_NV_COPY") {
        options.copy_kernel = CopyPath::from_value(Some(&v)) == CopyPath::Kernel;
    }
    options
}

/// When copies of host outputs complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostCopyMode {
    /// In the background, while the next packet is parsed and decoded; the frame comes out of
    /// the next `decode` call (one packet later).
    Overlapped,
    /// Before the `decode` call that displays the picture returns (the lowest latency).
    Immediate,
}

impl HostCopyMode {
    /// Overlapped when asked for and the parser holds pictures back (a display delay above
    /// 0); else immediate.
    pub fn of(options: &NvidiaOptions) -> Self {
        if options.overlap_host_copies && options.display_delay > 0 {
            Self::Overlapped
        } else {
            Self::Immediate
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_environment_overrides_the_config_only_where_a_variable_is_set_and_parses() {
        let config = NvidiaOptions {
            display_delay: 2,
            overlap_host_copies: false,
            pin_limit: Some(3),
            end_of_picture: false,
            copy_kernel: true,
            keep_idle_decoders: false,
        };
        assert_eq!(with_overrides(config, env(&[])), config);
        assert_eq!(
            with_overrides(config, env(&[("VIDEO_HW_NV_DISPLAY_DELAY", "x")])),
            config
        );
        let all = with_overrides(
            config,
            env(&[
                ("VIDEO_HW_NV_DISPLAY_DELAY", " 8 "),
                ("VIDEO_HW_NV_HOST_COPY", "ASYNC"),
                ("VIDEO_HW_NV_PIN_MAX", "5"),
                ("VIDEO_HW_NV_END_OF_PICTURE", "1"),
                ("VIDEO_HW_NV_COPY", "engine"),
                ("VIDEO_HW_NV_KEEP_DECODERS", "1"),
            ]),
        );
        assert_eq!(
            all,
            NvidiaOptions {
                display_delay: 8,
                overlap_host_copies: true,
                pin_limit: Some(5),
                end_of_picture: true,
                copy_kernel: false,
                keep_idle_decoders: true,
            }
        );
        let defaults = with_overrides(
            NvidiaOptions::default(),
            env(&[
                ("VIDEO_HW_NV_DISPLAY_DELAY", "99"),
                ("VIDEO_HW_NV_HOST_COPY", "sync"),
                ("VIDEO_HW_NV_END_OF_PICTURE", "0"),
                ("VIDEO_HW_NV_COPY", "Kernel"),
                ("VIDEO_HW_NV_KEEP_DECODERS", "0"),
            ]),
        );
        assert_eq!(defaults.display_delay, NvidiaOptions::MAX_DISPLAY_DELAY);
        assert!(!defaults.overlap_host_copies && !defaults.end_of_picture);
        assert!(defaults.copy_kernel && !defaults.keep_idle_decoders);
    }

    #[test]
    fn host_copies_overlap_the_next_packet_unless_sync_or_no_display_delay_is_asked_for() {
        let mode = |overlap, delay| {
            HostCopyMode::of(&NvidiaOptions {
                overlap_host_copies: overlap,
                display_delay: delay,
                ..NvidiaOptions::default()
            })
        };
        assert_eq!(
            HostCopyMode::of(&NvidiaOptions::default()),
            HostCopyMode::Overlapped
        );
        assert_eq!(mode(true, 1), HostCopyMode::Overlapped);
        assert_eq!(mode(false, 4), HostCopyMode::Immediate);
        assert_eq!(mode(true, 0), HostCopyMode::Immediate);
    }
}
