//! The double of the decode calls: format descriptions checked like Core Media checks them, a
//! decompression session whose output callback runs on a thread of its own, and pictures
//! decoded by the software decoder (the "codec engine": the double models VideoToolbox's
//! API, not its codec).
//!
//! Modelled from Apple's documentation:
//! - `VTDecompressionSessionDecodeFrame`: "If an error is returned from this function, there
//!   will be no callback"; with temporal processing it "may return before the output callback
//!   function is called"
//!   (<https://docs.rs/objc2-video-toolbox/0.3.0/objc2_video_toolbox/fn.VTDecompressionSessionDecodeFrame.html>);
//!   without asynchronous decompression the decoder "emits every frame before it returns"
//!   (<https://developer.apple.com/documentation/videotoolbox/vtdecodeframeflags/kvtdecodeframe_enableasynchronousdecompression.md>),
//!   which the double does, on its callback thread.
//! - `kVTDecodeInfo_FrameDropped`: the callback runs without an image for a dropped frame
//!   (<https://developer.apple.com/documentation/videotoolbox/vtdecodeinfoflags/framedropped.md>);
//!   damaged data is the callback's `kVTVideoDecoderBadDataErr` status for that frame.
//! - `kVTDecodeFrame_EnableTemporalProcessing`: the decoder may delay frames "at least until
//!   `VTDecompressionSessionFinishDelayedFrames` or `VTDecompressionSessionInvalidate` is called"
//!   (<https://developer.apple.com/tutorials/data/documentation/videotoolbox/vtdecodeframeflags/kvtdecodeframe_enabletemporalprocessing.md>);
//!   the double emits frames in display order, or in decode order ([`super::Order::Decode`],
//!   out of presentation order with B-frames) to check that the adapter reorders itself.
//! - `VTDecompressionSessionWaitForAsynchronousFrames`: "Waits for any and all outstanding
//!   asynchronous and delayed frames to complete, then returns"
//!   (<https://developer.apple.com/documentation/videotoolbox/vtdecompressionsessionwaitforasynchronousframes(_:).md>).
//! - `VTDecompressionSessionInvalidate`: "a deterministic, orderly teardown"; no callback
//!   after it (<https://apple-docs.everest.mt/docs/videotoolbox/vtdecompressionsessioninvalidate(_:).md>).
//! - Interruptions: sessions become invalid while the app is not in the foreground, and the
//!   client only learns it from `kVTInvalidSessionErr` on its next call; the remedy is a new
//!   session (WebRTC's VideoToolbox decoder:
//!   <https://git.voipobjects.com/admin/webrtc_m130/src/commit/56cf60e71719e111ce02dd9832b0ff85bcc153a9/webrtc/modules/video_coding/codecs/h264>).
//!   Frames still pending in the dead session never come out.

use super::image::{DoubleImage, Image};
use super::{Interruption, Log, Order, Script};
use crate::api::codec::{Codec, Timestamp};
use crate::api::config::{DecodeOutput, DecoderConfig, OnError};
use crate::api::error::{Result, VideoError};
use crate::api::frame::{GpuSurface, PixelFormat};
use crate::backend::videotoolbox::calls::{
    CmTime, DECODER_BAD_DATA, DecodeCalls, DecodeDelivery, DecodeQueue, INFO_FRAME_DROPPED,
    INVALID_SESSION, ImageInfo, LockStatus, LockedPlane, NO_ERR,
};
use crate::backend::videotoolbox::color::to_attachments;
use crate::backend::videotoolbox::format_description::FormatInputs;
use crate::backend::videotoolbox::status::status_error;
use crate::backend::videotoolbox::timing::to_cmtime;
use crate::backend::{Backend, DecoderBackend};
use crate::bitstream::{AccessUnit, StreamInfo, layout, nal};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// `kCMFormatDescriptionError_InvalidParameter`.
const FORMAT_INVALID_PARAMETER: i32 = -12710;
/// `kVTCouldNotFindVideoDecoderErr`.
const NO_DECODER: i32 = -12906;

/// The double's format description.
pub(crate) struct DoubleFormat {
    inputs: FormatInputs,
    sps: StreamInfo,
}

/// One job for the session's callback thread.
enum Job {
    Decode {
        call: usize,
        submission: u64,
        nals: Vec<Vec<u8>>,
        pts: CmTime,
        done: Sender<()>,
    },
    Wait(Sender<()>),
}

/// The double's decompression session.
pub(crate) struct DoubleSession {
    jobs: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    invalid: Arc<AtomicBool>,
    /// Whether a sample went in (parameter sets go with the first and with keyframes).
    started: AtomicBool,
    parameter_sets: Vec<Vec<u8>>,
}

/// The decode calls' double (see the module doc).
pub(crate) struct DoubleDecodeCalls {
    pub script: Arc<Script>,
    pub log: Arc<Mutex<Log>>,
    /// `decode_frame` calls so far (1-based numbers in the script).
    calls: usize,
}

impl DoubleDecodeCalls {
    pub(crate) fn new(script: Arc<Script>, log: Arc<Mutex<Log>>) -> Self {
        Self {
            script,
            log,
            calls: 0,
        }
    }

    fn note(&self, what: impl Into<String>) {
        if let Ok(mut log) = self.log.lock() {
            log.calls.push(what.into());
        }
    }
}

impl DecodeCalls for DoubleDecodeCalls {
    type Format = DoubleFormat;
    type Session = DoubleSession;
    type Image = Image;

    fn create_format(&mut self, inputs: &FormatInputs) -> Result<DoubleFormat> {
        self.note("CMVideoFormatDescriptionCreate");
        let sps = inputs
            .parameter_sets
            .iter()
            .find(|n| {
                nal::nal_type(inputs.codec, n)
                    == Some(if inputs.codec == Codec::H264 { 7 } else { 33 })
            })
            .map(|n| match inputs.codec {
                Codec::H264 => crate::bitstream::parse_h264_sps(n),
                _ => crate::bitstream::parse_hevc_sps(n),
            });
        match sps {
            Some(Ok(sps)) => Ok(DoubleFormat {
                inputs: inputs.clone(),
                sps,
            }),
            _ => Err(status_error(
                "CMVideoFormatDescriptionCreateFromParameterSets",
                FORMAT_INVALID_PARAMETER,
            )),
        }
    }

    fn can_accept(&mut self, _session: &DoubleSession, format: &DoubleFormat) -> bool {
        self.note("VTDecompressionSessionCanAcceptFormatDescription");
        // The decoder switches in place when the picture format stays (a real decoder may
        // accept more; the adapter must cope with either answer).
        let last = self.log.lock().ok().and_then(|l| l.session_format);
        last == Some((
            format.sps.coded,
            format.sps.bit_depth_luma,
            format.sps.chroma_format_idc,
        ))
    }

    fn create_session(
        &mut self,
        format: &DoubleFormat,
        pixel_format: u32,
        queue: &DecodeQueue<Image>,
    ) -> Result<DoubleSession> {
        self.note("VTDecompressionSessionCreate");
        let config = DecoderConfig::new(format.inputs.codec)
            .with_output(DecodeOutput::Cpu(PixelFormat::I420));
        let mut config = config;
        config.on_error = OnError::Stop;
        let factory = crate::backend::decoder_factory(Backend::Software, &config).map_err(|e| {
            status_error("VTDecompressionSessionCreate", NO_DECODER).while_doing(e.to_string())
        })?;
        if let Ok(mut log) = self.log.lock() {
            log.sessions_created += 1;
            log.session_format = Some((
                format.sps.coded,
                format.sps.bit_depth_luma,
                format.sps.chroma_format_idc,
            ));
        }
        let (tx, rx) = channel::<Job>();
        let invalid = Arc::new(AtomicBool::new(false));
        let mut thread = CallbackThread {
            script: self.script.clone(),
            log: self.log.clone(),
            queue: queue.clone(),
            invalid: invalid.clone(),
            codec: format.inputs.codec,
            pixel_format,
            jobs: BTreeMap::new(),
            unreleased: BTreeSet::new(),
            ready: BTreeMap::new(),
        };
        let handle = std::thread::Builder::new()
            .name("vt-double-callback".into())
            .spawn(move || {
                let mut engine = match factory() {
                    Ok(e) => e,
                    Err(_) => return,
                };
                for job in rx {
                    match job {
                        Job::Decode {
                            call,
                            submission,
                            nals,
                            pts,
                            done,
                        } => {
                            thread.decode(&mut *engine, call, submission, nals, pts);
                            let _ = done.send(());
                        }
                        Job::Wait(done) => {
                            thread.finish(&mut *engine);
                            let _ = done.send(());
                        }
                    }
                }
            })
            .map_err(|e| VideoError::backend(format!("double: no callback thread: {e}")))?;
        Ok(DoubleSession {
            jobs: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(handle)),
            invalid,
            started: AtomicBool::new(false),
            parameter_sets: format.inputs.parameter_sets.clone(),
        })
    }

    fn decode_frame(
        &mut self,
        session: &DoubleSession,
        format: &DoubleFormat,
        sample: &[u8],
        pts: Option<Timestamp>,
        submission: u64,
    ) -> Result<(i32, u32)> {
        self.calls += 1;
        let call = self.calls;
        self.note(format!(
            "VTDecompressionSessionDecodeFrame #{call} submission {submission}"
        ));
        if session.invalid.load(Ordering::SeqCst) {
            return Ok((INVALID_SESSION, 0));
        }
        if self.script.interruption == Some(Interruption::AtCall(call)) {
            // The interruption: the session is gone, and with it every pending frame.
            session.invalid.store(true, Ordering::SeqCst);
            kill(session);
            return Ok((INVALID_SESSION, 0));
        }
        let mut nals = layout::split_length_prefixed(sample, 4)?;
        let keyframe = nals
            .iter()
            .any(|n| nal::is_keyframe(format.inputs.codec, n));
        if !session.started.swap(true, Ordering::SeqCst) || keyframe {
            let mut with_sets = session.parameter_sets.clone();
            with_sets.append(&mut nals);
            nals = with_sets;
        }
        let pts = pts.map(to_cmtime);
        let (done, finished) = channel();
        let job = Job::Decode {
            call,
            submission,
            nals,
            pts,
            done,
        };
        let sent = session
            .jobs
            .lock()
            .ok()
            .and_then(|tx| tx.as_ref().map(|tx| tx.send(job).is_ok()));
        // Without kVTDecodeFrame_EnableAsynchronousDecompression "the video decoder emits every
        // frame before it returns" (frames temporal processing delays excepted):
        // <https://developer.apple.com/documentation/videotoolbox/vtdecodeframeflags/kvtdecodeframe_enableasynchronousdecompression.md>.
        // The callback still runs on the session's own thread.
        if sent != Some(true) || finished.recv().is_err() {
            return Ok((INVALID_SESSION, 0));
        }
        Ok((NO_ERR, 0))
    }

    fn wait_for_asynchronous_frames(&mut self, session: &DoubleSession) -> i32 {
        self.note("VTDecompressionSessionWaitForAsynchronousFrames");
        if session.invalid.load(Ordering::SeqCst) {
            return INVALID_SESSION;
        }
        let (done, wait) = channel();
        let sent = session
            .jobs
            .lock()
            .ok()
            .and_then(|tx| tx.as_ref().map(|tx| tx.send(Job::Wait(done)).is_ok()));
        if sent != Some(true) || wait.recv().is_err() {
            return INVALID_SESSION;
        }
        if session.invalid.load(Ordering::SeqCst) {
            INVALID_SESSION
        } else {
            NO_ERR
        }
    }

    fn invalidate(&mut self, session: &DoubleSession) {
        self.note("VTDecompressionSessionInvalidate");
        kill(session);
        if let Ok(mut log) = self.log.lock() {
            log.invalidations += 1;
        }
    }

    fn image_info(&self, image: &Image) -> ImageInfo {
        image.info.clone()
    }

    fn read_planes(&self, image: &Image, read: &mut dyn FnMut(&[LockedPlane<'_>])) -> LockStatus {
        image.read(read)
    }

    fn gpu_surface(&self, image: Image) -> GpuSurface {
        DoubleImage::surface(image)
    }
}

/// Ends the callback thread and waits for it: no callback after this returns.
fn kill(session: &DoubleSession) {
    if let Ok(mut tx) = session.jobs.lock() {
        tx.take();
    }
    if let Ok(mut t) = session.thread.lock()
        && let Some(t) = t.take()
    {
        let _ = t.join();
    }
}

/// What the session's callback thread knows about one submitted frame.
struct JobInfo {
    submission: u64,
    pts: CmTime,
    answered: bool,
}

/// The callback thread: decodes with the engine and calls "the output callback" (pushes
/// onto the adapter's queue).
struct CallbackThread {
    script: Arc<Script>,
    log: Arc<Mutex<Log>>,
    queue: DecodeQueue<Image>,
    invalid: Arc<AtomicBool>,
    codec: Codec,
    pixel_format: u32,
    jobs: BTreeMap<usize, JobInfo>,
    /// Calls not yet released to the callback, in decode order ([`Order::Decode`]).
    unreleased: BTreeSet<usize>,
    ready: BTreeMap<usize, DecodeDelivery<Image>>,
}

impl CallbackThread {
    fn decode(
        &mut self,
        engine: &mut dyn DecoderBackend,
        call: usize,
        submission: u64,
        nals: Vec<Vec<u8>>,
        pts: CmTime,
    ) {
        if self.invalid.load(Ordering::SeqCst) {
            return;
        }
        self.jobs.insert(
            call,
            JobInfo {
                submission,
                pts,
                answered: false,
            },
        );
        self.unreleased.insert(call);
        if self.script.interruption == Some(Interruption::InCallback(call)) {
            // The session died while decoding this frame: the callback says so, for this
            // frame and every later one.
            self.invalid.store(true, Ordering::SeqCst);
            self.answer(call, INVALID_SESSION, 0, None);
            return;
        }
        let token = Timestamp::mpeg(call as i64);
        let au = AccessUnit::from_nals(self.codec, nals, Some(token));
        let mut frames = Vec::new();
        let result = engine.decode(&au, &mut frames);
        self.deliver_frames(frames);
        if result.is_err() && !self.jobs.get(&call).is_some_and(|j| j.answered) {
            self.answer(call, DECODER_BAD_DATA, 0, None);
        }
    }

    fn finish(&mut self, engine: &mut dyn DecoderBackend) {
        if self.invalid.load(Ordering::SeqCst) {
            return;
        }
        let mut frames = Vec::new();
        let _ = engine.flush(&mut frames);
        self.deliver_frames(frames);
        // Every frame gets its callback: one the engine never produced is bad data.
        let missing: Vec<usize> = self
            .jobs
            .iter()
            .filter(|(_, j)| !j.answered)
            .map(|(c, _)| *c)
            .collect();
        for call in missing {
            self.answer(call, DECODER_BAD_DATA, 0, None);
        }
        for (_, d) in std::mem::take(&mut self.ready) {
            self.push(d);
        }
        self.unreleased.clear();
        self.jobs.clear();
    }

    fn deliver_frames(&mut self, frames: Vec<crate::api::frame::DecodedFrame>) {
        for f in frames {
            let Some(call) = f.pts.map(|t| t.ticks as usize) else {
                continue;
            };
            if self.jobs.get(&call).is_none_or(|j| j.answered) {
                continue;
            }
            if self.script.bad_data.contains(&call) {
                self.answer(call, DECODER_BAD_DATA, 0, None);
                continue;
            }
            if self.script.dropped.contains(&call) {
                self.answer(call, NO_ERR, INFO_FRAME_DROPPED, None);
                continue;
            }
            let size = f.dimensions();
            let mut planar = Vec::new();
            let image = f.write_planar(&mut planar).and_then(|_| {
                let a = to_attachments(f.color);
                let info = ImageInfo {
                    pixel_format: self.pixel_format,
                    matrix: a.matrix.map(str::to_owned),
                    primaries: a.primaries.map(str::to_owned),
                    transfer: a.transfer.map(str::to_owned),
                    ..Default::default()
                };
                DoubleImage::nv12_from_i420(
                    &planar,
                    size.width() as usize,
                    size.height() as usize,
                    info,
                    self.script.row_padding,
                )
            });
            match image {
                Ok(image) => self.answer(call, NO_ERR, 0, Some(Arc::new(image))),
                Err(_) => self.answer(call, DECODER_BAD_DATA, 0, None),
            }
        }
    }

    fn answer(&mut self, call: usize, status: i32, flags: u32, image: Option<Image>) {
        let Some(job) = self.jobs.get_mut(&call) else {
            return;
        };
        job.answered = true;
        let d = DecodeDelivery {
            status,
            flags,
            image,
            pts: job.pts,
            submission: job.submission,
        };
        match self.script.order {
            Order::Display => {
                self.unreleased.remove(&call);
                self.push(d);
            }
            Order::Decode => {
                self.ready.insert(call, d);
                while let Some(first) = self.unreleased.first().copied() {
                    let Some(d) = self.ready.remove(&first) else {
                        break;
                    };
                    self.unreleased.remove(&first);
                    self.push(d);
                }
            }
        }
    }

    fn push(&self, d: DecodeDelivery<Image>) {
        if let Ok(mut log) = self.log.lock() {
            log.callback_threads.insert(std::thread::current().id());
            log.deliveries.push((d.submission, d.status));
        }
        self.queue.push(d);
    }
}
