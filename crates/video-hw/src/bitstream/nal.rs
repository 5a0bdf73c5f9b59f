//! NAL unit types and keyframe detection.

use crate::api::codec::Codec;

/// Whether `nal` (header first, no start code) is a random-access picture's slice
/// (H.264 IDR; HEVC IRAP: BLA, IDR, CRA).
pub fn is_keyframe(codec: Codec, nal: &[u8]) -> bool {
    let _ = (codec, nal);
    todo!("bitstream helper")
}
