//! H.265 / HEVC: NAL units (machinery shared with H.264 in [`super::nal`],
//! [`super::access_unit`], [`super::nal_tracking`]...), the SPS ([`super::sps`]) and the
//! `hvcC` record ([`hvcc`]).

pub mod hvcc;

use super::nal_tracking::NalSyntax;
use super::syntax::ConfigRecord;
use crate::api::codec::Codec;
use crate::api::error::Result;
use hvcc::HevcDecoderConfigurationRecord;

/// The HEVC room.
pub static HEVC: NalSyntax = NalSyntax {
    codec: Codec::Hevc,
    parse_record,
};

fn parse_record(record: &[u8]) -> Result<ConfigRecord> {
    let hvcc = HevcDecoderConfigurationRecord::parse(record)?;
    let info = hvcc
        .sps()
        .next()
        .and_then(|s| super::sps::parse_hevc_sps(s).ok());
    Ok(ConfigRecord {
        headers: hvcc.parameter_sets(),
        length_size: Some(hvcc.length_size()),
        info,
    })
}
