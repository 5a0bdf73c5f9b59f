//! `video_hw.VideoDecoder`, its iterator and `video_hw.Metadata`.

use crate::batch::FrameBatch;
use crate::errors::to_py;
use crate::frame::{Frame, Layout};
use crate::parallel::ParallelPass;
use crate::reader::{self, Fetched, Reader, Settings};
use crate::source::{Input, Source};
use pyo3::exceptions::{PyIndexError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use video_hw::container::Mp4SampleTiming;
use video_hw::{Backend, DecodeOutput, DecodedFrame, Parallelism, PixelFormat, VideoError};

/// What the container and the first sequence header say about the video.
#[pyclass(module = "video_hw", frozen, get_all)]
#[derive(Clone)]
pub struct Metadata {
    /// `"h264"`, `"hevc"` or `"vp9"`.
    codec: String,
    /// `"mp4"`, `"matroska"`, `"mpegts"`, `"ivf"` or `"annexb"`.
    container: String,
    /// Visible width in pixels (`None` if unknown before decoding).
    width: Option<u32>,
    /// Visible height in pixels.
    height: Option<u32>,
    /// Average frames per second (MP4: frames over duration; else the stream's timing).
    frame_rate: Option<f64>,
    /// Duration in seconds (MP4).
    duration: Option<f64>,
    /// Frames in the track (MP4).
    num_frames: Option<u64>,
    /// Luma bit depth.
    bit_depth: Option<u8>,
    /// Colour matrix, range, primaries and transfer (from the sequence header's VUI).
    color_matrix: Option<String>,
    /// `"limited"` or `"full"`.
    color_range: Option<String>,
    /// Colour primaries.
    color_primaries: Option<String>,
    /// Transfer characteristics.
    color_transfer: Option<String>,
}

fn lower<T: std::fmt::Debug>(v: T) -> String {
    format!("{v:?}").to_ascii_lowercase()
}

impl Metadata {
    fn of(s: &Source) -> Self {
        let info = s.stream.as_ref();
        Self {
            codec: s.codec.name().to_string(),
            container: s.container.to_string(),
            width: s.size.map(|d| d.width()),
            height: s.size.map(|d| d.height()),
            frame_rate: s.frame_rate(),
            duration: s.duration,
            num_frames: s.frames,
            bit_depth: info.map(|i| i.bit_depth_luma),
            color_matrix: info.map(|i| lower(i.color.matrix)),
            color_range: info.map(|i| lower(i.color.range)),
            color_primaries: info.map(|i| lower(i.color.primaries)),
            color_transfer: info.map(|i| lower(i.color.transfer)),
        }
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "None".into(), |v| v.to_string())
}

#[pymethods]
impl Metadata {
    fn __repr__(&self) -> String {
        format!(
            "Metadata(codec='{}', container='{}', width={}, height={}, frame_rate={}, \
             duration={}, num_frames={}, bit_depth={}, color='{}/{}/{}/{}')",
            self.codec,
            self.container,
            opt(&self.width),
            opt(&self.height),
            opt(&self.frame_rate.map(|f| format!("{f:.3}"))),
            opt(&self.duration.map(|d| format!("{d:.3}"))),
            opt(&self.num_frames),
            opt(&self.bit_depth),
            self.color_matrix.as_deref().unwrap_or("?"),
            self.color_range.as_deref().unwrap_or("?"),
            self.color_primaries.as_deref().unwrap_or("?"),
            self.color_transfer.as_deref().unwrap_or("?"),
        )
    }
}

/// Locks a mutex, taking the data of a poisoned one (a panic elsewhere left it consistent:
/// every update is one assignment).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Decodes a video file, bytes, or binary file object into frames.
///
/// `device`: `"cpu"` (frames in host memory) or `"cuda"` / `"cuda:N"` (NVIDIA, frames kept
/// in device memory: NV12 as decoded, or RGB converted on the GPU). `format`: `"rgb24"`
/// (H, W, 3), `"rgb_planar"` (3, H, W), `"nv12"` or `"i420"` (H * 3 / 2, W). `backend`:
/// `"auto"`, `"software"`, `"nvidia"`, `"videotoolbox"`. `parallel`: `None` / `"auto"` (the
/// library's plan) or a number of sessions sharing one pass.
#[pyclass(module = "video_hw", frozen)]
pub struct VideoDecoder {
    input: Input,
    layout: Layout,
    settings: Settings,
    gpu: i32,
    metadata: Metadata,
    backend: Backend,
    codec: video_hw::Codec,
    /// The reader opened with the decoder: the first one-session pass takes it while it is
    /// fresh, else random access uses it (its session reused from one call to the next).
    reader: Arc<Mutex<Option<Reader>>>,
    /// More readers (sessions) for random access, which decodes from several sync samples
    /// at once; kept from one call to the next.
    helpers: Mutex<Vec<Reader>>,
    timings: OnceLock<Option<(Vec<Mp4SampleTiming>, Vec<u32>)>>,
}

fn input_of(source: &Bound<'_, PyAny>) -> PyResult<Input> {
    if let Ok(b) = source.cast::<PyBytes>() {
        return Ok(Input::Bytes(b.as_bytes().into()));
    }
    if let Ok(b) = source.cast::<PyByteArray>() {
        return Ok(Input::Bytes(b.to_vec().into()));
    }
    if source.hasattr("read")? {
        let data = source.call_method0("read")?;
        let data = data.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err("the file object must be opened in binary mode ('rb')")
        })?;
        return Ok(Input::Bytes(data.as_bytes().into()));
    }
    if let Ok(p) = source.extract::<std::path::PathBuf>() {
        return Ok(Input::Path(p));
    }
    Err(PyTypeError::new_err(
        "source must be a path, bytes, or a binary file object",
    ))
}

fn parse_device(device: &str) -> Result<Option<u32>, VideoError> {
    match device {
        "cpu" => Ok(None),
        "cuda" => Ok(Some(0)),
        d => d
            .strip_prefix("cuda:")
            .and_then(|n| n.parse().ok())
            .map(Some)
            .ok_or_else(|| {
                VideoError::invalid_input(format!(
                    "unknown device {d:?} (known: \"cpu\", \"cuda\", \"cuda:N\")"
                ))
            }),
    }
}

impl VideoDecoder {
    /// Runs `f` on the decoder's own reader, opening a new one if an iteration took it.
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut Reader) -> video_hw::Result<T>,
    ) -> video_hw::Result<T> {
        let mut guard = lock(&self.reader);
        let reader = match guard.as_mut() {
            Some(r) => r,
            None => guard.insert(Reader::open(&self.input, self.settings)?),
        };
        f(reader)
    }

    /// Opens readers (at once, one thread each) until `helpers` and the decoder's own reader
    /// cover `starts` decodes, up to the backend's engines for the codec.
    fn grow_helpers(&self, helpers: &mut Vec<Reader>, starts: usize) -> video_hw::Result<()> {
        let engines =
            video_hw::backend::decode_engines(self.backend, self.codec, self.settings.gpu);
        let want = starts.min(engines).saturating_sub(1);
        if helpers.len() >= want {
            return Ok(());
        }
        let opened: Vec<video_hw::Result<Reader>> = std::thread::scope(|s| {
            (helpers.len()..want)
                .map(|_| s.spawn(|| Reader::open(&self.input, self.settings)))
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(VideoError::backend("opening a reader panicked")))
                })
                .collect()
        });
        for r in opened {
            helpers.push(r?);
        }
        Ok(())
    }

    fn timings(&self, py: Python<'_>) -> PyResult<Option<&(Vec<Mp4SampleTiming>, Vec<u32>)>> {
        if let Some(t) = self.timings.get() {
            return Ok(t.as_ref());
        }
        let computed = py
            .detach(|| self.with_reader(|r| r.source.sample_timings().transpose()))
            .map_err(to_py)?
            .map(|t| {
                let order = reader::presentation_order(&t);
                (t, order)
            });
        Ok(self.timings.get_or_init(|| computed).as_ref())
    }

    fn wrap(
        &self,
        py: Python<'_>,
        frames: Vec<Arc<DecodedFrame>>,
        wanted: &[u64],
    ) -> PyResult<Vec<Py<Frame>>> {
        frames
            .into_iter()
            .zip(wanted)
            .map(|(f, &i)| Py::new(py, Frame::new(f, self.layout, i, self.gpu)?))
            .collect()
    }

    fn frames_at(&self, py: Python<'_>, wanted: &[u64]) -> PyResult<Vec<Py<Frame>>> {
        let timings = self.timings(py)?;
        let (input, settings) = (&self.input, self.settings);
        let frames = py
            .detach(|| {
                self.with_reader(|r| match timings {
                    Some((t, order)) => {
                        let mut helpers = lock(&self.helpers);
                        self.grow_helpers(&mut helpers, reader::decode_starts(t, order, wanted))?;
                        reader::frames_at_indexed(r, &mut helpers, t, order, wanted)
                    }
                    None => {
                        // No index: a new pass from the start each time.
                        if !r.is_fresh() {
                            *r = Reader::open(input, settings)?;
                        }
                        reader::frames_at_sequential(r, wanted)
                    }
                })
            })
            .map_err(to_py)?;
        match frames {
            Fetched::Frames(f) => self.wrap(py, f, wanted),
            Fetched::OutOfRange { index, len } => Err(PyIndexError::new_err(format!(
                "frame index {index} is out of range ({len} frames)"
            ))),
        }
    }

    fn batch(&self, py: Python<'_>, frames: Vec<Py<Frame>>) -> PyResult<FrameBatch> {
        let bound: Vec<Bound<'_, Frame>> = frames.into_iter().map(|f| f.into_bound(py)).collect();
        FrameBatch::stack(&bound)
    }
}

#[pymethods]
impl VideoDecoder {
    #[new]
    #[pyo3(signature = (source, device="cpu", format="rgb24", backend="auto", parallel=None))]
    fn new(
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        device: &str,
        format: &str,
        backend: &str,
        parallel: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let input = input_of(source)?;
        let layout = Layout::parse(format).map_err(to_py)?;
        let gpu = parse_device(device).map_err(to_py)?;
        let parallel = parse_parallel(parallel)?;
        let mut backend: Backend = backend.parse().map_err(to_py)?;
        if gpu.is_some() && backend == Backend::Auto {
            // Frames in CUDA memory come from the NVIDIA backend only.
            backend = Backend::Nvidia;
        }
        let output = match (gpu, layout) {
            (None, l) => DecodeOutput::Cpu(l.pixel_format()),
            (Some(_), Layout::Nv12) => DecodeOutput::Gpu,
            (Some(_), Layout::Rgb24 | Layout::RgbPlanar) => {
                DecodeOutput::GpuConverted(PixelFormat::Rgb24)
            }
            (Some(_), other) => {
                return Err(to_py(VideoError::unsupported(format!(
                    "format={:?} on the GPU: CUDA frames are \"nv12\" (the decoder's surface) \
                     or \"rgb24\" / \"rgb_planar\" (converted on the GPU); use device=\"cpu\" \
                     for {:?}",
                    other.name(),
                    other.name()
                ))));
            }
        };
        let settings = Settings {
            backend,
            output,
            gpu: gpu.unwrap_or(0),
            parallel,
        };
        let opened = py
            .detach(|| Reader::open(&input, settings))
            .map_err(to_py)?;
        Ok(Self {
            metadata: Metadata::of(&opened.source),
            backend: opened.backend(),
            codec: opened.source.codec,
            input,
            layout,
            settings,
            gpu: i32::try_from(settings.gpu).unwrap_or(0),
            reader: Arc::new(Mutex::new(Some(opened))),
            helpers: Mutex::new(Vec::new()),
            timings: OnceLock::new(),
        })
    }

    /// What the container and the first sequence header say about the video.
    #[getter]
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    /// The backend decoding (`"software"`, `"nvidia"`, `"videotoolbox"`).
    #[getter]
    fn backend(&self) -> &'static str {
        self.backend.name()
    }

    /// Frames in the video, where the container states it (MP4); `TypeError` otherwise.
    fn __len__(&self) -> PyResult<usize> {
        self.metadata.num_frames.map(|n| n as usize).ok_or_else(|| {
            PyTypeError::new_err(format!(
                "the number of frames of a {} input is not known before decoding it",
                self.metadata.container
            ))
        })
    }

    /// Iterates over every frame in presentation order (a new pass each time). A seekable
    /// H.264/HEVC input long enough is shared among several sessions (`parallel`); a pass of
    /// one session uses the session opened with the decoder while it is fresh.
    fn __iter__(&self) -> FrameIter {
        FrameIter {
            input: self.input.clone(),
            settings: self.settings,
            spare: self.reader.clone(),
            pass: Mutex::new(Pass::Pending),
            layout: self.layout,
            gpu: self.gpu,
            next: Mutex::new(0),
        }
    }

    /// The frame at presentation position `index` (negative counts from the end).
    fn __getitem__(&self, py: Python<'_>, index: i64) -> PyResult<Py<Frame>> {
        let index = if index < 0 {
            let len = self.__len__()? as i64;
            u64::try_from(len + index)
                .map_err(|_| PyIndexError::new_err("frame index out of range"))?
        } else {
            index as u64
        };
        self.frames_at(py, &[index])?
            .pop()
            .ok_or_else(|| PyIndexError::new_err("frame index out of range"))
    }

    /// The frames at presentation positions `indices`, stacked into one `FrameBatch`.
    /// MP4 input: decoded from the keyframe before each (sample index), pictures not asked
    /// for dropped. Other containers: decoded from the start.
    fn get_frames_at(&self, py: Python<'_>, indices: Vec<i64>) -> PyResult<FrameBatch> {
        let wanted: Vec<u64> = indices
            .iter()
            .map(|&i| {
                u64::try_from(i)
                    .map_err(|_| PyIndexError::new_err(format!("frame index {i} is negative")))
            })
            .collect::<PyResult<_>>()?;
        let frames = self.frames_at(py, &wanted)?;
        self.batch(py, frames)
    }

    /// The frames shown at each time in `seconds` (the last frame whose presentation time
    /// is not after it), as one `FrameBatch`. Needs an MP4 sample index.
    fn get_frames_played_at(&self, py: Python<'_>, seconds: Vec<f64>) -> PyResult<FrameBatch> {
        let Some((t, order)) = self.timings(py)? else {
            return Err(to_py(VideoError::unsupported(
                "get_frames_played_at needs an MP4/MOV input (a sample index); decode other \
                 containers by iterating",
            )));
        };
        let times: Vec<f64> = order.iter().map(|&s| t[s as usize].pts.seconds()).collect();
        let wanted: Vec<u64> = seconds
            .iter()
            .map(|&s| {
                let n = times.partition_point(|&p| p <= s + 1e-9);
                n.checked_sub(1).map(|k| k as u64).ok_or_else(|| {
                    PyIndexError::new_err(format!(
                        "no frame is shown at {s} s (the first plays at {:.6} s)",
                        times.first().copied().unwrap_or(0.0)
                    ))
                })
            })
            .collect::<PyResult<_>>()?;
        let frames = self.frames_at(py, &wanted)?;
        self.batch(py, frames)
    }

    fn __repr__(&self) -> String {
        format!(
            "VideoDecoder(format={:?}, device={:?}, backend={:?}, {})",
            self.layout.name(),
            if self.settings.on_device() {
                format!("cuda:{}", self.gpu)
            } else {
                "cpu".to_string()
            },
            self.backend.name(),
            self.metadata.__repr__()
        )
    }
}

/// How a pass decodes.
enum Pass {
    /// Not started: the first `__next__` plans it.
    Pending,
    /// One session.
    Sequential(Box<Reader>),
    /// Several sessions, on a thread of their own.
    Parallel(ParallelPass),
}

/// One pass over the frames of a `VideoDecoder`.
#[pyclass(module = "video_hw", frozen)]
pub struct FrameIter {
    input: Input,
    settings: Settings,
    /// The decoder's own reader, taken by a one-session pass while it is fresh.
    spare: Arc<Mutex<Option<Reader>>>,
    pass: Mutex<Pass>,
    layout: Layout,
    gpu: i32,
    next: Mutex<u64>,
}

impl FrameIter {
    fn next_frame(&self) -> video_hw::Result<Option<DecodedFrame>> {
        let mut pass = lock(&self.pass);
        if matches!(*pass, Pass::Pending) {
            let mut spare = lock(&self.spare);
            *pass = match ParallelPass::start(&self.input, self.settings, &mut spare)? {
                Some(p) => Pass::Parallel(p),
                None => match spare.take() {
                    Some(r) if r.is_fresh() => Pass::Sequential(Box::new(r)),
                    other => {
                        *spare = other;
                        drop(spare);
                        Pass::Sequential(Box::new(Reader::open(&self.input, self.settings)?))
                    }
                },
            };
        }
        match &mut *pass {
            Pass::Sequential(r) => r.next_frame(),
            Pass::Parallel(p) => p.next_frame(),
            Pass::Pending => Ok(None),
        }
    }
}

#[pymethods]
impl FrameIter {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Frame>> {
        let frame = py.detach(|| self.next_frame()).map_err(to_py)?;
        let Some(frame) = frame else {
            return Ok(None);
        };
        let mut next = lock(&self.next);
        let index = *next;
        *next += 1;
        Frame::new(Arc::new(frame), self.layout, index, self.gpu).map(Some)
    }

    /// Sessions decoding this pass (`None` before its first frame is asked for).
    #[getter]
    fn sessions(&self) -> Option<usize> {
        match &*lock(&self.pass) {
            Pass::Pending => None,
            Pass::Sequential(_) => Some(1),
            Pass::Parallel(p) => Some(p.sessions),
        }
    }
}

/// Reads `parallel=`: `None` or `"auto"` (the library's plan), or a number of sessions.
fn parse_parallel(parallel: Option<&Bound<'_, PyAny>>) -> PyResult<Parallelism> {
    let Some(p) = parallel.filter(|p| !p.is_none()) else {
        return Ok(Parallelism::Auto);
    };
    if let Ok(n) = p.extract::<i64>() {
        return usize::try_from(n)
            .ok()
            .filter(|n| *n >= 1)
            .map(Parallelism::Sessions)
            .ok_or_else(|| {
                to_py(VideoError::invalid_input(format!(
                    "parallel must be \"auto\" or at least 1 session, not {n}"
                )))
            });
    }
    let text: String = p.extract().map_err(|_| {
        PyTypeError::new_err("parallel must be \"auto\", a number of sessions, or None")
    })?;
    text.parse().map_err(to_py)
}
