//! What both MP4 targets do with a file: read every track the demuxer offers.

use std::io::Cursor;
use video_hw::container::{Mp4AudioReader, Mp4Demuxer, Mp4Muxer};

/// Reads the default video track, every other video track by id, and the first audio track
/// (copied into an MP4 muxer).
pub fn read_all(data: &[u8]) {
    let mut video_ids = Vec::new();
    if let Ok(mut demux) = Mp4Demuxer::from_bytes(data) {
        let _ = demux.track();
        video_ids = demux
            .summary()
            .tracks
            .iter()
            .filter(|t| t.is_video())
            .map(|t| t.track_id)
            .take(4)
            .collect();
        while let Ok(Some(sample)) = demux.next_sample() {
            let _ = sample.to_encoded_chunk(demux.track().codec);
            let _ = sample.into_decode_input();
        }
    }
    for id in video_ids.into_iter().skip(1) {
        if let Ok(mut demux) = Mp4Demuxer::with_track(Cursor::new(data), id) {
            while let Ok(Some(_)) = demux.next_sample() {}
        }
    }
    let Ok(mut audio) = Mp4AudioReader::new(Cursor::new(data), None) else {
        return;
    };
    let Ok(mut mux) = Mp4Muxer::new(Cursor::new(Vec::new())) else {
        return;
    };
    let added = mux.add_audio_track(audio.track()).is_ok();
    while let Ok(Some(sample)) = audio.next_sample() {
        if added {
            let _ = mux.write_audio_sample(&sample);
        }
    }
    let _ = mux.finish();
}
