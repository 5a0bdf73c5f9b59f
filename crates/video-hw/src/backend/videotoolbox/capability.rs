//! What the VideoToolbox adapter decodes exactly: declared, not queried (VideoToolbox has no
//! capability query). Its output is NV12, so 8-bit 4:2:0; interlaced H.264 is refused
//! because the adapter does not weave fields.

use crate::api::codec::Codec;
use crate::backend::capability::formats;
use crate::backend::{Backend, DecodeCapability};
use crate::bitstream::stream_features::FieldCoding;

/// VideoToolbox's table for `codec`.
pub(crate) fn decode_capability(codec: Codec) -> DecodeCapability {
    DecodeCapability {
        backend: Backend::VideoToolbox,
        implementation: "VideoToolbox".to_owned(),
        codec,
        profiles: Vec::new(),
        formats: formats(&[8], &[1], (8192, 8192)),
        field_coding: vec![FieldCoding::Progressive],
        inexact: Vec::new(),
        remedy: "--backend auto moves the stream to software decoding".to_owned(),
    }
}
