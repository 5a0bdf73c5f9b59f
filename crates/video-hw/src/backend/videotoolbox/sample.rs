//! AVCC/HVCC samples: access units packed for `VTDecompressionSessionDecodeFrame`, and
//! encoded samples from `VTCompressionSession` turned into self-contained output chunks.

use super::NAL_LENGTH_SIZE;
use crate::api::codec::Codec;
use crate::api::error::{Result, VideoError};
use crate::api::packet::BitstreamLayout;
use crate::bitstream::{AccessUnit, layout, nal};

/// Packs the picture NAL units of `au` as one 4-byte length-prefixed sample for the decoder.
///
/// Parameter sets are left out (they travel in the format description); `None` when the
/// access unit carries no coded picture (nothing to decode).
pub(crate) fn pack_for_decoder(au: &AccessUnit) -> Result<Option<Vec<u8>>> {
    if !au.has_picture() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(au.nals.iter().map(|n| n.len() + 4).sum());
    for n in au
        .nals
        .iter()
        .filter(|n| !nal::is_parameter_set(au.codec, n))
    {
        layout::push_length_prefixed(&mut out, n, NAL_LENGTH_SIZE)?;
    }
    Ok(Some(out))
}

/// Whether a length-prefixed sample holds a random-access picture (H.264 IDR, HEVC IRAP);
/// `InvalidBitstream` when the prefixes do not add up.
pub(crate) fn is_keyframe_sample(codec: Codec, data: &[u8], length_size: u8) -> Result<bool> {
    Ok(layout::split_length_prefixed(data, length_size)?
        .iter()
        .any(|n| nal::is_keyframe(codec, n)))
}

/// The layout the encoder states on its chunks: Annex-B when asked, else the codec's
/// length-prefixed layout with the requested prefix size. `InvalidInput` when an AVCC layout
/// is asked of HEVC or the other way round.
pub(crate) fn output_layout(codec: Codec, requested: BitstreamLayout) -> Result<BitstreamLayout> {
    match (codec, requested) {
        (_, BitstreamLayout::AnnexB)
        | (Codec::H264, BitstreamLayout::Avcc { .. })
        | (Codec::Hevc, BitstreamLayout::Hvcc { .. }) => Ok(requested),
        (codec, other) => Err(VideoError::invalid_input(format!(
            "layout {other:?} does not fit {codec} output"
        ))),
    }
}

/// Turns one encoded sample (`length_size`-byte prefixes, as VideoToolbox writes it) into the
/// bytes of an output chunk in `layout`.
///
/// On keyframes the parameter sets of the format description are put first (unless the
/// sample already carries them) so that every keyframe chunk decodes on its own.
pub(crate) fn encoded_chunk_bytes(
    codec: Codec,
    sample: &[u8],
    length_size: u8,
    keyframe: bool,
    parameter_sets: &[Vec<u8>],
    layout: BitstreamLayout,
) -> Result<Vec<u8>> {
    let nals = layout::split_length_prefixed(sample, length_size)?;
    let has_params = nals.iter().any(|n| nal::is_parameter_set(codec, n));
    let prefix: &[Vec<u8>] = if keyframe && !has_params {
        parameter_sets
    } else {
        &[]
    };
    let total: usize = prefix.iter().chain(&nals).map(|n| n.len() + 4).sum();
    let mut out = Vec::with_capacity(total);
    for n in prefix.iter().chain(&nals) {
        match layout.length_size() {
            None => {
                out.extend_from_slice(&[0, 0, 0, 1]);
                out.extend_from_slice(n);
            }
            Some(size) => layout::push_length_prefixed(&mut out, n, size)?,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bitstream::split_annexb;

    const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x1e, 0xaa];
    const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];
    const IDR: &[u8] = &[0x65, 0x88, 0x84, 0x21];
    const P: &[u8] = &[0x41, 0x9a, 0x02];
    const SEI: &[u8] = &[0x06, 0x05, 0x01, 0x00, 0x80];

    fn prefixed(nals: &[&[u8]], size: u8) -> Vec<u8> {
        let mut v = Vec::new();
        for n in nals {
            layout::push_length_prefixed(&mut v, n, size).unwrap();
        }
        v
    }

    #[test]
    fn decoder_sample_drops_parameter_sets_and_keeps_the_rest_in_order() {
        let au = AccessUnit::from_nals(
            Codec::H264,
            vec![SPS.to_vec(), PPS.to_vec(), SEI.to_vec(), IDR.to_vec()],
            None,
        );
        let sample = pack_for_decoder(&au).unwrap().unwrap();
        assert_eq!(sample, prefixed(&[SEI, IDR], 4));
    }

    #[test]
    fn access_unit_without_a_picture_gives_no_sample() {
        let au = AccessUnit::from_nals(Codec::H264, vec![SPS.to_vec(), PPS.to_vec()], None);
        assert_eq!(pack_for_decoder(&au).unwrap(), None);
    }

    #[test]
    fn keyframe_detection_reads_length_prefixed_payloads() {
        assert!(is_keyframe_sample(Codec::H264, &prefixed(&[SEI, IDR], 4), 4).unwrap());
        assert!(!is_keyframe_sample(Codec::H264, &prefixed(&[P], 2), 2).unwrap());
        // HEVC: CRA (21) is IRAP, TRAIL_R (1) is not.
        let cra: &[u8] = &[21 << 1, 0x01, 0xaf];
        let trail: &[u8] = &[1 << 1, 0x01, 0xd0];
        assert!(is_keyframe_sample(Codec::Hevc, &prefixed(&[cra], 4), 4).unwrap());
        assert!(!is_keyframe_sample(Codec::Hevc, &prefixed(&[trail], 4), 4).unwrap());
    }

    #[test]
    fn truncated_sample_is_an_invalid_bitstream() {
        let mut s = prefixed(&[IDR], 4);
        s.pop();
        let e = is_keyframe_sample(Codec::H264, &s, 4).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidBitstream);
    }

    #[test]
    fn keyframe_chunk_gets_the_parameter_sets_first() {
        let params = vec![SPS.to_vec(), PPS.to_vec()];
        let layout = BitstreamLayout::Avcc { length_size: 4 };
        let out = encoded_chunk_bytes(Codec::H264, &prefixed(&[IDR], 4), 4, true, &params, layout)
            .unwrap();
        assert_eq!(out, prefixed(&[SPS, PPS, IDR], 4));
    }

    #[test]
    fn non_keyframe_chunk_is_left_without_parameter_sets() {
        let params = vec![SPS.to_vec(), PPS.to_vec()];
        let layout = BitstreamLayout::Avcc { length_size: 4 };
        let out = encoded_chunk_bytes(Codec::H264, &prefixed(&[P], 4), 4, false, &params, layout)
            .unwrap();
        assert_eq!(out, prefixed(&[P], 4));
    }

    #[test]
    fn parameter_sets_already_in_the_sample_are_not_doubled() {
        let params = vec![SPS.to_vec(), PPS.to_vec()];
        let layout = BitstreamLayout::Avcc { length_size: 4 };
        let sample = prefixed(&[SPS, PPS, IDR], 4);
        let out = encoded_chunk_bytes(Codec::H264, &sample, 4, true, &params, layout).unwrap();
        assert_eq!(out, sample);
    }

    #[test]
    fn annexb_output_round_trips_through_the_splitter() {
        let params = vec![SPS.to_vec(), PPS.to_vec()];
        let out = encoded_chunk_bytes(
            Codec::H264,
            &prefixed(&[SEI, IDR], 4),
            4,
            true,
            &params,
            BitstreamLayout::AnnexB,
        )
        .unwrap();
        assert!(out.starts_with(&[0, 0, 0, 1]));
        let nals: Vec<Vec<u8>> = split_annexb(&out).into_iter().map(|n| n.data).collect();
        assert_eq!(
            nals,
            vec![SPS.to_vec(), PPS.to_vec(), SEI.to_vec(), IDR.to_vec()]
        );
    }

    #[test]
    fn other_prefix_sizes_are_honoured() {
        let out = encoded_chunk_bytes(
            Codec::H264,
            &prefixed(&[P], 4),
            4,
            false,
            &[],
            BitstreamLayout::Avcc { length_size: 2 },
        )
        .unwrap();
        assert_eq!(out, prefixed(&[P], 2));
    }

    #[test]
    fn conformance_access_units_pack_and_unpack_losslessly() {
        let Some((dir, manifest)) = super::super::conformance_manifest() else {
            return;
        };
        for (codec, want) in [(Codec::H264, "h264"), (Codec::Hevc, "hevc")] {
            let Some(file) = manifest
                .lines()
                .skip(1)
                .find(|l| l.split('\t').nth(1) == Some(want))
                .and_then(|l| l.split('\t').next())
            else {
                continue;
            };
            let data = std::fs::read(format!("{dir}/{file}")).expect("stream readable");
            let aus = crate::bitstream::assemble_annexb(codec, &data);
            assert!(!aus.is_empty(), "{file}");
            assert!(aus[0].keyframe, "{file}: first access unit is a keyframe");
            for au in &aus {
                let Some(sample) = pack_for_decoder(au).unwrap() else {
                    continue;
                };
                let want: Vec<Vec<u8>> = au
                    .nals
                    .iter()
                    .filter(|n| !nal::is_parameter_set(codec, n))
                    .cloned()
                    .collect();
                assert_eq!(layout::split_length_prefixed(&sample, 4).unwrap(), want);
                assert_eq!(
                    is_keyframe_sample(codec, &sample, 4).unwrap(),
                    au.keyframe,
                    "{file}"
                );
            }
        }
    }

    #[test]
    fn output_layout_must_fit_the_codec() {
        assert_eq!(
            output_layout(Codec::Hevc, BitstreamLayout::AnnexB).unwrap(),
            BitstreamLayout::AnnexB
        );
        assert!(output_layout(Codec::Hevc, BitstreamLayout::Avcc { length_size: 4 }).is_err());
        assert_eq!(
            output_layout(Codec::H264, BitstreamLayout::Avcc { length_size: 4 }).unwrap(),
            BitstreamLayout::Avcc { length_size: 4 }
        );
    }
}
