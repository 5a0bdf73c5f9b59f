//! Parameter-set cache: the latest VPS/SPS/PPS of each id, raw and parsed.

use super::nal::{bits_err, h264_type, hevc_type, nal_type, rbsp_reader};
use super::sps::{HevcSps, StreamInfo, h264_sps, h264_stream_info, parse_hevc_sps_fields};
use crate::api::codec::Codec;
use crate::api::error::{Result, VideoError};
use h264_reader::nal::pps::PicParameterSet;
use h264_reader::nal::sps::SeqParameterSet;
use h264_reader::rbsp::BitRead;
use std::collections::BTreeMap;

/// What the access-unit assembler needs of an H.264 PPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct H264PpsFields {
    pub(crate) sps_id: u32,
    pub(crate) bottom_field_pic_order_in_frame_present: bool,
    pub(crate) redundant_pic_cnt_present: bool,
}

/// Latest SPS/PPS/VPS seen, by id ("latest wins"), kept raw (as NAL units with header and
/// emulation prevention) and parsed where the crate needs the fields.
#[derive(Debug, Clone)]
pub struct ParameterSetCache {
    codec: Codec,
    vps: BTreeMap<u32, Vec<u8>>,
    sps: BTreeMap<u32, Vec<u8>>,
    pps: BTreeMap<u32, Vec<u8>>,
    info: BTreeMap<u32, StreamInfo>,
    hevc_sps: BTreeMap<u32, HevcSps>,
    h264_sps: BTreeMap<u32, SeqParameterSet>,
    h264_pps: BTreeMap<u32, H264PpsFields>,
    /// The SPS of the latest slice's PPS, or else the latest SPS stored.
    active_sps: Option<u32>,
}

impl ParameterSetCache {
    /// An empty cache for `codec`.
    pub fn new(codec: Codec) -> Self {
        Self {
            codec,
            vps: BTreeMap::new(),
            sps: BTreeMap::new(),
            pps: BTreeMap::new(),
            info: BTreeMap::new(),
            hevc_sps: BTreeMap::new(),
            h264_sps: BTreeMap::new(),
            h264_pps: BTreeMap::new(),
            active_sps: None,
        }
    }

    /// The codec of the cache.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Stores `nal` when it is a parameter set; `Ok(false)` for other NAL units.
    /// `InvalidBitstream` when a parameter set does not parse (it is then not stored; an
    /// H.264 PPS needs its SPS first).
    pub fn insert(&mut self, nal: &[u8]) -> Result<bool> {
        let Some(t) = nal_type(self.codec, nal) else {
            return Ok(false);
        };
        match (self.codec, t) {
            (Codec::Hevc, hevc_type::VPS) => {
                let id = u32::from(nal.get(2).ok_or_else(|| bad("empty HEVC VPS"))? >> 4);
                self.vps.insert(id, nal.to_vec());
            }
            (Codec::Hevc, hevc_type::SPS) => {
                let sps = parse_hevc_sps_fields(nal)?;
                let id = sps.info.sps_id;
                self.info.insert(id, sps.info.clone());
                self.hevc_sps.insert(id, sps);
                self.sps.insert(id, nal.to_vec());
                self.active_sps = Some(id);
            }
            (Codec::Hevc, hevc_type::PPS) => {
                let mut r = rbsp_reader(Codec::Hevc, nal);
                let id = r
                    .read_ue("pps_pic_parameter_set_id")
                    .map_err(bits_err("HEVC PPS"))?;
                if id > 63 {
                    return Err(bad(format!("HEVC PPS id {id} > 63")));
                }
                self.pps.insert(id, nal.to_vec());
            }
            (Codec::H264, h264_type::SPS) => {
                let sps = h264_sps(nal)?;
                let info = h264_stream_info(&sps)?;
                let id = info.sps_id;
                self.info.insert(id, info);
                self.h264_sps.insert(id, sps);
                self.sps.insert(id, nal.to_vec());
                self.active_sps = Some(id);
            }
            (Codec::H264, h264_type::PPS) => {
                let fields = self.parse_h264_pps(nal)?;
                let id = fields.0;
                self.h264_pps.insert(id, fields.1);
                self.pps.insert(id, nal.to_vec());
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn parse_h264_pps(&self, nal: &[u8]) -> Result<(u32, H264PpsFields)> {
        let e = bits_err("H.264 PPS");
        let mut r = rbsp_reader(Codec::H264, nal);
        r.read_ue("pic_parameter_set_id").map_err(&e)?;
        let sps_id = r.read_ue("seq_parameter_set_id").map_err(&e)?;
        let sps = self
            .h264_sps
            .get(&sps_id)
            .ok_or_else(|| bad(format!("H.264 PPS refers to unknown SPS {sps_id}")))?;
        let mut ctx = h264_reader::Context::new();
        ctx.put_seq_param_set(sps.clone());
        let pps = PicParameterSet::from_bits(&ctx, rbsp_reader(Codec::H264, nal))
            .map_err(|e| bad(format!("H.264 PPS: {e:?}")))?;
        Ok((
            u32::from(pps.pic_parameter_set_id.id()),
            H264PpsFields {
                sps_id,
                bottom_field_pic_order_in_frame_present: pps
                    .bottom_field_pic_order_in_frame_present_flag,
                redundant_pic_cnt_present: pps.redundant_pic_cnt_present_flag,
            },
        ))
    }

    /// What the SPS `sps_id` says, when stored.
    pub fn stream_info(&self, sps_id: u32) -> Option<&StreamInfo> {
        self.info.get(&sps_id)
    }

    /// The stream info of the active SPS: the one the latest slice referred to (through its
    /// PPS), or before any slice the latest SPS stored.
    pub fn active_stream_info(&self) -> Option<&StreamInfo> {
        self.active_sps.and_then(|id| self.info.get(&id))
    }

    /// Marks the SPS referred to by PPS `pps_id` active (called for each slice).
    pub fn activate_pps(&mut self, pps_id: u32) {
        let sps_id = match self.codec {
            Codec::Hevc => self.pps.get(&pps_id).and_then(|nal| {
                let mut r = rbsp_reader(Codec::Hevc, nal);
                r.read_ue("pps_pic_parameter_set_id").ok()?;
                r.read_ue("pps_seq_parameter_set_id").ok()
            }),
            _ => self.h264_pps.get(&pps_id).map(|p| p.sps_id),
        };
        if let Some(id) = sps_id.filter(|id| self.sps.contains_key(id)) {
            self.active_sps = Some(id);
        }
    }

    /// The parsed HEVC SPS `sps_id` (profile/tier/level for `hvcC`).
    pub fn hevc_sps(&self, sps_id: u32) -> Option<&HevcSps> {
        self.hevc_sps.get(&sps_id)
    }

    pub(crate) fn h264_sps(&self, sps_id: u32) -> Option<&SeqParameterSet> {
        self.h264_sps.get(&sps_id)
    }

    pub(crate) fn h264_pps(&self, pps_id: u32) -> Option<&H264PpsFields> {
        self.h264_pps.get(&pps_id)
    }

    /// Raw VPS NAL units by ascending id (HEVC only).
    pub fn vps(&self) -> impl Iterator<Item = &[u8]> {
        self.vps.values().map(Vec::as_slice)
    }

    /// Raw SPS NAL units by ascending id.
    pub fn sps(&self) -> impl Iterator<Item = &[u8]> {
        self.sps.values().map(Vec::as_slice)
    }

    /// Raw PPS NAL units by ascending id.
    pub fn pps(&self) -> impl Iterator<Item = &[u8]> {
        self.pps.values().map(Vec::as_slice)
    }

    /// Every stored parameter set as a raw NAL unit: VPSs, then SPSs, then PPSs, each by id
    /// (the order decoders and `avcC`/`hvcC` expect).
    pub fn parameter_sets(&self) -> Vec<Vec<u8>> {
        self.vps()
            .chain(self.sps())
            .chain(self.pps())
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.vps.is_empty() && self.sps.is_empty() && self.pps.is_empty()
    }
}

fn bad(what: impl Into<String>) -> VideoError {
    VideoError::invalid_bitstream(what.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::ErrorKind;
    use crate::bitstream::sps::tests::{H264_SPS_64, HEVC_PPS_320, HEVC_SPS_320, HEVC_VPS_320};

    const PPS_64: &[u8] = &[0x68, 0xeb, 0xec, 0xb2, 0x2c];

    #[test]
    fn h264_sets_are_stored_by_id_and_listed_sps_first() {
        let mut c = ParameterSetCache::new(Codec::H264);
        assert_eq!(
            c.insert(PPS_64).unwrap_err().kind(),
            ErrorKind::InvalidBitstream,
            "a PPS needs its SPS"
        );
        assert!(c.insert(H264_SPS_64).unwrap());
        assert!(c.insert(PPS_64).unwrap());
        assert!(!c.insert(&[0x65, 0x88]).unwrap());
        assert_eq!(
            c.parameter_sets(),
            vec![H264_SPS_64.to_vec(), PPS_64.to_vec()]
        );
        c.activate_pps(0);
        let info = c.active_stream_info().unwrap();
        assert_eq!(info.display.to_string(), "64x64");
        assert_eq!(c.stream_info(0), Some(info));
        assert!(c.stream_info(1).is_none());
        // Latest wins: the same SPS again replaces, not appends.
        c.insert(H264_SPS_64).unwrap();
        assert_eq!(c.sps().count(), 1);
    }

    #[test]
    fn hevc_sets_are_stored_vps_sps_pps() {
        let mut c = ParameterSetCache::new(Codec::Hevc);
        assert!(c.is_empty());
        for nal in [HEVC_PPS_320, HEVC_SPS_320, HEVC_VPS_320] {
            assert!(c.insert(nal).unwrap());
        }
        assert_eq!(
            c.parameter_sets(),
            vec![
                HEVC_VPS_320.to_vec(),
                HEVC_SPS_320.to_vec(),
                HEVC_PPS_320.to_vec()
            ]
        );
        assert_eq!(c.hevc_sps(0).unwrap().info.profile_idc, 1);
        assert_eq!(
            c.active_stream_info().unwrap().display.to_string(),
            "320x240"
        );
        assert!(c.insert(&[0x42, 0x01, 0xFF]).is_err());
    }
}
