//! The double of the encode calls: a compression session whose output callback runs on a
//! thread of its own, encoding with the software encoder (the "codec engine") and handing out
//! samples the way VideoToolbox does: 4-byte length-prefixed NAL units, the parameter sets in
//! the sample's format description only.
//!
//! Modelled from Apple's documentation:
//! - The output callback runs "in decode order (which is not necessarily the same as display
//!   order)"; its sample buffer "Contains the compressed frame, if compression was successful and
//!   the frame was not dropped; otherwise, NULL", with `kVTEncodeInfo_FrameDropped` set for a
//!   dropped frame
//!   (<https://docs.rs/objc2-video-toolbox/latest/objc2_video_toolbox/type.VTCompressionOutputHandler.html>,
//!   <https://developer.apple.com/tutorials/data/documentation/videotoolbox/vtencodeinfoflags/framedropped.md>).
//! - `VTCompressionSessionCompleteFrames` with a non-numeric time: "all pending frames are
//!   emitted before the function returns"
//!   (<https://developer.apple.com/documentation/videotoolbox/vtcompressionsessioncompleteframes(_:untilpresentationtimestamp:).md>).
//! - `kVTPropertyNotSupportedErr` "for unrecognized or unsupported properties"
//!   (<https://docs.rs/objc2-video-toolbox/0.3.0/objc2_video_toolbox/fn.VTSessionCopyProperty.html>);
//!   the script names the properties this encoder refuses, at open or only mid-stream.
//! - `VTCompressionSessionInvalidate`: "a deterministic, orderly teardown"; no callback after
//!   it returns (<https://docs.rs/objc2-video-toolbox/0.3.0/objc2_video_toolbox/fn.VTCompressionSessionInvalidate.html>).

use super::image::{DoubleImage, Image};
use super::{Log, Script};
use crate::api::codec::{Codec, Dimensions, Timestamp};
use crate::api::config::EncoderConfig;
use crate::api::encode_input::{EncodeInput, RawPlane};
use crate::api::error::{Result, VideoError};
use crate::api::frame::PixelFormat;
use crate::api::packet::{BitstreamLayout, EncodedChunk};
use crate::backend::Backend;
use crate::backend::videotoolbox::calls::{
    CmTime, EncodeCalls, EncodeDelivery, EncodeQueue, INFO_FRAME_DROPPED, LockStatus,
    LockedPlaneMut, NO_ERR, PROPERTY_NOT_SUPPORTED,
};
use crate::backend::videotoolbox::color::PIXEL_32BGRA;
use crate::backend::videotoolbox::properties::{PropertyKey, PropertyValue};
use crate::backend::videotoolbox::status::status_error;
use crate::backend::videotoolbox::timing::to_cmtime;
use crate::bitstream::{layout, nal, split_annexb};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// `kVTCouldNotFindVideoEncoderErr`.
const NO_ENCODER: i32 = -12908;
/// `kVTVideoEncoderMalfunctionErr`.
const ENCODER_MALFUNCTION: i32 = -12912;

/// One encoded sample as VideoToolbox hands it out.
pub(crate) struct DoubleSample {
    data: Vec<u8>,
    parameter_sets: Vec<Vec<u8>>,
    pts: CmTime,
    dts: CmTime,
}

enum Job {
    Encode { call: usize, input: EncodeInput },
    Complete(Sender<()>),
}

/// The double's compression session.
pub(crate) struct DoubleEncodeSession {
    jobs: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    started: Mutex<bool>,
    codec: Codec,
    size: Dimensions,
    queue: EncodeQueue<DoubleSample>,
}

/// The encode calls' double (see the module doc).
pub(crate) struct DoubleEncodeCalls {
    pub script: Arc<Script>,
    pub log: Arc<Mutex<Log>>,
    calls: usize,
    gop: u32,
    prepared: bool,
}

impl DoubleEncodeCalls {
    pub(crate) fn new(script: Arc<Script>, log: Arc<Mutex<Log>>) -> Self {
        Self {
            script,
            log,
            calls: 0,
            gop: 0,
            prepared: false,
        }
    }

    fn note(&self, what: impl Into<String>) {
        if let Ok(mut log) = self.log.lock() {
            log.calls.push(what.into());
        }
    }

    /// Starts the callback thread with an engine for the session (at the first frame, once
    /// the properties are set).
    fn start(&self, session: &DoubleEncodeSession) -> Result<()> {
        let mut started = session
            .started
            .lock()
            .map_err(|_| VideoError::backend("double: poisoned"))?;
        if *started {
            return Ok(());
        }
        let mut config = EncoderConfig::new(session.codec, session.size);
        config.layout = BitstreamLayout::AnnexB;
        if self.gop > 0 {
            config.gop_length = self.gop;
        }
        let (_, factory) = crate::backend::encoder_factory(Backend::Software, &config)?;
        let (tx, rx) = channel::<Job>();
        let (queue, log, script, codec) = (
            session.queue.clone(),
            self.log.clone(),
            self.script.clone(),
            session.codec,
        );
        let handle = std::thread::Builder::new()
            .name("vt-double-encode-callback".into())
            .spawn(move || {
                let Ok(mut engine) = factory() else { return };
                let deliver = |d: EncodeDelivery<DoubleSample>| {
                    if let Ok(mut log) = log.lock() {
                        log.callback_threads.insert(std::thread::current().id());
                    }
                    queue.push(d);
                };
                // The format description of the latest samples.
                let mut sets = Vec::new();
                let mut emit = |chunks: Vec<EncodedChunk>| {
                    for c in chunks {
                        deliver(sample_of(codec, c, &mut sets));
                    }
                };
                for job in rx {
                    match job {
                        Job::Encode { call, input } => {
                            let mut chunks = Vec::new();
                            let result = engine.encode(&input, &mut chunks);
                            if script.dropped.contains(&call) {
                                // Dropped: the callback runs without a sample.
                                chunks.clear();
                                deliver(EncodeDelivery {
                                    status: NO_ERR,
                                    flags: INFO_FRAME_DROPPED,
                                    sample: None,
                                });
                            }
                            emit(chunks);
                            if result.is_err() {
                                deliver(EncodeDelivery {
                                    status: ENCODER_MALFUNCTION,
                                    flags: 0,
                                    sample: None,
                                });
                            }
                        }
                        Job::Complete(done) => {
                            let mut chunks = Vec::new();
                            let _ = engine.flush(&mut chunks);
                            emit(chunks);
                            let _ = done.send(());
                        }
                    }
                }
            })
            .map_err(|e| VideoError::backend(format!("double: no callback thread: {e}")))?;
        *session
            .jobs
            .lock()
            .map_err(|_| VideoError::backend("double: poisoned"))? = Some(tx);
        *session
            .thread
            .lock()
            .map_err(|_| VideoError::backend("double: poisoned"))? = Some(handle);
        *started = true;
        Ok(())
    }
}

/// An engine chunk (Annex-B) as a VideoToolbox sample: parameter sets move to the format
/// description, the rest is length-prefixed.
fn sample_of(
    codec: Codec,
    chunk: EncodedChunk,
    sets: &mut Vec<Vec<u8>>,
) -> EncodeDelivery<DoubleSample> {
    let mut data = Vec::new();
    let mut parameter_sets = Vec::new();
    for n in split_annexb(&chunk.data) {
        if nal::is_parameter_set(codec, &n.data) {
            parameter_sets.push(n.data);
        } else if layout::push_length_prefixed(&mut data, &n.data, 4).is_err() {
            return EncodeDelivery {
                status: ENCODER_MALFUNCTION,
                flags: 0,
                sample: None,
            };
        }
    }
    if parameter_sets.is_empty() {
        parameter_sets = sets.clone();
    } else {
        sets.clone_from(&parameter_sets);
    }
    let sample = DoubleSample {
        data,
        parameter_sets,
        pts: chunk.pts.map(to_cmtime),
        dts: chunk.dts.map(to_cmtime),
    };
    EncodeDelivery {
        status: NO_ERR,
        flags: 0,
        sample: Some(sample),
    }
}

impl EncodeCalls for DoubleEncodeCalls {
    type Session = DoubleEncodeSession;
    type Image = Image;
    type Sample = DoubleSample;

    fn create_session(
        &mut self,
        width: i32,
        height: i32,
        codec: Codec,
        queue: &EncodeQueue<DoubleSample>,
    ) -> Result<DoubleEncodeSession> {
        self.note("VTCompressionSessionCreate");
        if let Ok(mut log) = self.log.lock() {
            log.sessions_created += 1;
        }
        let size = Dimensions::new(width.max(0) as u32, height.max(0) as u32)?;
        // An encoder for the codec and size, or kVTCouldNotFindVideoEncoderErr (the engine
        // decides what the double can encode).
        crate::backend::encoder_factory(Backend::Software, &EncoderConfig::new(codec, size))
            .map(drop)
            .map_err(|e| {
                status_error("VTCompressionSessionCreate", NO_ENCODER).while_doing(e.to_string())
            })?;
        Ok(DoubleEncodeSession {
            jobs: Mutex::new(None),
            thread: Mutex::new(None),
            started: Mutex::new(false),
            codec,
            size,
            queue: queue.clone(),
        })
    }

    fn set_property(
        &mut self,
        _s: &DoubleEncodeSession,
        key: PropertyKey,
        value: &PropertyValue,
    ) -> i32 {
        self.note(format!("VTSessionSetProperty({key:?})"));
        if self.script.unsupported_properties.contains(&key)
            && (self.prepared || !self.script.refuse_only_mid_stream)
        {
            return PROPERTY_NOT_SUPPORTED;
        }
        if let (PropertyKey::MaxKeyFrameInterval, PropertyValue::Int(n)) = (key, value) {
            self.gop = u32::try_from(*n).unwrap_or(0);
        }
        if let Ok(mut log) = self.log.lock() {
            log.properties.push((key, *value));
        }
        NO_ERR
    }

    fn prepare(&mut self, _s: &DoubleEncodeSession) -> i32 {
        self.note("VTCompressionSessionPrepareToEncodeFrames");
        self.prepared = true;
        NO_ERR
    }

    fn create_image(&mut self, width: usize, height: usize, fourcc: u32) -> Result<Image> {
        Ok(Arc::new(DoubleImage::new(
            width,
            height,
            fourcc,
            self.script.row_padding,
        )))
    }

    fn attach_color(&mut self, _image: &Image, values: [Option<&'static str>; 3]) {
        if let Ok(mut log) = self.log.lock() {
            log.attachments = values;
        }
    }

    fn write_planes(
        &mut self,
        image: &Image,
        write: &mut dyn FnMut(&mut [LockedPlaneMut<'_>]) -> Result<()>,
    ) -> (LockStatus, Result<()>) {
        image.write(write)
    }

    fn encode_frame(
        &mut self,
        session: &DoubleEncodeSession,
        image: &Image,
        pts: Timestamp,
        _duration: Timestamp,
        force_keyframe: bool,
    ) -> (i32, u32) {
        self.calls += 1;
        let call = self.calls;
        self.note(format!("VTCompressionSessionEncodeFrame #{call}"));
        if self.start(session).is_err() {
            return (ENCODER_MALFUNCTION, 0);
        }
        // What the encoder reads from the pixel buffer.
        let format = if image.info.pixel_format == PIXEL_32BGRA {
            PixelFormat::Bgra
        } else {
            PixelFormat::Nv12
        };
        let planes = image
            .planes()
            .into_iter()
            .zip(&image.strides)
            .map(|(data, &stride)| RawPlane {
                data: data.into(),
                stride,
            })
            .collect();
        let input = match EncodeInput::new(format, session.size, planes) {
            Ok(i) => i.with_pts(pts).with_force_keyframe(force_keyframe),
            Err(_) => return (ENCODER_MALFUNCTION, 0),
        };
        let sent = session.jobs.lock().ok().and_then(|tx| {
            tx.as_ref()
                .map(|tx| tx.send(Job::Encode { call, input }).is_ok())
        });
        if sent == Some(true) {
            (NO_ERR, 1)
        } else {
            (ENCODER_MALFUNCTION, 0)
        }
    }

    fn complete_frames(&mut self, session: &DoubleEncodeSession) -> i32 {
        self.note("VTCompressionSessionCompleteFrames");
        let (done, wait) = channel();
        let sent = session
            .jobs
            .lock()
            .ok()
            .and_then(|tx| tx.as_ref().map(|tx| tx.send(Job::Complete(done)).is_ok()));
        match sent {
            // Nothing was ever encoded: nothing to complete.
            None => NO_ERR,
            Some(true) if wait.recv().is_ok() => NO_ERR,
            _ => ENCODER_MALFUNCTION,
        }
    }

    fn invalidate(&mut self, session: &DoubleEncodeSession) {
        self.note("VTCompressionSessionInvalidate");
        if let Ok(mut tx) = session.jobs.lock() {
            tx.take();
        }
        if let Ok(mut t) = session.thread.lock()
            && let Some(t) = t.take()
        {
            let _ = t.join();
        }
        if let Ok(mut log) = self.log.lock() {
            log.invalidations += 1;
        }
    }

    fn sample_data(&self, sample: &DoubleSample) -> Result<Vec<u8>> {
        Ok(sample.data.clone())
    }

    fn sample_parameter_sets(
        &self,
        sample: &DoubleSample,
        _codec: Codec,
    ) -> Result<(Vec<Vec<u8>>, i32)> {
        Ok((sample.parameter_sets.clone(), 4))
    }

    fn sample_times(&self, sample: &DoubleSample) -> (CmTime, CmTime) {
        (sample.pts, sample.dts)
    }
}
