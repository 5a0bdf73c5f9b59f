//! Which backend a session runs on: the name callers pick from. The adapters themselves live
//! in `crate::backend`, which re-exports this type.

use super::error::{Result, VideoError};
use std::fmt;

/// Which backend a session uses.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The best backend available at run time: NVIDIA, then VideoToolbox, then software.
    #[default]
    Auto,
    /// CPU codecs (OpenH264; FFmpeg's libraries with `sw-ffmpeg`).
    Software,
    /// NVDEC / NVENC.
    Nvidia,
    /// Apple VideoToolbox.
    #[serde(rename = "videotoolbox")]
    VideoToolbox,
}

impl Backend {
    /// The concrete backends, in `Auto`'s order of preference.
    pub const CONCRETE: [Backend; 3] = [Backend::Nvidia, Backend::VideoToolbox, Backend::Software];

    /// Lower-case name as used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::Software => "software",
            Backend::Nvidia => "nvidia",
            Backend::VideoToolbox => "videotoolbox",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = VideoError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Backend::Auto),
            "software" | "sw" | "cpu" => Ok(Backend::Software),
            "nvidia" | "nv" | "nvdec" | "nvenc" | "cuda" => Ok(Backend::Nvidia),
            "videotoolbox" | "vt" => Ok(Backend::VideoToolbox),
            other => Err(VideoError::invalid_input(format!(
                "unknown backend `{other}` (known: auto, software, nvidia, videotoolbox)"
            ))),
        }
    }
}
