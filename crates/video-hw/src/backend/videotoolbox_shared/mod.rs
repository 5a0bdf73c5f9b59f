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

/// The conformance folder for unit tests (`VIDEO_HW_CONFORMANCE`, else beside the
/// repository), or `None` with a message; a panic when `VIDEO_HW_REQUIRE_CONFORMANCE=1`.
#[cfg(test)]
pub(crate) fn conformance_manifest() -> Option<(String, String)> {
    let dir = std::env::var("VIDEO_HW_CONFORMANCE").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/conformance").to_string()
    });
    match std::fs::read_to_string(format!("{dir}/manifest.tsv")) {
        Ok(manifest) => Some((dir, manifest)),
        Err(_) => {
            let msg = format!("conformance streams not found at {dir} (set VIDEO_HW_CONFORMANCE)");
            assert!(
                std::env::var("VIDEO_HW_REQUIRE_CONFORMANCE").as_deref() != Ok("1"),
                "{msg}"
            );
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}
