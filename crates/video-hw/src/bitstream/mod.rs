//! The bitstream layer: everything about H.264/HEVC byte streams that needs no decoder.
//!
//! - [`annexb`]: incremental Annex-B splitting whose output does not depend on chunk boundaries.
//! - [`access_unit`]: grouping NAL units into access units (pictures).
//! - [`nal`]: NAL unit types, keyframe detection.
//! - [`param_sets`]: the parameter-set cache.
//! - [`picture_count`]: the pictures a stream holds for output (frames out == pictures in).
//! - [`sps`]: SPS/VUI parsing (size, crop, colour, bit depth).
//! - [`layout`]: Annex-B <-> length-prefixed conversion.
//! - [`avcc`] / [`hvcc`]: decoder configuration records (MP4 `avcC` / `hvcC`).

// Everything here reads bytes from outside: arithmetic on what was read must be checked
// (issue #21). Exceptions carry `#[allow(clippy::arithmetic_side_effects, reason = "...")]`
// on the smallest scope. Unit tests build fixtures from constants and are left out.
#![cfg_attr(not(test), warn(clippy::arithmetic_side_effects))]

pub mod access_unit;
pub mod annexb;
pub mod avcc;
pub mod hvcc;
pub mod layout;
pub mod nal;
pub mod param_sets;
pub mod picture_count;
pub mod segment;
pub mod sps;
pub mod stream_features;

pub use access_unit::{AccessUnit, AccessUnitAssembler, assemble_annexb};
pub use annexb::{AnnexBSplitter, Nal, split_annexb};
pub use avcc::AvcDecoderConfigurationRecord;
pub use hvcc::HevcDecoderConfigurationRecord;
pub use param_sets::ParameterSetCache;
pub use picture_count::{PictureCounter, count_pictures};
pub use segment::{Segment, split_at_idr};
pub use sps::{StreamInfo, parse_h264_sps, parse_hevc_sps};
