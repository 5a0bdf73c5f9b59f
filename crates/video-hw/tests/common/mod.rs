//! Helpers shared by the integration tests: locating test data, running decoders and
//! encoders to completion, and checking files with FFmpeg.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use video_hw::{
    Backend, Codec, DecodeInput, DecodeOutput, DecodeSession, DecodedFrame, DecoderConfig,
    Dimensions, EncodeSession, EncodedChunk, EncoderConfig, ErrorKind, VideoError, pattern,
};

/// Whether an environment flag is set to 1.
pub fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// The conformance folder: `$VIDEO_HW_CONFORMANCE`, else `../shared/conformance` beside the
/// repository. `None` (with a message) when absent; a panic when
/// `VIDEO_HW_REQUIRE_CONFORMANCE=1`.
pub fn conformance_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("VIDEO_HW_CONFORMANCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
        });
    if dir.join("manifest.tsv").is_file() {
        return Some(dir);
    }
    let msg = format!(
        "conformance streams not found at {} (set VIDEO_HW_CONFORMANCE to the folder holding manifest.tsv)",
        dir.display()
    );
    assert!(!flag("VIDEO_HW_REQUIRE_CONFORMANCE"), "{msg}");
    eprintln!("SKIPPED: {msg}");
    None
}

/// One row of the conformance manifest.
#[derive(Debug, Clone)]
pub struct ManifestRow {
    pub file: String,
    pub codec: Codec,
    pub frames: u64,
    pub width: u32,
    pub height: u32,
    /// The layout the MD5 is over (`yuv420p`, `yuv420p10le`, ...).
    pub pix_fmt: String,
    pub md5: String,
    pub notes: String,
}

impl ManifestRow {
    /// The CPU output whose planar bytes the row's MD5 is over.
    pub fn output(&self) -> DecodeOutput {
        DecodeOutput::Cpu(match self.pix_fmt.as_str() {
            "yuv420p10le" => video_hw::PixelFormat::I010,
            "yuv420p12le" => video_hw::PixelFormat::I012,
            _ => video_hw::PixelFormat::I420,
        })
    }
}

/// The manifest's rows.
pub fn manifest(dir: &Path) -> Vec<ManifestRow> {
    let text = std::fs::read_to_string(dir.join("manifest.tsv")).expect("manifest.tsv readable");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            ManifestRow {
                file: f[0].to_string(),
                codec: f[1].parse().expect("codec column"),
                frames: f[3].parse().expect("frames column"),
                width: f[4].parse().expect("width column"),
                height: f[5].parse().expect("height column"),
                pix_fmt: f[6].to_string(),
                md5: f[7].to_string(),
                notes: f.get(9).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

/// Whether `backend` can serve `codec` in this direction here. Backends that cannot are
/// skipped with a message — except when the environment demands them (software is always
/// demanded when a software codec is compiled in; NVIDIA under `VIDEO_HW_REQUIRE_GPU=1`;
/// VideoToolbox under `VIDEO_HW_REQUIRE_VT=1`).
pub fn usable(backend: Backend, codec: Codec, decode: bool) -> bool {
    let serves = |r: &video_hw::BackendReport| {
        if decode {
            r.decodes(codec)
        } else {
            r.encodes(codec)
        }
    };
    let report = video_hw::backend::probe_one(backend);
    let ok = match backend {
        Backend::Auto => video_hw::probe().iter().any(serves),
        _ => serves(&report),
    };
    if ok {
        return true;
    }
    let what = if decode { "decode" } else { "encode" };
    let demanded = match backend {
        Backend::Software => {
            (cfg!(feature = "sw-openh264") && codec == Codec::H264) || cfg!(feature = "sw-ffmpeg")
        }
        Backend::Nvidia => decode && flag("VIDEO_HW_REQUIRE_GPU"),
        Backend::VideoToolbox => flag("VIDEO_HW_REQUIRE_VT"),
        // Some backend decodes H.264 and HEVC in every build; VP9 needs FFmpeg or a GPU.
        Backend::Auto => codec != Codec::Vp9 || cfg!(feature = "sw-ffmpeg"),
    };
    let msg = format!("{backend} cannot {what} {codec} here: {}", report.detail);
    assert!(!demanded, "{msg}");
    eprintln!("SKIPPED: {msg}");
    false
}

/// Everything a decoder produced for one stream.
#[derive(Default)]
pub struct Decoded {
    pub frames: Vec<DecodedFrame>,
    pub errors: Vec<VideoError>,
    /// The implementation that decoded (from the session summary).
    pub implementation: String,
    /// The session's counters after the flush (pictures counted, lost).
    pub summary: video_hw::DecodeSummary,
}

impl Decoded {
    /// MD5 of all frames, planar and cropped, in output order.
    pub fn md5(&self) -> String {
        use md5::{Digest, Md5};
        let mut h = Md5::new();
        let mut buf = Vec::new();
        for f in &self.frames {
            buf.clear();
            f.write_planar(&mut buf).expect("CPU frame");
            h.update(&buf);
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Reaps everything that is ready.
pub fn reap_ready(session: &mut DecodeSession, out: &mut Decoded) {
    loop {
        match session.try_reap() {
            Ok(Some(f)) => out.frames.push(f),
            Ok(None) => return,
            Err(e) => out.errors.push(e),
        }
    }
}

/// Submits, reaping whenever the session pushes back.
pub fn submit_all(
    session: &mut DecodeSession,
    inputs: impl IntoIterator<Item = DecodeInput>,
    out: &mut Decoded,
) {
    for mut input in inputs {
        loop {
            match session.submit(input) {
                Ok(()) => break,
                Err(r) => {
                    assert_eq!(
                        r.kind(),
                        ErrorKind::Backpressure,
                        "submit failed: {}",
                        r.error
                    );
                    input = r.input;
                    reap_ready(session, out);
                }
            }
        }
        reap_ready(session, out);
    }
}

/// Flushes and reaps the rest.
pub fn finish(session: &mut DecodeSession, out: &mut Decoded) {
    session.flush().expect("flush");
    reap_ready(session, out);
}

/// Decodes `data` as Annex-B in chunks of `chunk` bytes, with CPU I420 output.
pub fn decode_annexb(backend: Backend, codec: Codec, data: &[u8], chunk: usize) -> Decoded {
    let output = DecodeOutput::Cpu(video_hw::PixelFormat::I420);
    decode_annexb_to(backend, codec, data, chunk, output)
}

/// Decodes `data` as Annex-B in chunks of `chunk` bytes to `output`.
pub fn decode_annexb_to(
    backend: Backend,
    codec: Codec,
    data: &[u8],
    chunk: usize,
    output: DecodeOutput,
) -> Decoded {
    let config = DecoderConfig::new(codec).with_output(output);
    let mut session = DecodeSession::new(backend, config).expect("decoder opens");
    let mut out = Decoded {
        implementation: session.summary().origin.implementation,
        ..Default::default()
    };
    submit_all(
        &mut session,
        data.chunks(chunk.max(1)).map(DecodeInput::annexb),
        &mut out,
    );
    finish(&mut session, &mut out);
    out.summary = session.summary();
    out
}

/// Encodes `n` pattern frames with `config` and returns every chunk.
pub fn encode_pattern(backend: Backend, config: EncoderConfig, n: u64) -> Vec<EncodedChunk> {
    let size = config.dimensions;
    let mut enc = EncodeSession::new(backend, config).expect("encoder opens");
    let mut chunks = Vec::new();
    for i in 0..n {
        let mut input = pattern::encode_input(size, i).expect("pattern");
        loop {
            match enc.submit(input) {
                Ok(()) => break,
                Err(r) => {
                    assert_eq!(r.kind(), ErrorKind::Backpressure, "{}", r.error);
                    input = r.input;
                    while let Some(c) = enc.try_reap().expect("reap") {
                        chunks.push(c);
                    }
                }
            }
        }
        while let Some(c) = enc.try_reap().expect("reap") {
            chunks.push(c);
        }
    }
    chunks.extend(enc.drain().expect("drain"));
    chunks
}

/// A small H.264 stream from the software encoder (the reference input for decoders).
pub fn reference_stream(codec: Codec, size: Dimensions, n: u64) -> Option<Vec<u8>> {
    if !video_hw::backend::probe_one(Backend::Software).encodes(codec) {
        return None;
    }
    let chunks = encode_pattern(Backend::Software, EncoderConfig::new(codec, size), n);
    Some(chunks.into_iter().flat_map(|c| c.data).collect())
}

/// Whether `ffmpeg` and `ffprobe` are on PATH; a panic when `VIDEO_HW_REQUIRE_FFMPEG=1`
/// and they are not.
pub fn have_ffmpeg() -> bool {
    let ok = ["ffmpeg", "ffprobe"].iter().all(|t| {
        Command::new(t)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            !flag("VIDEO_HW_REQUIRE_FFMPEG"),
            "ffmpeg/ffprobe not found on PATH"
        );
        eprintln!("SKIPPED: ffmpeg/ffprobe not found on PATH");
    }
    ok
}

/// Runs `ffmpeg -v error` decoding `path` and returns what it printed (empty when clean).
pub fn ffmpeg_errors(path: &Path) -> String {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        text.push_str(&format!("\nffmpeg exit status {}", out.status));
    }
    text
}

/// Frame count and size of the first video stream according to ffprobe.
pub fn ffprobe_frames(path: &Path) -> (u64, String) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let f: Vec<&str> = text.split(',').collect();
    assert_eq!(f.len(), 3, "unexpected ffprobe output `{text}`");
    (
        f[2].parse().expect("frame count"),
        format!("{}x{}", f[0], f[1]),
    )
}

/// A temporary file path unique to this process and `name`.
pub fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("video-hw-test-{}-{name}", std::process::id()))
}

/// A VP9 stream made now with ffmpeg's libvpx: `frames` frames of `size` in `pix_fmt`, with
/// `extra` encoder arguments; the IVF bytes and ffmpeg's MD5 of its decode (planar, in
/// `pix_fmt`). `None` (with a message) without ffmpeg.
pub fn vp9_stream(
    name: &str,
    size: &str,
    frames: u32,
    pix_fmt: &str,
    extra: &[&str],
) -> Option<(Vec<u8>, String)> {
    // Streams made earlier (for machines without ffmpeg, e.g. the GPU host): the IVF and its
    // MD5 in `$VIDEO_HW_TEST_DATA/vp9/`, as `VIDEO_HW_VP9_SAVE=DIR` writes them.
    if let Some(dir) = std::env::var_os("VIDEO_HW_TEST_DATA").map(|d| PathBuf::from(d).join("vp9"))
        && let (Ok(ivf), Ok(md5)) = (
            std::fs::read(dir.join(format!("{name}.ivf"))),
            std::fs::read_to_string(dir.join(format!("{name}.md5"))),
        )
    {
        return Some((ivf, md5.trim().to_owned()));
    }
    if !have_ffmpeg() {
        return None;
    }
    static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nth = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = temp_path(&format!("{name}-{nth}.ivf"));
    let src = format!("testsrc2=size={size}:rate=30");
    let n = frames.to_string();
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            &src,
        ])
        .args(["-frames:v", &n, "-pix_fmt", pix_fmt, "-c:v", "libvpx-vp9"])
        .args(extra)
        .arg(&path)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md5 = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "md5", "-pix_fmt", pix_fmt, "-"])
        .output()
        .expect("ffmpeg runs");
    let data = std::fs::read(&path).expect("ffmpeg wrote the stream");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&md5.stdout);
    let md5 = text
        .trim()
        .strip_prefix("MD5=")
        .expect("ffmpeg -f md5")
        .to_owned();
    if let Some(dir) = std::env::var_os("VIDEO_HW_VP9_SAVE").map(PathBuf::from) {
        std::fs::create_dir_all(&dir).expect("VIDEO_HW_VP9_SAVE is writable");
        std::fs::write(dir.join(format!("{name}.ivf")), &data).expect("save the stream");
        std::fs::write(dir.join(format!("{name}.md5")), &md5).expect("save its MD5");
    }
    Some((data, md5))
}

/// The frames of an IVF file as decoder inputs, with their timestamps.
pub fn ivf_packets(ivf: &[u8]) -> Vec<DecodeInput> {
    video_hw::container::IvfReader::new(ivf)
        .expect("IVF header")
        .map(|f| f.expect("IVF frame").into_decode_input())
        .collect()
}

/// Decodes `inputs` of `codec` on `backend` to CPU frames (8-bit I420, or I010 above).
pub fn decode_inputs(backend: Backend, codec: Codec, inputs: Vec<DecodeInput>) -> Decoded {
    let config = DecoderConfig::new(codec);
    let mut session = DecodeSession::new(backend, config).expect("decoder opens");
    let mut out = Decoded {
        implementation: session.summary().origin.implementation,
        ..Default::default()
    };
    submit_all(&mut session, inputs, &mut out);
    finish(&mut session, &mut out);
    out.summary = session.summary();
    out
}
