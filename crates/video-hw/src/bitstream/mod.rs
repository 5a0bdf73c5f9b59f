//! The bitstream layer: everything about coded video that needs no decoder.
//!
//! - [`syntax`]: one room per codec ([`h264`], [`hevc`], [`vp9`]) behind [`CodecSyntax`].
//!
//! - [`annexb`]: incremental Annex-B splitting whose output does not depend on chunk boundaries.
//! - [`codec_sniff`]: H.264 or HEVC, told from the NAL headers of a raw stream.
//! - [`access_unit`]: grouping NAL units into access units (pictures).
//! - [`nal`]: NAL unit types, keyframe detection.
//! - [`param_sets`]: the parameter-set cache.
//! - [`picture_count`]: the pictures a stream holds for output (frames out == pictures in).
//! - [`sps`]: SPS/VUI parsing (size, crop, colour, bit depth).
//! - [`layout`]: Annex-B <-> length-prefixed conversion.
//! - [`avcc`] / [`hvcc`]: decoder configuration records (MP4 `avcC` / `hvcC`), in their
//!   codec's room.

// Everything here reads bytes from outside: arithmetic on what was read must be checked
// (issue #21). Exceptions carry `#[allow(clippy::arithmetic_side_effects, reason = "...")]`
// on the smallest scope. Unit tests build fixtures from constants and are left out.
#![cfg_attr(not(test), warn(clippy::arithmetic_side_effects))]

pub mod access_unit;
pub mod annexb;
pub mod codec_sniff;
pub mod h264;
pub mod hevc;
pub mod layout;
pub mod nal;
pub mod nal_tracking;
pub mod param_sets;
pub mod picture_count;
pub mod random_access;
mod record;
pub mod segment;
pub mod sps;
pub mod stream_features;
pub mod syntax;
pub mod vp9;

pub use h264::avcc;
pub use hevc::hvcc;

pub use access_unit::{AccessUnit, AccessUnitAssembler, assemble_annexb};
pub use annexb::{AnnexBSplitter, Nal, split_annexb};
pub use avcc::AvcDecoderConfigurationRecord;
pub use codec_sniff::annexb_codec;
pub use hvcc::HevcDecoderConfigurationRecord;
pub use param_sets::ParameterSetCache;
pub use picture_count::{PictureCounter, count_pictures};
pub use random_access::split_at_random_access;
pub use segment::{Segment, split_at_idr};
pub use sps::{StreamInfo, parse_h264_sps, parse_hevc_sps};
pub use syntax::{CodecSyntax, Framing, syntax};
