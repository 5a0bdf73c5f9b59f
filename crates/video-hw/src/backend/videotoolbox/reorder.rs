//! Presentation-order release of decoded frames.
//!
//! `VTDecompressionSession` is asked for temporal (display-order) output, but the contract
//! must hold whatever order the callback delivers: frames wait here, up to the stream's
//! reorder depth, and leave by ascending pts.

use crate::api::codec::{Codec, Timestamp};
use crate::bitstream::StreamInfo;

/// How many frames may precede a frame in decode order yet follow it in output order.
pub(crate) fn reorder_depth(info: Option<&StreamInfo>) -> usize {
    /// H.264 Baseline / Constrained Baseline have no B-slices.
    const H264_BASELINE: u8 = 66;
    /// Largest DPB of H.264 and HEVC.
    const MAX_DPB: usize = 16;
    let Some(info) = info else {
        return MAX_DPB;
    };
    if let Some(n) = info.max_num_reorder_frames.or(info.max_dec_frame_buffering) {
        return (n as usize).min(MAX_DPB);
    }
    if info.codec == Codec::H264 && info.profile_idc == H264_BASELINE {
        0
    } else {
        MAX_DPB
    }
}

/// Holds items until `depth` later ones have arrived, then releases the earliest by pts.
/// Items without a pts release everything before them, then themselves (arrival order).
#[derive(Debug)]
pub(crate) struct ReorderBuffer<T> {
    depth: usize,
    held: Vec<(Timestamp, u64, T)>,
    seq: u64,
}

impl<T> ReorderBuffer<T> {
    /// An empty buffer releasing after `depth` later items.
    pub(crate) fn new(depth: usize) -> Self {
        Self {
            depth,
            held: Vec::new(),
            seq: 0,
        }
    }

    /// Changes the depth (a new SPS); items beyond it are released.
    pub(crate) fn set_depth(&mut self, depth: usize, out: &mut Vec<T>) {
        self.depth = depth;
        while self.held.len() > self.depth {
            self.pop_earliest(out);
        }
    }

    /// Adds `item`; whatever is due is appended to `out` in presentation order.
    pub(crate) fn push(&mut self, pts: Option<Timestamp>, item: T, out: &mut Vec<T>) {
        let Some(pts) = pts else {
            self.drain(out);
            out.push(item);
            return;
        };
        self.seq += 1;
        self.held.push((pts, self.seq, item));
        while self.held.len() > self.depth {
            self.pop_earliest(out);
        }
    }

    /// Releases everything, in presentation order.
    pub(crate) fn drain(&mut self, out: &mut Vec<T>) {
        self.held.sort_by_key(|(pts, seq, _)| (*pts, *seq));
        out.extend(self.held.drain(..).map(|(_, _, item)| item));
    }

    /// Items held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.held.len()
    }

    fn pop_earliest(&mut self, out: &mut Vec<T>) {
        if let Some(i) = self
            .held
            .iter()
            .enumerate()
            .min_by_key(|(_, (pts, seq, _))| (*pts, *seq))
            .map(|(i, _)| i)
        {
            out.push(self.held.remove(i).2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(depth: usize, pts: &[i64]) -> Vec<i64> {
        let mut b = ReorderBuffer::new(depth);
        let mut out = Vec::new();
        for &p in pts {
            b.push(Some(Timestamp::mpeg(p)), p, &mut out);
        }
        b.drain(&mut out);
        out
    }

    #[test]
    fn decode_order_with_b_frames_comes_out_in_presentation_order() {
        // I0 P3 B1 B2 P6 B4 B5 (decode order), one B-frame pyramid level: depth 2.
        assert_eq!(run(2, &[0, 3, 1, 2, 6, 4, 5]), vec![0, 1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn depth_zero_passes_frames_straight_through() {
        let mut b = ReorderBuffer::new(0);
        let mut out = Vec::new();
        b.push(Some(Timestamp::mpeg(5)), 5, &mut out);
        assert_eq!(out, vec![5]);
        assert_eq!(b.len(), 0);
    }

    #[test]
    fn frames_are_held_until_depth_later_frames_arrive() {
        let mut b = ReorderBuffer::new(2);
        let mut out = Vec::new();
        b.push(Some(Timestamp::mpeg(0)), 0, &mut out);
        b.push(Some(Timestamp::mpeg(2)), 2, &mut out);
        assert!(out.is_empty());
        b.push(Some(Timestamp::mpeg(1)), 1, &mut out);
        assert_eq!(out, vec![0]);
    }

    #[test]
    fn frame_without_pts_releases_earlier_ones_first() {
        let mut b = ReorderBuffer::new(4);
        let mut out = Vec::new();
        b.push(Some(Timestamp::mpeg(2)), 2, &mut out);
        b.push(Some(Timestamp::mpeg(1)), 1, &mut out);
        b.push(None, 99, &mut out);
        assert_eq!(out, vec![1, 2, 99]);
    }

    #[test]
    fn equal_pts_keep_arrival_order() {
        assert_eq!(run(3, &[7, 7, 7]), vec![7, 7, 7]);
    }

    #[test]
    fn lowering_the_depth_releases_the_excess() {
        let mut b = ReorderBuffer::new(4);
        let mut out = Vec::new();
        for p in [3, 1, 2] {
            b.push(Some(Timestamp::mpeg(p)), p, &mut out);
        }
        b.set_depth(1, &mut out);
        assert_eq!(out, vec![1, 2]);
    }

    #[test]
    fn reorder_depth_comes_from_the_sps() {
        let sps =
            crate::bitstream::parse_h264_sps(super::super::format_description::tests::H264_SPS)
                .unwrap();
        // Baseline without bitstream restriction: no reordering.
        assert_eq!(reorder_depth(Some(&sps)), 0);
        let mut main = sps.clone();
        main.profile_idc = 77;
        assert_eq!(reorder_depth(Some(&main)), 16);
        main.max_num_reorder_frames = Some(2);
        assert_eq!(reorder_depth(Some(&main)), 2);
        assert_eq!(reorder_depth(None), 16);
    }
}
