//! Pitched 2-D device-to-device copies on the multiprocessors (the `pitch_copy` kernel in
//! `kernels/`), an alternative to the copy engines for the GPU-output path
//! (`VIDEO_HW_NV_COPY=kernel`).

use super::{Context, Cubin, Kernel};
use crate::api::error::Result;
use cudarc::driver::sys::{CUdeviceptr, CUstream};
use std::ffi::{c_int, c_void};
use std::sync::Arc;

/// The kernel's PTX, generated from `kernels/pitch_copy.cu` by `scripts/build-ptx.py`.
const PTX: &str = include_str!("kernels/pitch_copy.ptx");
/// The same kernel built for sm_80 and sm_90 (no JIT at first use there).
const CUBINS: [Cubin; 2] = [
    Cubin {
        arch: (8, 0),
        image: include_bytes!("kernels/pitch_copy.sm_80.cubin"),
    },
    Cubin {
        arch: (9, 0),
        image: include_bytes!("kernels/pitch_copy.sm_90.cubin"),
    },
];

/// What copies a mapped surface into a pooled device buffer
/// ([`crate::NvidiaOptions::copy_kernel`], `VIDEO_HW_NV_COPY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CopyPath {
    /// `cuMemcpy2DAsync` (the copy engines): the default.
    Engine,
    /// The `pitch_copy` kernel (`VIDEO_HW_NV_COPY=kernel`).
    Kernel,
}

impl CopyPath {
    /// From the value of `VIDEO_HW_NV_COPY` (`kernel`; anything else or unset: engine).
    pub fn from_value(value: Option<&str>) -> Self {
        match value.map(|v| v.trim().to_ascii_lowercase()) {
            Some(v) if v == "kernel" => Self::Kernel,
            _ => Self::Engine,
        }
    }
}

/// Whether a copy of `rows` rows of `width_bytes` between these addresses and pitches suits
/// the kernel: 16-byte aligned addresses and pitches, and the row rounded up to 16 bytes
/// inside both pitches.
pub(crate) fn suits(
    src: CUdeviceptr,
    src_pitch: usize,
    dst: CUdeviceptr,
    dst_pitch: usize,
    width_bytes: usize,
) -> bool {
    let aligned = |v: u64| v.is_multiple_of(16);
    aligned(src)
        && aligned(dst)
        && aligned(src_pitch as u64)
        && aligned(dst_pitch as u64)
        && width_bytes.next_multiple_of(16) <= src_pitch.min(dst_pitch)
}

/// The loaded kernel of one session.
pub(crate) struct PitchCopy {
    kernel: Kernel,
}

impl PitchCopy {
    /// JIT-loads the PTX into `ctx`.
    pub fn load(ctx: Arc<Context>) -> Result<Self> {
        Ok(Self {
            kernel: Kernel::load(ctx, PTX, &CUBINS, "pitch_copy")?.0,
        })
    }

    /// Queues the copy on `stream`; `Ok(false)` (nothing queued) when the layout does not
    /// [`suits`] the kernel.
    #[allow(clippy::too_many_arguments)]
    pub fn copy(
        &self,
        stream: CUstream,
        src: CUdeviceptr,
        src_pitch: usize,
        dst: CUdeviceptr,
        dst_pitch: usize,
        width_bytes: usize,
        rows: usize,
    ) -> Result<bool> {
        if !suits(src, src_pitch, dst, dst_pitch, width_bytes) || rows == 0 {
            return Ok(rows == 0);
        }
        let int = |v: usize| c_int::try_from(v).ok();
        let (Some(mut sp), Some(mut dp), Some(mut w16), Some(mut r)) = (
            int(src_pitch),
            int(dst_pitch),
            int(width_bytes.div_ceil(16)),
            int(rows),
        ) else {
            return Ok(false);
        };
        let (mut s, mut d) = (src, dst);
        let mut params: [*mut c_void; 6] = [
            (&raw mut s).cast(),
            (&raw mut sp).cast(),
            (&raw mut d).cast(),
            (&raw mut dp).cast(),
            (&raw mut w16).cast(),
            (&raw mut r).cast(),
        ];
        let block = (64u32, 4u32, 1u32);
        let grid = (
            (w16 as u32).div_ceil(block.0),
            (r as u32).div_ceil(block.1),
            1,
        );
        // SAFETY: six parameters in the kernel's order and types; both regions hold `rows`
        // rows at their pitches (checked by `suits`: the rounded-up row fits in each pitch)
        // and stay alive until the caller synchronises the stream.
        unsafe { self.kernel.launch(grid, block, stream, &mut params) }?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_takes_only_aligned_copies_that_fit_the_pitches() {
        assert!(suits(0x1000, 2048, 0x2000, 2048, 1920));
        assert!(suits(0x1000, 1920, 0x2000, 2048, 1920));
        assert!(!suits(0x1008, 2048, 0x2000, 2048, 1920), "unaligned source");
        assert!(!suits(0x1000, 2048, 0x2000, 1928, 1920), "unaligned pitch");
        assert!(
            !suits(0x1000, 1936, 0x2000, 2048, 1937),
            "rounded row beyond the pitch"
        );
    }

    #[test]
    fn the_copy_path_is_the_engine_unless_the_kernel_is_asked_for() {
        assert_eq!(CopyPath::from_value(None), CopyPath::Engine);
        assert_eq!(CopyPath::from_value(Some("engine")), CopyPath::Engine);
        assert_eq!(CopyPath::from_value(Some(" Kernel ")), CopyPath::Kernel);
    }
}
