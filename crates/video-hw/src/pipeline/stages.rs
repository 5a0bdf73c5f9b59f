//! What the scheduler drives: decode and encode stages (implemented by the sessions), frame
//! transforms (implemented by [`Transformer`]), and the units that flow between them.

use crate::api::encode_input::EncodeInput;
use crate::api::error::{Rejected, Result, VideoError};
use crate::api::frame::DecodedFrame;
use crate::api::packet::{DecodeInput, EncodedChunk};
use crate::metrics::{PictureCounts, Stage};
use crate::session::{DecodeSession, EncodeSession};
use crate::transform::{TransformPath, Transformer};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A decoder as the scheduler sees it: non-blocking submit, bounded-wait reap, flush.
/// [`DecodeSession`] implements it; tests use doubles.
pub trait DecodeStage: Send {
    /// Enqueues `input` if a credit is free now; `Backpressure` gives it back.
    fn try_submit(&mut self, input: DecodeInput) -> std::result::Result<(), Rejected<DecodeInput>>;
    /// The next frame, waiting at most `timeout`.
    fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<DecodedFrame>>;
    /// Decodes everything submitted so far; afterwards `reap_timeout` yields what is left and
    /// then `None`.
    fn flush(&mut self) -> Result<()>;
    /// The conversion the stage would otherwise run on the reaping thread, handed over to the
    /// scheduler's transform pool (the stage then reaps frames unconverted); called once,
    /// before the run, when the caller gave no transform. Default: none.
    fn take_conversion(&mut self) -> Option<Arc<dyn FrameTransform>> {
        None
    }
    /// Frames out against pictures in so far, when the stage counts them.
    fn picture_counts(&self) -> Option<PictureCounts> {
        None
    }
}

/// An encoder as the scheduler sees it. [`EncodeSession`] implements it.
pub trait EncodeStage: Send {
    /// Enqueues `input` if a credit is free now; `Backpressure` gives it back.
    fn try_submit(&mut self, input: EncodeInput) -> std::result::Result<(), Rejected<EncodeInput>>;
    /// The next chunk, waiting at most `timeout`.
    fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<EncodedChunk>>;
    /// Encodes everything submitted so far.
    fn flush(&mut self) -> Result<()>;
}

impl DecodeStage for DecodeSession {
    fn try_submit(&mut self, input: DecodeInput) -> std::result::Result<(), Rejected<DecodeInput>> {
        DecodeSession::try_submit(self, input)
    }
    fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<DecodedFrame>> {
        DecodeSession::reap_timeout(self, timeout)
    }
    fn flush(&mut self) -> Result<()> {
        DecodeSession::flush(self)
    }
    fn take_conversion(&mut self) -> Option<Arc<dyn FrameTransform>> {
        DecodeSession::take_conversion(self).map(|t| Arc::new(t) as Arc<dyn FrameTransform>)
    }
    fn picture_counts(&self) -> Option<PictureCounts> {
        let s = self.summary();
        Some(PictureCounts {
            counted: s.pictures,
            lost: s.pictures_lost,
            extra: s.frames_extra,
            damaged: s.damaged_units,
            concealed: s.pictures_concealed,
        })
    }
}

impl EncodeStage for EncodeSession {
    fn try_submit(&mut self, input: EncodeInput) -> std::result::Result<(), Rejected<EncodeInput>> {
        EncodeSession::try_submit(self, input)
    }
    fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<EncodedChunk>> {
        EncodeSession::reap_timeout(self, timeout)
    }
    fn flush(&mut self) -> Result<()> {
        EncodeSession::flush(self)
    }
}

impl<T: DecodeStage + ?Sized> DecodeStage for &mut T {
    fn try_submit(&mut self, input: DecodeInput) -> std::result::Result<(), Rejected<DecodeInput>> {
        (**self).try_submit(input)
    }
    fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<DecodedFrame>> {
        (**self).reap_timeout(timeout)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
    fn take_conversion(&mut self) -> Option<Arc<dyn FrameTransform>> {
        (**self).take_conversion()
    }
    fn picture_counts(&self) -> Option<PictureCounts> {
        (**self).picture_counts()
    }
}

impl<T: DecodeStage + ?Sized> DecodeStage for Box<T> {
    fn try_submit(&mut self, input: DecodeInput) -> std::result::Result<(), Rejected<DecodeInput>> {
        (**self).try_submit(input)
    }
    fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<DecodedFrame>> {
        (**self).reap_timeout(timeout)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
    fn take_conversion(&mut self) -> Option<Arc<dyn FrameTransform>> {
        (**self).take_conversion()
    }
    fn picture_counts(&self) -> Option<PictureCounts> {
        (**self).picture_counts()
    }
}

impl<T: EncodeStage + ?Sized> EncodeStage for Box<T> {
    fn try_submit(&mut self, input: EncodeInput) -> std::result::Result<(), Rejected<EncodeInput>> {
        (**self).try_submit(input)
    }
    fn reap_timeout(&mut self, timeout: Duration) -> Result<Option<EncodedChunk>> {
        (**self).reap_timeout(timeout)
    }
    fn flush(&mut self) -> Result<()> {
        (**self).flush()
    }
}

/// A transform of decoded frames, run on the transform pool's threads.
/// [`Transformer`] implements it (GPU first, CPU fallback, counted).
pub trait FrameTransform: Send + Sync {
    /// Transforms one frame, saying which path it took.
    fn apply(&self, frame: DecodedFrame) -> Result<(DecodedFrame, TransformPath)>;
}

impl FrameTransform for Transformer {
    fn apply(&self, frame: DecodedFrame) -> Result<(DecodedFrame, TransformPath)> {
        Transformer::apply(self, frame)
    }
}

/// What a run reads: its inputs (`T`: [`IngestItem`] or a picture), in order, each one or the
/// error that ends the input; read on a worker thread.
pub trait InputSource<T>: IntoIterator<Item = Result<T>, IntoIter: Send> {}

impl<T, S: IntoIterator<Item = Result<T>, IntoIter: Send>> InputSource<T> for S {}

/// Where a run's output goes, in order; an error it returns ends the run. Called on a worker
/// thread.
pub trait OutputSink: FnMut(Output) -> Result<()> + Send {}

impl<K: FnMut(Output) -> Result<()> + Send> OutputSink for K {}

/// One input for the scheduler: the compressed data, the generation it belongs to, and whether
/// its frames skip the transform.
#[derive(Debug)]
pub struct IngestItem {
    /// The compressed input.
    pub input: DecodeInput,
    /// Generation (raise it after a seek or a switch: units of lower generations still in
    /// flight become stale).
    pub generation: u64,
    /// The frames of this input keep their native form (bypass the transform queue).
    pub keep_native: bool,
}

impl From<DecodeInput> for IngestItem {
    fn from(input: DecodeInput) -> Self {
        Self {
            input,
            generation: 0,
            keep_native: false,
        }
    }
}

impl IngestItem {
    /// `input` in `generation`.
    pub fn new(input: DecodeInput, generation: u64) -> Self {
        Self {
            input,
            generation,
            keep_native: false,
        }
    }

    /// Marks the frames of this input as `KeepNative`.
    pub fn keep_native(mut self) -> Self {
        self.keep_native = true;
        self
    }
}

/// A unit flowing through the pipeline: an item with its generation and sequence number.
#[derive(Debug)]
pub struct Unit<T> {
    /// The generation of the input that produced it.
    pub generation: u64,
    /// Position in the stage's output order (0, 1, 2, ...).
    pub seq: u64,
    /// Whether the unit bypassed the transform.
    pub keep_native: bool,
    /// Whether it was stale (an older generation) when delivered.
    pub stale: bool,
    /// The payload.
    pub item: T,
    pub(crate) since: Instant,
}

impl<T> Unit<T> {
    pub(crate) fn new(generation: u64, seq: u64, keep_native: bool, item: T) -> Self {
        Self {
            generation,
            seq,
            keep_native,
            stale: false,
            item,
            since: Instant::now(),
        }
    }

    /// Separates the payload from the bookkeeping.
    pub(crate) fn split(self) -> (Unit<()>, T) {
        let Unit {
            generation,
            seq,
            keep_native,
            stale,
            item,
            since,
        } = self;
        let head = Unit {
            generation,
            seq,
            keep_native,
            stale,
            item: (),
            since,
        };
        (head, item)
    }

    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Unit<U> {
        Unit {
            generation: self.generation,
            seq: self.seq,
            keep_native: self.keep_native,
            stale: self.stale,
            item: f(self.item),
            since: self.since,
        }
    }
}

/// What the sink receives, in order.
#[derive(Debug)]
pub enum Output {
    /// A decoded (and maybe transformed) frame (decode-only pipelines).
    Frame(Unit<DecodedFrame>),
    /// An encoded chunk (transcode pipelines).
    Chunk(Unit<EncodedChunk>),
    /// An error a stage reported; the pipeline goes on unless the sink returns an error.
    Error {
        /// Where it happened.
        stage: Stage,
        /// What happened.
        error: VideoError,
    },
}
