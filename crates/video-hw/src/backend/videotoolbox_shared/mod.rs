//! The Apple-independent half of the VideoToolbox backend, compiled and unit-tested everywhere.
//!
//! Everything the VideoToolbox adapter decides without calling Apple code lives here so that
//! Linux CI covers it: which parameter sets go into a `CMVideoFormatDescription`
//! ([`format_description`]), how access units become length-prefixed samples and encoded
//! samples become self-contained chunks ([`sample`]), the encoder property map and what it
//! changes in place ([`properties`]), Core Video colour attachments ([`color`]), `CMTime`
//! conversion ([`timing`]), `OSStatus` mapping ([`status`]), presentation-order release of decoded frames ([`reorder`]) and
//! copying caller pictures into pixel-buffer planes ([`pixel_upload`]).
//!
//! Off Apple targets (or without `backend-vt`) only the tests use it.
#![cfg_attr(
    not(all(feature = "backend-vt", target_vendor = "apple")),
    allow(dead_code)
)]

pub(crate) mod color;
pub(crate) mod format_description;
pub(crate) mod pixel_upload;
pub(crate) mod properties;
pub(crate) mod reorder;
pub(crate) mod sample;
pub(crate) mod status;
pub(crate) mod timing;

/// Bytes of the NAL length prefix in every sample the backend hands to or gets from
/// VideoToolbox (`nal_unit_header_length` of the format description).
pub(crate) const NAL_LENGTH_SIZE: u8 = 4;
