//! The display queue: each picture the parser displayed is checked
//! (`cuvidGetDecodeStatus`), mapped, handed to the output to copy out, and unmapped.

use super::calls::NvdecCalls;
use super::ffi::*;
use super::output::{Output, Picture};
use super::state::State;
use crate::api::codec::Timestamp;
use crate::api::error::{Result, VideoError};
use crate::backend::nvidia::stats::{self, COUNTERS};
use std::ffi::c_int;

impl<C: NvdecCalls, O: Output> State<C, O> {
    /// Copies out every queued picture, in display order; errors go to `self.errors` and the
    /// pictures after a failed one are still copied out.
    pub(super) fn drain_queue(&mut self) {
        while let Some(info) = self.queue.pop_front() {
            if let Err(e) = self.emit(&info) {
                self.errors.push(e);
            }
        }
    }

    /// Checks, maps, copies out and unmaps one displayed picture.
    fn emit(&mut self, info: &CUVIDPARSERDISPINFO) -> Result<()> {
        let Some(dec) = self.decoder.as_ref() else {
            return Err(VideoError::backend(
                "NVDEC displayed a picture without a decoder",
            ));
        };
        let handle = dec.handle;
        // A failed status query says nothing about the picture: it is mapped as usual.
        match self.calls.decode_status(handle, info.picture_index) {
            Ok(s) if s == cuvidDecodeStatus_Error => {
                stats::add(&COUNTERS.decode_errors, 1);
                return Err(VideoError::invalid_bitstream(format!(
                    "NVDEC reported a decode error for picture (surface {})",
                    info.picture_index
                )));
            }
            Ok(s) if s == cuvidDecodeStatus_Error_Concealed => {
                stats::add(&COUNTERS.concealed_errors, 1);
                self.concealed += 1;
            }
            _ => {}
        }
        // SAFETY: an all-zero CUVIDPROCPARAMS is valid plain data.
        let mut proc: CUVIDPROCPARAMS = unsafe { std::mem::zeroed() };
        proc.progressive_frame = info.progressive_frame;
        proc.second_field = info.repeat_first_field + 1;
        proc.top_field_first = info.top_field_first;
        proc.unpaired_field = c_int::from(info.repeat_first_field < 0);
        proc.output_stream = self.output.map_stream();
        let (ptr, pitch) = self
            .calls
            .map_frame(handle, info.picture_index, &mut proc)?;
        let mapped = Mapped {
            calls: &self.calls,
            handle,
            ptr,
        };
        let picture = Picture {
            ptr,
            pitch: pitch as usize,
            coded_width: dec.width,
            coded_height: dec.height,
            display: dec.display,
            color: dec.color,
            bit_depth: dec.bit_depth,
            monochrome: dec.monochrome,
            keyframe: usize::try_from(info.picture_index)
                .ok()
                .and_then(|i| self.intra.get(i).copied())
                .unwrap_or(false),
            pts: self.pts_seen.then_some(Timestamp {
                ticks: info.timestamp,
                timebase: self.timebase,
            }),
        };
        // The output returns once no read of the surface is in flight (error paths too).
        let copied = self.output.copy_out(&picture);
        drop(mapped);
        copied
    }
}

/// A mapped decoder surface, unmapped on drop.
struct Mapped<'a, C: NvdecCalls> {
    calls: &'a C,
    handle: CUvideodecoder,
    ptr: u64,
}

impl<C: NvdecCalls> Drop for Mapped<'_, C> {
    fn drop(&mut self) {
        self.calls.unmap_frame(self.handle, self.ptr);
    }
}
