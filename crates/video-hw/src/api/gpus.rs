//! Which GPUs a decode may use ([`GpuSelection`]) and what one GPU offers ([`GpuInfo`]).
//! A single session runs on [`crate::DecoderConfig::gpu`]; a [`crate::DecodePool`] and a
//! parallel decode ([`crate::ParallelPlan::on_gpus`]) spread sessions over a selection.

use crate::api::codec::Codec;
use crate::api::error::{Result, VideoError};

/// The GPUs a pool or a parallel decode may use: every GPU the driver reports, or the ones
/// listed (as the driver numbers them: CUDA device ordinals on NVIDIA). Reads `all` or a
/// comma-separated list such as `0,1`, as `--gpus` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GpuSelection {
    /// Every GPU the driver reports.
    #[default]
    All,
    /// These GPUs, in this order, each once.
    List(Vec<u32>),
}

impl GpuSelection {
    /// The GPUs of this selection among `count` GPUs (numbered from 0), or `Unsupported`
    /// naming the GPUs there are when one listed does not exist (`names`: the GPUs' names,
    /// by index, for the message).
    pub fn among(&self, count: u32, names: &[String]) -> Result<Vec<u32>> {
        match self {
            Self::All if count == 0 => Err(VideoError::unsupported("no GPU is present")),
            Self::All => Ok((0..count).collect()),
            Self::List(list) => {
                if let Some(missing) = list.iter().find(|g| **g >= count) {
                    return Err(VideoError::unsupported(format!(
                        "GPU {missing} does not exist: {}",
                        describe_gpus(count, names)
                    )));
                }
                Ok(list.clone())
            }
        }
    }
}

/// "the driver reports 2 GPUs: 0 (NVIDIA H200), 1 (NVIDIA H200)", for errors.
pub(crate) fn describe_gpus(count: u32, names: &[String]) -> String {
    if count == 0 {
        return "the driver reports no GPU".to_owned();
    }
    let listed: Vec<String> = (0..count)
        .map(|i| match names.get(i as usize) {
            Some(name) => format!("{i} ({name})"),
            None => i.to_string(),
        })
        .collect();
    format!(
        "the driver reports {count} GPU{}: {}",
        if count == 1 { "" } else { "s" },
        listed.join(", ")
    )
}

impl std::str::FromStr for GpuSelection {
    type Err = VideoError;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") {
            return Ok(Self::All);
        }
        let mut list: Vec<u32> = Vec::new();
        for part in s.split(',') {
            let part = part.trim();
            let gpu: u32 = part.parse().map_err(|_| {
                VideoError::invalid_input(format!(
                    "GPUs are `all` or GPU numbers separated by commas (such as `0,1`), not `{s}`"
                ))
            })?;
            if list.contains(&gpu) {
                return Err(VideoError::invalid_input(format!(
                    "GPU {gpu} is listed twice in `{s}`"
                )));
            }
            list.push(gpu);
        }
        Ok(Self::List(list))
    }
}

impl std::fmt::Display for GpuSelection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::List(list) => {
                let parts: Vec<String> = list.iter().map(u32::to_string).collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

/// One GPU as its driver describes it, for `probe` and for placing sessions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GpuInfo {
    /// The driver's number for it (CUDA device ordinal), as `DecoderConfig::gpu` takes it.
    pub index: u32,
    /// Its name (`NVIDIA H200`).
    pub name: String,
    /// Its PCI bus id (`0000:19:00.0`), which NVML and `nvidia-smi` also show.
    pub pci_bus_id: String,
    /// Device memory in bytes.
    pub memory_bytes: u64,
    /// Decode engines per codec it decodes, with the largest picture each takes.
    pub decoders: Vec<GpuDecoder>,
    /// Why some of its figures are missing, if they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The decode engines of one GPU for one codec.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GpuDecoder {
    /// The codec.
    pub codec: Codec,
    /// Engines that decode it at once (NVDEC's `nNumNVDECs`).
    pub engines: usize,
    /// Widest picture, in luma samples (8-bit 4:2:0).
    pub max_width: u32,
    /// Tallest picture, in luma samples (8-bit 4:2:0).
    pub max_height: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpus_read_all_and_lists() {
        assert_eq!("all".parse::<GpuSelection>().unwrap(), GpuSelection::All);
        assert_eq!("ALL".parse::<GpuSelection>().unwrap(), GpuSelection::All);
        assert_eq!(
            "0, 2".parse::<GpuSelection>().unwrap(),
            GpuSelection::List(vec![0, 2])
        );
        assert_eq!(GpuSelection::List(vec![1, 0]).to_string(), "1,0");
        assert_eq!(GpuSelection::All.to_string(), "all");
    }

    #[test]
    fn malformed_or_repeated_gpus_are_invalid_input() {
        for bad in ["", "0,", "one", "-1", "0,0", "0;1"] {
            let e = bad.parse::<GpuSelection>().unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad}: {e}");
        }
    }

    #[test]
    fn a_gpu_that_does_not_exist_is_unsupported_naming_the_ones_that_do() {
        let names = vec!["NVIDIA H200".to_owned()];
        let e = GpuSelection::List(vec![0, 1]).among(1, &names).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Unsupported);
        let msg = e.to_string();
        assert!(msg.contains("GPU 1 does not exist"), "{msg}");
        assert!(msg.contains("1 GPU: 0 (NVIDIA H200)"), "{msg}");
        assert_eq!(GpuSelection::All.among(2, &[]).unwrap(), vec![0, 1]);
        assert!(GpuSelection::All.among(0, &[]).is_err());
        assert_eq!(GpuSelection::List(vec![1]).among(2, &[]).unwrap(), vec![1]);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_selection_reads_back_as_written(list in proptest::collection::btree_set(0u32..64, 1..8)) {
            let selection = GpuSelection::List(list.into_iter().collect());
            prop_assert_eq!(selection.to_string().parse::<GpuSelection>().unwrap(), selection);
        }

        #[test]
        fn any_text_parses_or_is_invalid_input_never_a_panic(text in ".{0,40}") {
            if let Err(e) = text.parse::<GpuSelection>() {
                prop_assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
            }
        }
    }
}
