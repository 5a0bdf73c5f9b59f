//! Sessions: the public `DecodeSession` / `EncodeSession` over any backend adapter.

mod decode;
mod encode;
mod fallback;
#[cfg(all(test, feature = "sw-openh264"))]
mod fallback_tests;
mod generation;
mod placement;
mod segmented;
mod worker;

pub use decode::{DecodeSession, DecodeSummary};
pub use encode::{EncodeSession, EncodeSummary};
pub use generation::{SessionSwitchRequest, SwitchMode, SwitchStats};
pub use segmented::{
    SegmentedConfig, SegmentedSummary, decode_segmented, decode_segmented_with_metrics,
};
