//! The public vocabulary: codecs, sizes, timestamps, frames, packets, configs, errors.

pub mod backend_kind;
pub mod codec;
pub mod color;
pub mod config;
pub mod encode_input;
pub mod error;
pub mod frame;
pub mod gpus;
pub mod nvidia_options;
pub mod packet;

// The module's old name, kept so that `video_hw::api::raw::*` paths stay valid.
pub use encode_input as raw;
