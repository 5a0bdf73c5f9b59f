//! H.264 / AVC: NAL units (machinery shared with HEVC in [`super::nal`],
//! [`super::access_unit`], [`super::nal_tracking`]...), the SPS ([`super::sps`]) and the
//! `avcC` record ([`avcc`]).

pub mod avcc;

use super::nal_tracking::NalSyntax;
use super::syntax::ConfigRecord;
use crate::api::codec::Codec;
use crate::api::error::Result;
use avcc::AvcDecoderConfigurationRecord;

/// The H.264 room.
pub static H264: NalSyntax = NalSyntax {
    codec: Codec::H264,
    parse_record,
};

fn parse_record(record: &[u8]) -> Result<ConfigRecord> {
    let avcc = AvcDecoderConfigurationRecord::parse(record)?;
    let info = avcc
        .sps()
        .first()
        .and_then(|s| super::sps::parse_h264_sps(s).ok());
    Ok(ConfigRecord {
        headers: avcc.parameter_sets(),
        length_size: Some(avcc.length_size()),
        info,
    })
}
