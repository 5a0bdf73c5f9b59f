//! What the bitstream targets run on their input: every parser of the bitstream layer.

use video_hw::Codec;
use video_hw::bitstream::avcc::AvcDecoderConfigurationRecord;
use video_hw::bitstream::hvcc::HevcDecoderConfigurationRecord;
use video_hw::bitstream::sps::{parse_h264_sps, parse_hevc_sps};
use video_hw::bitstream::vp9::{parse_frame_header, split_superframe, vpcc};
use video_hw::bitstream::{
    AccessUnit, AccessUnitAssembler, AnnexBSplitter, Framing, layout, split_at_idr,
    split_at_random_access, syntax,
};
use video_hw::container::{IvfReader, MatroskaDemuxer, TsDemuxer};

/// Splits `stream` in chunks of `chunk` bytes, assembles access units for both codecs,
/// converts them, splits at IDRs and at random-access pictures (the segments must hold every
/// access unit once), and parses
/// `stream` as an SPS, a configuration record and length-prefixed data. `selector` picks the
/// segment size and the length size.
pub fn bitstream(selector: u8, stream: &[u8]) {
    let chunk = usize::from(selector).max(1);
    let nal_codecs = Codec::ALL
        .into_iter()
        .filter(|c| syntax(*c).framing() == Framing::NalUnits);
    for codec in nal_codecs {
        let mut splitter = AnnexBSplitter::new();
        let mut assembler = AccessUnitAssembler::new(codec);
        let (mut nals, mut aus) = (Vec::new(), Vec::new());
        for piece in stream.chunks(chunk) {
            splitter.push(piece, &mut nals);
            for nal in nals.drain(..) {
                assembler.push(nal, &mut aus);
            }
        }
        splitter.finish(&mut nals);
        for nal in nals.drain(..) {
            assembler.push(nal, &mut aus);
        }
        assembler.finish(&mut aus);
        for au in &aus {
            let _ = au.to_length_prefixed(4);
            for nal in &au.nals {
                let _ = parse_h264_sps(nal);
                let _ = parse_hevc_sps(nal);
            }
        }
        let segments = split_at_idr(codec, &aus, usize::from(selector % 8));
        assert_eq!(
            segments.iter().map(|s| s.access_units).sum::<usize>(),
            aus.len()
        );
        // Cuts at CRA pictures too: every access unit is a segment's own once (the RASL
        // pictures a segment leaves out are in the lookahead of the one before).
        let segments = split_at_random_access(codec, &aus, usize::from(selector % 8));
        assert_eq!(
            segments
                .iter()
                .map(|s| s.access_units + s.skipped - s.lookahead)
                .sum::<usize>(),
            aus.len()
        );
        for pair in segments.windows(2) {
            assert_eq!(pair[0].lookahead.saturating_sub(1), pair[1].skipped);
        }
    }
    let _ = parse_h264_sps(stream);
    let _ = parse_hevc_sps(stream);
    records(stream);
    let _ = layout::split_length_prefixed(stream, selector % 5);
}

/// Parses `bytes` as an `avcC` and an `hvcC` payload, writing back what parses.
pub fn records(bytes: &[u8]) {
    if let Ok(rec) = AvcDecoderConfigurationRecord::parse(bytes) {
        let _ = rec.to_bytes();
    }
    if let Ok(rec) = HevcDecoderConfigurationRecord::parse(bytes) {
        let _ = rec.to_bytes();
    }
}

/// Reads `bytes` as an IVF file (at most 256 frames) and every frame as VP9: superframe
/// index, frame headers, and the VP9 room's trackers; then `bytes` itself as one VP9 frame
/// and as a `vpcC` payload. Frames never hold more than the file did.
pub fn vp9_ivf(bytes: &[u8]) {
    let room = syntax(Codec::Vp9);
    let (mut pictures, mut features, mut sequence) =
        (room.picture_tally(), room.feature_track(), room.sequence_track());
    if let Ok(reader) = IvfReader::new(bytes) {
        let mut total = 0usize;
        for frame in reader.take(256) {
            let Ok(frame) = frame else { break };
            total += frame.data.len();
            assert!(total <= bytes.len(), "frames hold more bytes than the file");
            vp9_frame(&frame.data);
            let au = AccessUnit::from_nals(Codec::Vp9, vec![frame.data], Some(frame.pts));
            pictures.push(&au);
            let _ = features.observe(&au);
            sequence.observe(&au);
            let _ = au.decoder_bytes();
        }
    }
    vp9_frame(bytes);
    let _ = vpcc::VpCodecConfigurationRecord::parse(bytes);
}

fn vp9_frame(chunk: &[u8]) {
    if let Ok(frames) = split_superframe(chunk) {
        assert!(frames.iter().map(|f| f.len()).sum::<usize>() <= chunk.len());
        for f in frames {
            let _ = parse_frame_header(f);
        }
    }
    let _ = parse_frame_header(chunk);
}

/// Reads `bytes` as a Matroska/WebM file (at most 512 frames of its video track) and the
/// frames as decoder input. The frames never hold more bytes than the file (the first one
/// may also carry the `CodecPrivate` parameter sets, which are in the file too).
pub fn matroska(bytes: &[u8]) {
    let Ok(demux) = MatroskaDemuxer::new(std::io::Cursor::new(bytes)) else {
        return;
    };
    let mut total = 0usize;
    for frame in demux.take(512) {
        let Ok(frame) = frame else { break };
        total += frame.data.len();
        assert!(total <= 2 * bytes.len(), "frames hold more bytes than the file");
        let _ = frame.into_decode_input();
    }
}

/// Reads `bytes` as an MPEG-TS or M2TS stream (at most 512 PES packets of its video
/// stream). Nothing may panic or loop; the PES packets never hold more bytes than the
/// stream, and what was skipped never exceeds it either.
pub fn mpeg_ts(bytes: &[u8]) {
    let Ok(mut demux) = TsDemuxer::new(bytes) else {
        return;
    };
    let mut total = 0usize;
    for frame in demux.by_ref().take(512) {
        let Ok(frame) = frame else { break };
        total += frame.data.len();
        assert!(total <= bytes.len(), "PES packets hold more bytes than the stream");
    }
    assert!(demux.summary().bytes_skipped <= bytes.len() as u64);
}
