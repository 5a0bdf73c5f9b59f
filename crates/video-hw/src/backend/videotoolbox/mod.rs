//! The VideoToolbox backend, one room: its Apple calls are in `apple` (compiled on Apple
//! targets with the `backend-vt` feature); everything it decides without calling Apple code
//! lives in the modules beside it, compiled and unit-tested everywhere so that Linux CI covers
//! it: which parameter sets go into a `CMVideoFormatDescription` ([`format_description`]), how
//! access units become length-prefixed samples and encoded samples become self-contained
//! chunks ([`sample`]), the encoder property map and what it changes in place
//! ([`properties`]), Core Video colour attachments ([`color`]), `CMTime` conversion
//! ([`timing`]), `OSStatus` mapping ([`status`]), presentation-order release of decoded frames
//! ([`reorder`]), copying caller pictures into pixel-buffer planes ([`pixel_upload`]) and what
//! the decoder decodes exactly ([`capability`]).
//!
//! The adapters' control logic is here too, over the calls behind traits ([`calls`]):
//! [`decoder`] (session lifetime, invalidation and recreation, reorder, flush, error mapping,
//! the Metal-first RGB output with its CPU fallback) and [`encoder`] (properties, in-place
//! changes, sample -> chunk). `apple/` implements the calls with the objc2 bindings; `double/`
//! (tests and the `vt-double` feature) is a double of them that runs the control logic on
//! Linux.
//!
//! Off Apple targets (or without `backend-vt`) only the tests and the double use these
//! modules.
#![cfg_attr(
    not(all(feature = "backend-vt", target_vendor = "apple")),
    allow(dead_code)
)]

#[cfg(all(feature = "backend-vt", target_vendor = "apple"))]
mod apple;
pub(crate) mod callback_queue;
pub(crate) mod calls;
pub(crate) mod capability;
pub(crate) mod color;
pub(crate) mod decoder;
#[cfg(any(test, feature = "vt-double"))]
pub(crate) mod double;
pub(crate) mod encoder;
pub(crate) mod format_description;
pub(crate) mod pixel_upload;
pub(crate) mod properties;
pub(crate) mod reorder;
pub(crate) mod sample;
pub(crate) mod status;
pub(crate) mod timing;

#[cfg(all(feature = "backend-vt", target_vendor = "apple"))]
pub(crate) use apple::{decoder_factory, encoder_factory, probe};

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
