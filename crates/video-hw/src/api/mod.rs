//! The public vocabulary: codecs, sizes, timestamps, frames, packets, configs, errors.

pub mod codec;
pub mod color;
pub mod config;
pub mod error;
pub mod frame;
pub mod nvidia_options;
pub mod packet;
pub mod raw;
