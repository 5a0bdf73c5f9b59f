//! Segmented runs whose decoders open while the run goes on
//! ([`PipelineScheduler::run_segments_opening`]), on the decoder double of `tests`.

use super::tests::{DecoderDouble, ThreadLog, config, luma_of};
use super::*;
use crate::api::error::{Rejected, Result, VideoError};
use crate::api::frame::DecodedFrame;
use crate::api::packet::DecodeInput;
use crate::metrics::Metrics;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The double, recording which lane (`id`) was offered which first byte.
struct Tagged {
    id: usize,
    inner: DecoderDouble,
    offered: Arc<Mutex<Vec<(usize, u8)>>>,
}

impl DecodeStage for Tagged {
    fn try_submit(&mut self, input: DecodeInput) -> std::result::Result<(), Rejected<DecodeInput>> {
        if let DecodeInput::AnnexB { data, .. } = &input {
            self.offered.lock().unwrap().push((self.id, data[0]));
        }
        self.inner.try_submit(input)
    }
    fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<DecodedFrame>> {
        self.inner.reap_timeout(timeout)
    }
    fn flush(&mut self) -> Result<()> {
        self.inner.flush()
    }
}

/// Six segments of five one-byte frames, values 1..=30.
fn segments() -> Vec<Vec<u8>> {
    (0..6u8)
        .map(|s| (1..=5).map(|i| s * 5 + i).collect())
        .collect()
}

/// Runs `segments` on `decoders`, one byte per input; the frames' luma, or the run's error.
fn run_opening(
    segments: &[Vec<u8>],
    decoders: Vec<SegmentDecoder<'_, Tagged>>,
) -> Result<(PipelineSummary, Vec<u8>)> {
    let sched = PipelineScheduler::new(config(), Metrics::new());
    let data: Vec<&[u8]> = segments.iter().map(Vec::as_slice).collect();
    let run = SegmentRun {
        segments: &data,
        drop_last: &[],
        chunk_size: 1,
        frames_ahead: 64,
    };
    let mut got = Vec::new();
    let summary = sched.run_segments_opening(
        run,
        decoders,
        |item| {
            got.push(luma_of(&item?));
            Ok(())
        },
        || {},
    )?;
    Ok((summary, got))
}

#[test]
fn an_open_decoder_takes_the_first_segment_while_the_others_open() {
    let log = Arc::new(ThreadLog::default());
    let offered = Arc::new(Mutex::new(Vec::new()));
    let tagged = |id| Tagged {
        id,
        inner: DecoderDouble::new(2, log.clone()),
        offered: offered.clone(),
    };
    let slow = |id| -> SegmentDecoder<'_, Tagged> {
        let t = tagged(id);
        SegmentDecoder::Opening(Box::new(move || {
            std::thread::sleep(Duration::from_millis(50));
            Ok(t)
        }))
    };
    let failing = SegmentDecoder::Opening(Box::new(|| {
        Err(VideoError::unsupported("the double has no engine left"))
    }));
    let decoders = vec![slow(1), failing, SegmentDecoder::Open(tagged(0)), slow(3)];
    let segments = segments();
    let (summary, got) = run_opening(&segments, decoders).unwrap();
    assert_eq!(got, segments.concat(), "every frame, in stream order");
    assert_eq!(summary.frames_delivered, 30);
    let offered = offered.lock().unwrap();
    assert_eq!(
        offered.first(),
        Some(&(0, 1)),
        "the open decoder started, with the first segment: {offered:?}"
    );
    // Every segment went to one lane whole.
    for seg in &segments {
        let lanes: std::collections::BTreeSet<usize> = offered
            .iter()
            .filter(|(_, b)| seg.contains(b))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(lanes.len(), 1, "segment {seg:?} went to {lanes:?}");
    }
}

#[test]
fn a_segmented_run_fails_only_when_no_decoder_opens() {
    let failing = || -> SegmentDecoder<'static, Tagged> {
        SegmentDecoder::Opening(Box::new(|| {
            Err(VideoError::unsupported("the double has no engine left"))
        }))
    };
    let err = run_opening(&segments(), vec![failing(), failing()]).unwrap_err();
    assert!(err.to_string().contains("no engine left"), "{err}");
    // Nothing to decode: nothing fails.
    let (summary, got) = run_opening(&[], vec![failing()]).unwrap();
    assert_eq!((summary.frames_delivered, got.len()), (0, 0));
}
