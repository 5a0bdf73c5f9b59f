//! Sessions: the public `DecodeSession` / `EncodeSession` over any backend adapter.

mod decode;
mod encode;
mod worker;

pub use decode::{DecodeSession, DecodeSummary};
pub use encode::{EncodeSession, EncodeSummary};
