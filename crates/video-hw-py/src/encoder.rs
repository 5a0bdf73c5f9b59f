//! `video_hw.VideoEncoder`: frames from NumPy (`__array_interface__`) or any DLPack producer
//! in host memory, encoded by the library's `EncodeSession` and written as MP4 (a path
//! ending in `.mp4`/`.m4v`/`.mov`) or raw Annex-B (another path, or bytes in memory).

use crate::dlpack;
use crate::errors::{InvalidInputError, to_py};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::io::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use video_hw::container::{Mp4Muxer, is_mp4_path};
use video_hw::{
    Backend, Codec, Dimensions, EncodeInput, EncodeSession, EncodedChunk, EncoderConfig, ErrorKind,
    PixelFormat, RateControl, Rational, RawPlane, Result, Timestamp, VideoError,
};

enum Sink {
    Mp4(Box<Mp4Muxer<std::io::BufWriter<std::fs::File>>>),
    File(std::io::BufWriter<std::fs::File>),
    Memory(Vec<u8>),
}

impl Sink {
    fn write(&mut self, chunk: &EncodedChunk) -> Result<()> {
        let io = |e: std::io::Error| VideoError::invalid_input(format!("writing output: {e}"));
        match self {
            Sink::Mp4(m) => m.write_chunk(chunk),
            Sink::File(f) => f.write_all(&chunk.data).map_err(io),
            Sink::Memory(v) => {
                v.extend_from_slice(&chunk.data);
                Ok(())
            }
        }
    }
}

struct State {
    session: EncodeSession,
    sink: Option<Sink>,
    frames: i64,
}

impl State {
    fn drain(&mut self) -> Result<()> {
        while let Some(chunk) = self.session.try_reap()? {
            if let Some(s) = self.sink.as_mut() {
                s.write(&chunk)?;
            }
        }
        Ok(())
    }

    fn submit(&mut self, mut input: EncodeInput) -> Result<()> {
        loop {
            match self.session.try_submit(input) {
                Ok(()) => return self.drain(),
                Err(r) if r.kind() == ErrorKind::Backpressure => {
                    input = r.input;
                    if let Some(chunk) = self.session.reap_timeout(Duration::from_millis(5))?
                        && let Some(s) = self.sink.as_mut()
                    {
                        s.write(&chunk)?;
                    }
                }
                Err(r) => return Err(r.error),
            }
        }
    }

    fn finish(&mut self) -> Result<Option<Vec<u8>>> {
        self.session.flush()?;
        self.drain()?;
        let io = |e: std::io::Error| VideoError::invalid_input(format!("writing output: {e}"));
        match self.sink.take() {
            Some(Sink::Mp4(m)) => {
                let (mut w, _) = m.finish()?;
                w.flush().map_err(io)?;
                Ok(None)
            }
            Some(Sink::File(mut f)) => f.flush().map_err(io).map(|()| None),
            Some(Sink::Memory(v)) => Ok(Some(v)),
            None => Err(VideoError::invalid_input("the encoder is closed")),
        }
    }
}

/// Encodes frames to a file or to bytes.
///
/// `dest`: a path (`.mp4`/`.m4v`/`.mov` gives MP4, anything else raw Annex-B) or `None` for
/// Annex-B bytes returned by `close()`. Frames are `(height, width, 3)` `uint8` RGB
/// (`format="rgb24"`) or `(height * 3 / 2, width)` `uint8` I420/NV12, as NumPy arrays or any
/// DLPack producer in host memory.
#[pyclass(module = "video_hw", frozen)]
pub struct VideoEncoder {
    state: Mutex<Option<State>>,
    format: PixelFormat,
    size: Dimensions,
    fps: Rational,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The shape and bytes (row-major) of a host `uint8` array.
fn read_pixels(frame: &Bound<'_, PyAny>) -> PyResult<(Vec<usize>, Vec<u8>)> {
    if frame.hasattr("__array_interface__")? {
        let ai = frame.getattr("__array_interface__")?;
        let ai = ai.cast::<PyDict>()?;
        let get = |k: &str| {
            ai.get_item(k)?.ok_or_else(|| {
                InvalidInputError::new_err(format!("__array_interface__ has no {k}"))
            })
        };
        let typestr: String = get("typestr")?.extract()?;
        if !typestr.ends_with("u1") {
            return Err(InvalidInputError::new_err(format!(
                "frames must be uint8, got {typestr}"
            )));
        }
        // Only a contiguous array is read through its interface; others go through DLPack.
        let strides = ai.get_item("strides")?;
        if strides.is_none_or(|s| s.is_none()) {
            let shape: Vec<usize> = get("shape")?.extract()?;
            let (ptr, _): (usize, bool) = get("data")?.extract()?;
            let n: usize = shape.iter().product();
            // SAFETY: a C-contiguous uint8 array of `shape` at `ptr`, kept alive by `frame`
            // (held by the caller) while it is copied under the GIL.
            let bytes = unsafe { std::slice::from_raw_parts(ptr as *const u8, n) }.to_vec();
            return Ok((shape, bytes));
        }
    }
    if frame.hasattr("__dlpack__")? {
        let t = dlpack::import_cpu_u8(frame)?;
        return Ok((t.shape, t.bytes));
    }
    Err(InvalidInputError::new_err(
        "a frame must be a uint8 NumPy array or a DLPack tensor in host memory",
    ))
}

fn input_of(
    format: PixelFormat,
    size: Dimensions,
    shape: &[usize],
    bytes: Vec<u8>,
) -> Result<EncodeInput> {
    let (w, h) = (size.width() as usize, size.height() as usize);
    let expect: Vec<usize> = match format {
        PixelFormat::Rgb24 => vec![h, w, 3],
        _ => vec![h + h.div_ceil(2), w],
    };
    let total: usize = expect.iter().product();
    if bytes.len() != total || (shape != expect.as_slice() && shape != [total]) {
        return Err(VideoError::invalid_input(format!(
            "frame of shape {shape:?}; this encoder takes {format} frames of shape {expect:?}"
        )));
    }
    let planes = match format {
        PixelFormat::Rgb24 => vec![RawPlane {
            data: bytes.into(),
            stride: w * 3,
        }],
        PixelFormat::Nv12 => {
            let uv = bytes[w * h..].to_vec();
            let mut y = bytes;
            y.truncate(w * h);
            vec![
                RawPlane {
                    data: y.into(),
                    stride: w,
                },
                RawPlane {
                    data: uv.into(),
                    stride: w.div_ceil(2) * 2,
                },
            ]
        }
        _ => {
            let c = w.div_ceil(2) * h.div_ceil(2);
            let (u, v) = (
                bytes[w * h..w * h + c].to_vec(),
                bytes[w * h + c..].to_vec(),
            );
            let mut y = bytes;
            y.truncate(w * h);
            vec![
                RawPlane {
                    data: y.into(),
                    stride: w,
                },
                RawPlane {
                    data: u.into(),
                    stride: w.div_ceil(2),
                },
                RawPlane {
                    data: v.into(),
                    stride: w.div_ceil(2),
                },
            ]
        }
    };
    EncodeInput::new(format, size, planes)
}

#[pymethods]
impl VideoEncoder {
    #[new]
    #[pyo3(signature = (dest, width, height, fps=30, codec="h264", format="rgb24", bitrate=4_000_000, gop=60, backend="auto"))]
    #[allow(clippy::too_many_arguments, reason = "Python keyword arguments")]
    fn new(
        dest: Option<std::path::PathBuf>,
        width: u32,
        height: u32,
        fps: u32,
        codec: &str,
        format: &str,
        bitrate: u32,
        gop: u32,
        backend: &str,
    ) -> PyResult<Self> {
        let codec: Codec = codec.parse().map_err(to_py)?;
        let format = match format {
            "rgb24" => PixelFormat::Rgb24,
            "i420" => PixelFormat::I420,
            "nv12" => PixelFormat::Nv12,
            other => {
                return Err(InvalidInputError::new_err(format!(
                    "unknown format {other:?} (known: rgb24, i420, nv12)"
                )));
            }
        };
        let backend: Backend = backend.parse().map_err(to_py)?;
        let size = Dimensions::new(width, height).map_err(to_py)?;
        let fps = Rational::new(fps, 1).map_err(to_py)?;
        let mut config = EncoderConfig::new(codec, size);
        config.fps = fps;
        config.gop_length = gop;
        config.rate_control = RateControl::Vbr {
            bitrate,
            max_bitrate: bitrate.saturating_mul(2),
        };
        let io = |e: std::io::Error| {
            to_py(VideoError::invalid_input(format!(
                "cannot create output: {e}"
            )))
        };
        let sink = match dest {
            None => Sink::Memory(Vec::new()),
            Some(p) => {
                let f = std::io::BufWriter::new(std::fs::File::create(&p).map_err(io)?);
                if is_mp4_path(&p) {
                    Sink::Mp4(Box::new(Mp4Muxer::new(f).map_err(to_py)?))
                } else {
                    Sink::File(f)
                }
            }
        };
        let session = EncodeSession::new(backend, config).map_err(to_py)?;
        Ok(Self {
            state: Mutex::new(Some(State {
                session,
                sink: Some(sink),
                frames: 0,
            })),
            format,
            size,
            fps,
        })
    }

    /// Encodes one frame (presentation order).
    fn encode(&self, py: Python<'_>, frame: &Bound<'_, PyAny>) -> PyResult<()> {
        let (shape, bytes) = read_pixels(frame)?;
        let (format, size, fps) = (self.format, self.size, self.fps);
        py.detach(|| {
            let mut guard = lock(&self.state);
            let state = guard
                .as_mut()
                .ok_or_else(|| VideoError::invalid_input("the encoder is closed"))?;
            let mut input = input_of(format, size, &shape, bytes)?;
            // One tick per frame at 90 kHz.
            let ticks = state.frames * 90_000 * i64::from(fps.den) / i64::from(fps.num);
            input.pts = Some(Timestamp::mpeg(ticks));
            state.frames += 1;
            state.submit(input)
        })
        .map_err(to_py)
    }

    /// Flushes the encoder and finishes the output; returns the Annex-B bytes when the
    /// encoder was made with `dest=None`, else `None`.
    fn close(&self, py: Python<'_>) -> PyResult<Option<Py<PyBytes>>> {
        let out = py
            .detach(|| match lock(&self.state).take() {
                Some(mut s) => s.finish(),
                None => Err(VideoError::invalid_input("the encoder is closed")),
            })
            .map_err(to_py)?;
        Ok(out.map(|v| PyBytes::new(py, &v).unbind()))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        if lock(&self.state).is_some() {
            self.close(py)?;
        }
        Ok(())
    }
}
