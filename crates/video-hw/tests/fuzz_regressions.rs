//! Inputs that once broke a parser (fuzz/regressions/) give typed errors, never a panic, and
//! never an allocation the file cannot pay for. Each test names what it checks.

use video_hw::bitstream::sps::parse_hevc_sps;
use video_hw::bitstream::{AccessUnitAssembler, AnnexBSplitter, ParameterSetCache};
use video_hw::container::{MatroskaDemuxer, Mp4Demuxer};
use video_hw::{Codec, ErrorKind};

/// bitstream-1.bin: a chunk-size byte, then an HEVC SPS whose
/// `log2_max_pic_order_cnt_lsb_minus4` is 2^32-2 (`read_ue(..) + 4` overflowed).
const HEVC_SPS_POC_LSB: &[u8] =
    include_bytes!("../../../fuzz/regressions/bitstream/hevc-sps-poc-lsb-overflow.bin");
/// mp4_demux-1.bin: an ffmpeg fragmented MP4 whose trun claims 16,777,216 samples.
const TRUN_16M: &[u8] =
    include_bytes!("../../../fuzz/regressions/mp4_demux/trun-claims-16m-samples.bin");
/// matroska_demux timeout: an ffmpeg MKV whose Segment opens with a CRC-32 element; the
/// Matroska crate's SeekHead search re-read it forever.
const MKV_CRC32_LOOP: &[u8] =
    include_bytes!("../../../fuzz/regressions/matroska_demux/crc32-first-in-segment-loops.bin");

/// matroska_demux crash: a SimpleBlock whose relative timestamp is -32768 (i16::MIN); the
/// Matroska crate's `abs()` of it overflowed.
const MKV_BLOCK_TS_MIN: &[u8] =
    include_bytes!("../../../fuzz/regressions/matroska_demux/block-timestamp-i16-min.bin");

#[test]
fn hevc_sps_with_out_of_range_poc_lsb_length_is_an_invalid_bitstream_naming_the_field() {
    let err = parse_hevc_sps(&HEVC_SPS_POC_LSB[1..]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidBitstream, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("log2_max_pic_order_cnt_lsb_minus4") && text.contains("4294967294"),
        "the error names the field and its value: {text}"
    );
}

#[test]
fn hevc_sps_with_out_of_range_poc_lsb_length_is_refused_by_the_parameter_set_cache() {
    let mut nal_stream = vec![0, 0, 0, 1];
    nal_stream.extend_from_slice(&HEVC_SPS_POC_LSB[1..]);
    // The path every decode session runs: splitter, access-unit assembler, cache.
    let mut splitter = AnnexBSplitter::new();
    let mut assembler = AccessUnitAssembler::new(Codec::Hevc);
    let (mut nals, mut aus) = (Vec::new(), Vec::new());
    splitter.push(&nal_stream, &mut nals);
    splitter.finish(&mut nals);
    for nal in nals {
        assembler.push(nal, &mut aus);
    }
    assembler.finish(&mut aus);
    let mut cache = ParameterSetCache::new(Codec::Hevc);
    let sps = aus
        .iter()
        .flat_map(|au| &au.nals)
        .next()
        .expect("the SPS NAL");
    let err = cache.insert(sps).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidBitstream, "{err}");
    assert!(
        cache.active_stream_info().is_none(),
        "the broken SPS is not stored"
    );
}

#[test]
fn fragmented_mp4_whose_trun_claims_more_samples_than_the_file_holds_is_an_invalid_bitstream() {
    let err = Mp4Demuxer::from_bytes(TRUN_16M).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidBitstream, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("trun") && text.contains("sample_count = 16777216"),
        "the error names the field and its value: {text}"
    );
}

/// mp4_structured-1 (as a plain file): an MP4 whose `co64` chunk offsets lie just below 2^64,
/// so that offset plus sample sizes overflowed inside the MP4 crate's sample table.
const CO64_OVERFLOW: &[u8] =
    include_bytes!("../../../fuzz/regressions/mp4_demux/co64-offset-overflow.mp4");

#[test]
fn mp4_whose_chunk_offsets_overflow_with_the_sample_sizes_is_an_invalid_bitstream() {
    let err = Mp4Demuxer::from_bytes(CO64_OVERFLOW).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidBitstream, "{err}");
    assert!(err.to_string().contains("chunk offset"), "{err}");
}

#[test]
fn matroska_whose_segment_opens_with_a_crc32_element_stops_with_an_invalid_bitstream() {
    let err = MatroskaDemuxer::new(std::io::Cursor::new(MKV_CRC32_LOOP))
        .and_then(|d| d.collect::<video_hw::Result<Vec<_>>>())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidBitstream, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("in circles") && text.contains("at byte"),
        "the error says what happened and where: {text}"
    );
}

#[test]
fn matroska_block_with_timestamp_i16_min_is_an_error_not_a_panic() {
    // The file may open; reading its blocks ends in a typed error or a clean end.
    if let Ok(demux) = MatroskaDemuxer::new(std::io::Cursor::new(MKV_BLOCK_TS_MIN)) {
        for frame in demux {
            if let Err(e) = frame {
                assert_eq!(e.kind(), ErrorKind::InvalidBitstream, "{e}");
                assert!(e.to_string().contains("at byte"), "{e}");
            }
        }
    }
}

/// bitstream crash (2026-12-02): an HEVC stream where an access unit counted among a CRA
/// picture's RASL pictures also holds an IDR slice; the random-access splitter cut there, inside
/// the leading pictures, and a segment's lookahead overlapped the next segment.
const IDR_INSIDE_CRA_LEADING: &[u8] =
    include_bytes!("../../../fuzz/regressions/bitstream/idr-slice-inside-cra-leading-pictures.bin");

#[test]
fn random_access_cuts_never_fall_inside_a_cra_pictures_leading_pictures() {
    let (selector, stream) = IDR_INSIDE_CRA_LEADING.split_first().unwrap();
    for codec in [Codec::H264, Codec::Hevc] {
        let aus = video_hw::bitstream::assemble_annexb(codec, stream);
        let segments =
            video_hw::bitstream::split_at_random_access(codec, &aus, usize::from(selector % 8));
        let own: usize = segments
            .iter()
            .map(|s| s.access_units + s.skipped - s.lookahead)
            .sum();
        assert_eq!(
            own,
            aus.len(),
            "{codec}: every access unit is one segment's own"
        );
        for pair in segments.windows(2) {
            assert_eq!(
                pair[0].lookahead.saturating_sub(1),
                pair[1].skipped,
                "{codec}"
            );
        }
    }
}
