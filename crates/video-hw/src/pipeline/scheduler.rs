//! `PipelineScheduler`: the one driver of decode threads. Every run is made of lanes (one per
//! decode session), each a chain of workers: ingest -> decode submit -> decode reap ->
//! transform pool -> encode submit -> encode reap -> egress, bounded queues in between.

use super::config::PipelineConfig;
use super::encode_lane::EncodeLane;
use super::encode_workers::NoEncoder;
use super::lane::{Lane, LaneInput, LaneOutput, run_lanes};
use super::segments::{SegmentClaims, SegmentDecoder, SegmentQueues, Slot, consume_in_order};
use super::shared::{lock, spawn_worker};
use super::stages::{
    DecodeStage, EncodeStage, FrameTransform, IngestItem, InputSource, Output, OutputSink,
};
use crate::api::error::{Result, VideoError};
use crate::api::frame::DecodedFrame;
use crate::api::raw::EncodeInput;
use crate::metrics::Metrics;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct PipelineSummary {
    /// Inputs read by ingest.
    pub inputs: u64,
    /// Frames decoded.
    pub frames_decoded: u64,
    /// Frames the sink received (decode-only runs).
    pub frames_delivered: u64,
    /// Chunks the sink received (transcode runs).
    pub chunks_delivered: u64,
    /// Errors the sink received.
    pub errors: u64,
    /// Stale units delivered (policy `Deliver`).
    pub stale_delivered: u64,
    /// Stale units dropped (policy `DropAndCount`).
    pub stale_dropped: u64,
}

impl PipelineSummary {
    /// The counts of two runs (or lanes) together.
    fn plus(self, o: Self) -> Self {
        Self {
            inputs: self.inputs + o.inputs,
            frames_decoded: self.frames_decoded + o.frames_decoded,
            frames_delivered: self.frames_delivered + o.frames_delivered,
            chunks_delivered: self.chunks_delivered + o.chunks_delivered,
            errors: self.errors + o.errors,
            stale_delivered: self.stale_delivered + o.stale_delivered,
            stale_dropped: self.stale_dropped + o.stale_dropped,
        }
    }
}

/// Runs decode (and optionally transform and encode) sessions as a pipeline of worker threads
/// with bounded queues between them. It drives one session ([`Self::run_decode`],
/// [`Self::run_transcode`]), several independent sessions at once ([`Self::run_decode_many`]),
/// and several sessions sharing one stream cut into segments ([`Self::run_segments`]).
///
/// - Backpressure flows upstream: a full queue blocks its producer; a session out of credits
///   makes its submit worker wait, which fills the queue in front of it, and so on to ingest.
/// - Frames of inputs marked `keep_native` bypass the transform queue.
/// - Every unit carries the generation of its input; when ingest reads a higher generation,
///   units of lower ones still in flight are stale and handled by
///   [`StalePolicy`](super::StalePolicy) (delivered or dropped, always counted). At a
///   generation change the decoder is flushed, so every frame is tagged with the generation
///   of the input that produced it.
/// - Transforms run only on the pool's `video-hw-transform-N` threads, never on a submit or
///   reap worker.
///
/// Output order: frames in decode output order, chunks in encoder output order, within a
/// generation; errors travel in stream order where the stage that saw them is in line.
#[derive(Debug, Clone)]
pub struct PipelineScheduler {
    config: PipelineConfig,
    metrics: Metrics,
}

impl PipelineScheduler {
    /// A scheduler with `config`, recording into `metrics`.
    pub fn new(config: PipelineConfig, metrics: Metrics) -> Self {
        Self {
            config: config.sanitized(),
            metrics,
        }
    }

    /// The recorder (clone it to read a report afterwards).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The configuration in force.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Decodes everything `source` yields, transforms the frames (unless `keep_native`) and
    /// hands them to `sink` as [`Output::Frame`]. Returns when the source is exhausted and
    /// everything has been delivered, or with the first error of the source or the sink.
    /// Without a `transform`, the conversion the decoder's session chose for its output
    /// ([`DecodeStage::take_conversion`]: the CPU transform or the GPU transform) runs on the
    /// transform pool instead of the reaping worker.
    pub fn run_decode<S: InputSource<IngestItem>, D: DecodeStage, K: OutputSink>(
        &self,
        source: S,
        decoder: D,
        transform: Option<Arc<dyn FrameTransform>>,
        sink: K,
    ) -> Result<PipelineSummary> {
        self.run_one::<S, D, NoEncoder, K>(source, decoder, transform, None, sink)
    }

    /// Decodes, transforms (unless `keep_native`), encodes, and hands the chunks to `sink` as
    /// [`Output::Chunk`]. The transform must produce what the encoder takes (format and size).
    pub fn run_transcode<
        S: InputSource<IngestItem>,
        D: DecodeStage,
        E: EncodeStage,
        K: OutputSink,
    >(
        &self,
        source: S,
        decoder: D,
        transform: Option<Arc<dyn FrameTransform>>,
        encoder: E,
        sink: K,
    ) -> Result<PipelineSummary> {
        self.run_one(source, decoder, transform, Some(encoder), sink)
    }

    /// Runs one decode pipeline per `(source, decoder, sink)` at once, each as
    /// [`Self::run_decode`] without a transform (each session's own conversion runs on a pool
    /// of its lane), all recording into this scheduler's metrics. Returns every lane's summary
    /// in order once all have ended, or the first lane's error.
    pub fn run_decode_many<S: InputSource<IngestItem>, D: DecodeStage, K: OutputSink>(
        &self,
        lanes: impl IntoIterator<Item = (S, D, K)>,
    ) -> Result<Vec<PipelineSummary>> {
        let mut prepared = Vec::new();
        for (source, mut decoder, sink) in lanes {
            let transform = decoder.take_conversion();
            let lane = Lane::<D, NoEncoder>::new(
                self.config,
                &self.metrics,
                decoder,
                transform,
                None,
                true,
            )?;
            prepared.push((lane, (source.into_iter(), sink)));
        }
        run_lanes(prepared)
    }

    /// Encodes the pictures of every `(source, encoder, sink)` at once, one lane each
    /// (ingest, encode submit, encode reap, egress), and hands each lane's chunks to its sink
    /// as [`Output::Chunk`], in encoder output order, all recording into this scheduler's
    /// metrics. Returns every lane's summary in order once all have ended, or the first
    /// lane's error.
    pub fn run_encode_many<S: InputSource<EncodeInput>, E: EncodeStage, K: OutputSink>(
        &self,
        lanes: impl IntoIterator<Item = (S, E, K)>,
    ) -> Result<Vec<PipelineSummary>> {
        let prepared = lanes
            .into_iter()
            .map(|(source, encoder, sink)| {
                let lane = EncodeLane::new(self.config, &self.metrics, encoder);
                (lane, (source.into_iter(), sink))
            })
            .collect();
        run_lanes(prepared)
    }

    /// Decodes one stream cut into `segments` (each one a stream of its own that starts at an
    /// IDR picture, in stream order) with all `decoders` at once, and hands every frame to
    /// `on_item` in stream order on the calling thread: all of segment 0, then all of
    /// segment 1, and so on. A decode error reaches `on_item` as `Err` in its place; an error
    /// returned by `on_item` stops every lane and is returned.
    ///
    /// Each decoder runs in a lane of its own (ingest, decode submit, decode reap) that claims
    /// the next segment nobody has taken once it has offered its decoder the previous one,
    /// feeds it in inputs of `chunk_size` bytes as one generation (so the decoder is flushed
    /// at its end) and puts its frames in the segment's queue. A queue holds up to
    /// `frames_ahead` frames: a lane ahead of the caller waits there, so memory stays bounded.
    /// Frames leave the lanes as their sessions made them (no transform pool).
    /// `frames_delivered` and `errors` count what `on_item` received.
    pub fn run_segments<D: DecodeStage>(
        &self,
        segments: &[&[u8]],
        chunk_size: usize,
        frames_ahead: usize,
        decoders: Vec<D>,
        on_item: impl FnMut(Result<DecodedFrame>) -> Result<()>,
    ) -> Result<PipelineSummary> {
        let keep_all = vec![0; segments.len()];
        self.run_segments_trimmed(
            segments,
            &keep_all,
            chunk_size,
            frames_ahead,
            decoders,
            on_item,
        )
    }

    /// [`PipelineScheduler::run_segments`], dropping the last `drop_last[i]` frames (in
    /// output order) of segment `i`: what a segment decoded past its end only to output the
    /// pictures before it (an HEVC CRA picture after its RASL pictures, see
    /// [`crate::bitstream::split_at_random_access`]).
    pub fn run_segments_trimmed<D: DecodeStage>(
        &self,
        segments: &[&[u8]],
        drop_last: &[usize],
        chunk_size: usize,
        frames_ahead: usize,
        decoders: Vec<D>,
        on_item: impl FnMut(Result<DecodedFrame>) -> Result<()>,
    ) -> Result<PipelineSummary> {
        self.run_segments_notified(
            segments,
            drop_last,
            chunk_size,
            frames_ahead,
            decoders,
            on_item,
            || {},
        )
    }

    /// [`PipelineScheduler::run_segments_trimmed`], calling `all_delivered` once every item has
    /// reached `on_item`, before the sessions close (closing a hardware decoder waits on the
    /// driver), so that a consumer elsewhere can go on meanwhile. Not called when `on_item`
    /// stopped the run.
    #[allow(clippy::too_many_arguments)]
    pub fn run_segments_notified<D: DecodeStage>(
        &self,
        segments: &[&[u8]],
        drop_last: &[usize],
        chunk_size: usize,
        frames_ahead: usize,
        decoders: Vec<D>,
        on_item: impl FnMut(Result<DecodedFrame>) -> Result<()>,
        all_delivered: impl FnOnce(),
    ) -> Result<PipelineSummary> {
        let run = SegmentRun {
            segments,
            drop_last,
            chunk_size,
            frames_ahead,
        };
        let decoders = decoders.into_iter().map(SegmentDecoder::Open).collect();
        self.run_segments_opening(run, decoders, on_item, all_delivered)
    }

    /// [`PipelineScheduler::run_segments_notified`] for `run`, where some decoders may still
    /// have to open ([`SegmentDecoder::Opening`]): each opens on a thread of its own while
    /// the open ones decode, and claims segments once it is open. Lanes that fail to open
    /// take no segment; the run fails with the first such error only when no lane opened.
    pub fn run_segments_opening<'a, D: DecodeStage + 'a>(
        &self,
        run: SegmentRun<'_>,
        decoders: Vec<SegmentDecoder<'a, D>>,
        mut on_item: impl FnMut(Result<DecodedFrame>) -> Result<()>,
        all_delivered: impl FnOnce(),
    ) -> Result<PipelineSummary> {
        let (slots, opening): (Vec<_>, Vec<_>) = decoders
            .into_iter()
            .map(|d| match d {
                SegmentDecoder::Open(d) => (Slot(Some(d)), None),
                SegmentDecoder::Opening(open) => (Slot(None), Some(open)),
            })
            .unzip();
        let lanes = slots
            .into_iter()
            .map(|slot| {
                Lane::<Slot<D>, NoEncoder>::new(self.config, &self.metrics, slot, None, None, false)
            })
            .collect::<Result<Vec<_>>>()?;
        let (queues, receivers) = SegmentQueues::new(run.segments.len(), run.frames_ahead);
        let next = AtomicUsize::new(0);
        let claims = SegmentClaims {
            segments: run.segments,
            next: &next,
            chunk_size: run.chunk_size,
        };
        // Lanes given their decoder, counted before they start: once every segment's queue
        // has closed, none counted means none ran.
        let running = AtomicUsize::new(0);
        let open_failure: Mutex<Option<VideoError>> = Mutex::new(None);
        let mut errors = 0u64;
        let mut all_delivered = Some(all_delivered);
        let delivered = std::thread::scope(|s| -> Result<u64> {
            let started = lanes.iter().zip(opening).try_for_each(|(lane, open)| {
                let output = LaneOutput::<NoSink>::Segments(queues.clone());
                let input = LaneInput::<NoSource>::Segments(claims);
                let Some(open) = open else {
                    running.fetch_add(1, Ordering::Relaxed);
                    return lane.spawn(s, input, output);
                };
                let (running, open_failure) = (&running, &open_failure);
                spawn_worker(s, "open", move || {
                    let opened = open().and_then(|d| {
                        if lane.aborted() {
                            return Ok(());
                        }
                        lane.install(d);
                        running.fetch_add(1, Ordering::Relaxed);
                        lane.spawn(s, input, output).inspect_err(|_| {
                            running.fetch_sub(1, Ordering::Relaxed);
                        })
                    });
                    if let Err(e) = opened {
                        lock(open_failure).get_or_insert(e);
                    }
                })
            });
            drop(queues);
            let result = started
                .and_then(|()| {
                    consume_in_order(receivers, run.drop_last, &mut |item| {
                        errors += u64::from(item.is_err());
                        on_item(item)
                    })
                })
                .and_then(|frames| {
                    // Every queue has closed: a lane that opens later finds nothing to claim.
                    if running.load(Ordering::Relaxed) == 0 && !run.segments.is_empty() {
                        return Err(lock(&open_failure).take().unwrap_or_else(|| {
                            VideoError::backend("no decoder of the segmented run opened")
                        }));
                    }
                    // Said before the lanes still opening have ended, as before the close.
                    if let Some(done) = all_delivered.take() {
                        done();
                    }
                    Ok(frames)
                });
            if result.is_err() {
                // The queues' readers are gone; stop the lanes that wait on their sessions.
                lanes.iter().for_each(Lane::abort);
            }
            result
        })?;
        // Closed at once, each on a thread of its own: closing a hardware decoder waits on the
        // driver (`cuvidDestroyDecoder`: tens to hundreds of milliseconds), and the waits
        // overlap rather than add up.
        let finished: Vec<Result<PipelineSummary>> = std::thread::scope(|s| {
            let handles: Vec<_> = lanes
                .into_iter()
                .map(|lane| s.spawn(move || lane.finish()))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(VideoError::backend("closing a decode lane panicked"))
                    })
                })
                .collect()
        });
        let mut total = finished
            .into_iter()
            .try_fold(PipelineSummary::default(), |acc, l| l.map(|l| acc.plus(l)))?;
        total.frames_delivered = delivered;
        total.errors = errors;
        Ok(total)
    }

    fn run_one<S: InputSource<IngestItem>, D: DecodeStage, E: EncodeStage, K: OutputSink>(
        &self,
        source: S,
        mut decoder: D,
        transform: Option<Arc<dyn FrameTransform>>,
        encoder: Option<E>,
        sink: K,
    ) -> Result<PipelineSummary> {
        let transform = transform.or_else(|| decoder.take_conversion());
        let lane = Lane::new(
            self.config,
            &self.metrics,
            decoder,
            transform,
            encoder,
            true,
        )?;
        let mut summaries = run_lanes(vec![(lane, (source.into_iter(), sink))])?;
        Ok(summaries.pop().unwrap_or_default())
    }
}

/// The stream of a segmented run ([`PipelineScheduler::run_segments_opening`]).
#[derive(Debug, Clone, Copy)]
pub struct SegmentRun<'a> {
    /// The segments, each a stream of its own that starts at a random-access picture, in
    /// stream order.
    pub segments: &'a [&'a [u8]],
    /// Frames dropped at the end of each segment (in output order; see
    /// [`PipelineScheduler::run_segments_trimmed`]); missing entries drop none.
    pub drop_last: &'a [usize],
    /// Bytes per input.
    pub chunk_size: usize,
    /// Frames a segment's queue holds before its lane waits.
    pub frames_ahead: usize,
}

/// The sink type of lanes that deliver to segment queues.
type NoSink = fn(Output) -> Result<()>;
/// The source type of lanes that claim segments.
type NoSource = std::iter::Empty<Result<IngestItem>>;
