//! H.264 and HEVC through the system's FFmpeg libraries (`ffmpeg-next`).
//!
//! - Decoding: FFmpeg's native decoders, frame-threaded over every core. Each access unit is
//!   one packet whose pts is a tag that maps back to the caller's pts and keyframe flag, so
//!   frames come out in presentation order with their own timestamps. FFmpeg applies the SPS
//!   crop (with `AV_CODEC_FLAG_UNALIGNED`, so odd left/top crops are exact). 8-bit 4:2:0 comes
//!   out as I420 (`yuvj420p` as full range); 10- and 12-bit 4:2:0 as I010 / I012 (planar,
//!   LSB-aligned: FFmpeg's own `yuv420p10le` / `yuv420p12le`); other layouts are `Unsupported`.
//!   H.264 is decoded with `strict_std_compliance = strict`: the reorder depth comes from the
//!   SPS (its VUI, else the level's DPB size) from the first picture on. Without it, a stream
//!   that does not signal `max_num_reorder_frames` makes FFmpeg learn the depth as pictures
//!   arrive and drop the ones already overtaken ("no picture ooo"), without an error; the
//!   `ffmpeg` command escapes that only because it probes the stream first.
//! - Encoding: libx264 (H.264) and libx265 (HEVC), B-frames allowed, headers in band, Annex-B.
//!   `flush` drains the encoder; the next picture opens a fresh encoder (starting with an IDR).
//!
//! FFmpeg's own log is lowered to errors when the first adapter is created: failures come
//! back as typed errors instead.

use super::i420_input::i420_view;
use crate::api::codec::{Codec, Dimensions, Timestamp};
use crate::api::color::{
    ColorDescription, ColorPrimaries, ColorRange, MatrixCoefficients, TransferCharacteristics,
};
use crate::api::config::{EncoderConfig, RateControl};
use crate::api::encode_input::EncodeInput;
use crate::api::error::{Result, VideoError};
use crate::api::frame::{CropRect, DecodedFrame, FrameData, PixelFormat, Plane};
use crate::api::packet::{BitstreamLayout, EncodedChunk};
use crate::backend::{BackendReport, CodecSupport, DecoderBackend, EncoderBackend};
use crate::bitstream::AccessUnit;
use ff::format::Pixel;
use ffmpeg_next as ff;
use std::collections::BTreeMap;
use std::sync::Once;

/// Access units whose picture may still be inside the decoder.
const MAX_PENDING: usize = 256;

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Only registers error strings on FFmpeg 5+; cannot fail there.
        let _ = ff::init();
        ff::log::set_level(ff::log::Level::Error);
    });
}

/// `libavcodec MAJOR.MINOR.MICRO` of the library loaded at run time.
fn libavcodec_version() -> String {
    let v = ff::codec::version();
    format!("libavcodec {}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff)
}

fn codec_id(codec: Codec) -> ff::codec::Id {
    match codec {
        Codec::H264 => ff::codec::Id::H264,
        Codec::Hevc => ff::codec::Id::HEVC,
        Codec::Vp9 => ff::codec::Id::VP9,
    }
}

/// The libavcodec encoder of `codec`, when there is one here (H.264, HEVC).
fn encoder_name(codec: Codec) -> Option<&'static str> {
    match codec {
        Codec::H264 => Some("libx264"),
        Codec::Hevc => Some("libx265"),
        _ => None,
    }
}

/// [`encoder_name`], or `Unsupported` naming what this backend encodes.
fn encoder_for(codec: Codec) -> Result<&'static str> {
    encoder_name(codec).ok_or_else(|| {
        VideoError::unsupported(format!(
            "FFmpeg encodes H.264 (libx264) and HEVC (libx265) here, not {codec}"
        ))
    })
}

fn is_again(e: &ff::Error) -> bool {
    matches!(e, ff::Error::Other { errno } if *errno == ff::error::EAGAIN)
}

fn ff_error(what: &str, e: ff::Error) -> VideoError {
    match e {
        ff::Error::InvalidData => VideoError::invalid_bitstream(format!("{what}: {e}")),
        _ => VideoError::backend(format!("{what}: {e}")),
    }
}

/// What FFmpeg offers in this process (decoders and the libx264/libx265 encoders).
pub(crate) fn probe() -> BackendReport {
    init();
    let version = libavcodec_version();
    let mut report = BackendReport::unavailable(crate::backend::Backend::Software, "");
    for codec in Codec::ALL {
        if ff::decoder::find(codec_id(codec)).is_some() {
            report
                .decode_capabilities
                .push(super::capability::ffmpeg(codec, &version));
            report.decode.push(CodecSupport {
                codec,
                max_width: None,
                max_height: None,
                bit_depths: vec![8, 10],
                implementation: format!("ffmpeg {version}"),
            });
        }
        if let Some(name) = encoder_name(codec)
            && ff::encoder::find_by_name(name).is_some()
        {
            report.encode.push(CodecSupport {
                codec,
                max_width: None,
                max_height: None,
                bit_depths: vec![8],
                implementation: format!("ffmpeg {version} ({name})"),
            });
        }
    }
    let encoders: Vec<&str> = Codec::ALL
        .iter()
        .filter_map(|c| encoder_name(*c))
        .filter(|n| ff::encoder::find_by_name(n).is_some())
        .collect();
    report.detail = format!(
        "ffmpeg {version}: decode {}; encode {}",
        report
            .decode
            .iter()
            .map(|c| c.codec.name())
            .collect::<Vec<_>>()
            .join(", "),
        if encoders.is_empty() {
            "none (no libx264/libx265)".to_owned()
        } else {
            encoders.join(", ")
        }
    );
    report
}

#[derive(Debug, Clone, Copy)]
struct PendingPicture {
    pts: Option<Timestamp>,
    keyframe: bool,
}

/// An H.264/HEVC decoder on libavcodec.
pub(crate) struct FfmpegDecoder {
    codec: Codec,
    decoder: ff::decoder::Video,
    frame: ff::frame::Video,
    next_tag: i64,
    pending: BTreeMap<i64, PendingPicture>,
    /// Whether frames carry pixels (false: metadata only, no copy).
    pixels: bool,
}

impl FfmpegDecoder {
    /// A decoder for `codec`; `Unsupported` when this FFmpeg has none.
    pub(crate) fn new(codec: Codec) -> Result<Self> {
        init();
        let found = ff::decoder::find(codec_id(codec)).ok_or_else(|| {
            VideoError::unsupported(format!("this FFmpeg has no {codec} decoder"))
        })?;
        let mut ctx = ff::codec::Context::new_with_codec(found);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut threading = ff::threading::Config::count(threads);
        threading.kind = ff::threading::Type::Frame;
        ctx.set_threading(threading);
        ctx.set_flags(ff::codec::Flags::UNALIGNED);
        if codec == Codec::H264 {
            ctx.compliance(ff::codec::Compliance::Strict);
        }
        let decoder = ctx
            .decoder()
            .open_as(found)
            .and_then(|d| d.video())
            .map_err(|e| VideoError::backend(format!("opening the FFmpeg {codec} decoder: {e}")))?;
        Ok(Self {
            codec,
            decoder,
            frame: ff::frame::Video::empty(),
            next_tag: 0,
            pending: BTreeMap::new(),
            pixels: true,
        })
    }

    /// Frames without pixels (sizes, timestamps and flags only): nothing is copied.
    pub(crate) fn without_pixels(mut self) -> Self {
        self.pixels = false;
        self
    }

    /// Moves every frame FFmpeg has ready into `out`.
    fn receive(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        loop {
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => {
                    let frame = self.convert()?;
                    out.push(frame);
                }
                Err(ff::Error::Eof) => return Ok(()),
                Err(e) if is_again(&e) => return Ok(()),
                Err(e) => return Err(ff_error("FFmpeg could not decode", e)),
            }
        }
    }

    fn convert(&mut self) -> Result<DecodedFrame> {
        let f = &self.frame;
        let (w, h) = (f.width() as usize, f.height() as usize);
        let coded = Dimensions::new(f.width(), f.height())?;
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let format = f.format();
        let rows =
            |i: usize, row: usize, rows: usize, bytes_per_sample: usize| -> Result<Vec<u8>> {
                let (data, stride) = (f.data(i), f.stride(i));
                let mut plane = Vec::with_capacity(row * rows * bytes_per_sample);
                for r in 0..rows {
                    let line = data
                        .get(r * stride..r * stride + row * bytes_per_sample)
                        .ok_or_else(|| {
                            VideoError::backend("FFmpeg frame plane is shorter than its size")
                        })?;
                    plane.extend_from_slice(line);
                }
                Ok(plane)
            };
        let (pixel_format, planes) = match format {
            Pixel::YUV420P | Pixel::YUVJ420P if !self.pixels => (PixelFormat::I420, Vec::new()),
            Pixel::YUV420P10LE if !self.pixels => (PixelFormat::I010, Vec::new()),
            Pixel::YUV420P12LE if !self.pixels => (PixelFormat::I012, Vec::new()),
            Pixel::YUV420P | Pixel::YUVJ420P => (
                PixelFormat::I420,
                vec![
                    Plane {
                        data: rows(0, w, h, 1)?.into(),
                        stride: w,
                    },
                    Plane {
                        data: rows(1, cw, ch, 1)?.into(),
                        stride: cw,
                    },
                    Plane {
                        data: rows(2, cw, ch, 1)?.into(),
                        stride: cw,
                    },
                ],
            ),
            Pixel::YUV420P10LE | Pixel::YUV420P12LE => (
                if format == Pixel::YUV420P10LE {
                    PixelFormat::I010
                } else {
                    PixelFormat::I012
                },
                vec![
                    Plane {
                        data: rows(0, w, h, 2)?.into(),
                        stride: w * 2,
                    },
                    Plane {
                        data: rows(1, cw, ch, 2)?.into(),
                        stride: cw * 2,
                    },
                    Plane {
                        data: rows(2, cw, ch, 2)?.into(),
                        stride: cw * 2,
                    },
                ],
            ),
            other => {
                return Err(VideoError::unsupported(format!(
                    "FFmpeg decoded {other:?}; the software backend outputs 4:2:0 at 8, 10 or 12 bits only"
                )));
            }
        };
        let tag = f.pts().or_else(|| f.timestamp());
        let pending = tag.and_then(|t| self.pending.remove(&t));
        Ok(DecodedFrame {
            format: pixel_format,
            coded,
            crop: CropRect::full(coded),
            color: color_of(f),
            pts: pending.and_then(|p| p.pts),
            keyframe: f.is_key() || pending.is_some_and(|p| p.keyframe),
            data: if self.pixels {
                FrameData::Cpu(planes)
            } else {
                FrameData::MetadataOnly
            },
        })
    }
}

/// The colour description FFmpeg read from the stream (H.273 code points), or defaults.
fn color_of(f: &ff::frame::Video) -> ColorDescription {
    let space: ff::ffi::AVColorSpace = f.color_space().into();
    let primaries: ff::ffi::AVColorPrimaries = f.color_primaries().into();
    let transfer: ff::ffi::AVColorTransferCharacteristic = f.color_transfer_characteristic().into();
    let range = match f.color_range() {
        ff::color::Range::JPEG => ColorRange::Full,
        ff::color::Range::MPEG => ColorRange::Limited,
        _ if f.format() == Pixel::YUVJ420P => ColorRange::Full,
        _ => ColorRange::Limited,
    };
    let code = |v: i64| u8::try_from(v).unwrap_or(2);
    ColorDescription {
        matrix: MatrixCoefficients::from_h273(code(space as i64)),
        range,
        primaries: ColorPrimaries::from_h273(code(primaries as i64)),
        transfer: TransferCharacteristics::from_h273(code(transfer as i64)),
    }
}

impl DecoderBackend for FfmpegDecoder {
    fn decode(&mut self, au: &AccessUnit, out: &mut Vec<DecodedFrame>) -> Result<()> {
        if au.codec != self.codec {
            return Err(VideoError::invalid_input(format!(
                "{} access unit sent to a {} decoder",
                au.codec, self.codec
            )));
        }
        if au.nals.iter().all(Vec::is_empty) {
            // An empty packet would mean end of stream to FFmpeg.
            return Err(VideoError::invalid_bitstream(
                "empty access unit (no NAL units)",
            ));
        }
        let tag = self.next_tag;
        self.next_tag += 1;
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_first();
        }
        self.pending.insert(
            tag,
            PendingPicture {
                pts: au.pts,
                keyframe: au.keyframe,
            },
        );
        let mut packet = ff::Packet::copy(&au.decoder_bytes());
        packet.set_pts(Some(tag));
        loop {
            match self.decoder.send_packet(&packet) {
                Ok(()) => break,
                Err(e) if is_again(&e) => {
                    // The output queue is full: take frames out, then send again.
                    let before = out.len();
                    self.receive(out)?;
                    if out.len() == before {
                        return Err(VideoError::backend(
                            "FFmpeg refused the packet but had no frame ready",
                        ));
                    }
                }
                Err(e) => {
                    self.pending.remove(&tag);
                    return Err(ff_error(
                        &format!("FFmpeg could not decode the {} access unit", self.codec),
                        e,
                    ));
                }
            }
        }
        self.receive(out)
    }

    fn flush(&mut self, out: &mut Vec<DecodedFrame>) -> Result<()> {
        // With frame threads, an earlier packet's error can surface here; the end-of-stream
        // marker is then sent again so the remaining frames still drain.
        let mut first_error = None;
        for _ in 0..2 {
            match self.decoder.send_eof() {
                Ok(()) | Err(ff::Error::Eof) => break,
                Err(e) => {
                    first_error.get_or_insert(ff_error("FFmpeg could not decode", e));
                }
            }
        }
        let received = self.receive(out);
        // Leave draining mode so the decoder takes a new stream.
        self.decoder.flush();
        self.pending.clear();
        match first_error {
            Some(e) => Err(e),
            None => received,
        }
    }

    fn implementation(&self) -> String {
        format!("ffmpeg {}", libavcodec_version())
    }

    fn capability(&self) -> crate::backend::DecodeCapability {
        super::capability::ffmpeg(self.codec, &libavcodec_version())
    }
}

/// What libx264/libx265 cannot do, as typed errors.
pub(crate) fn check_encoder_config(config: &EncoderConfig) -> Result<()> {
    init();
    let name = encoder_for(config.codec)?;
    if ff::encoder::find_by_name(name).is_none() {
        return Err(VideoError::unsupported(format!(
            "this FFmpeg has no {name} encoder for {}",
            config.codec
        )));
    }
    let d = config.dimensions;
    if !d.width().is_multiple_of(2) || !d.height().is_multiple_of(2) {
        return Err(VideoError::unsupported(format!(
            "{name} encodes 4:2:0 at even sizes only, got {d}"
        )));
    }
    if config.b_frames > 16 {
        return Err(VideoError::unsupported(format!(
            "{name}: at most 16 consecutive B-frames, {} requested",
            config.b_frames
        )));
    }
    Ok(())
}

/// An H.264 (libx264) or HEVC (libx265) encoder.
pub(crate) struct FfmpegEncoder {
    config: EncoderConfig,
    /// `None` after a flush: the next picture opens a fresh encoder.
    encoder: Option<ff::encoder::video::Encoder>,
    packet: ff::Packet,
    scratch: Vec<u8>,
    next_pts: i64,
}

fn open_encoder(config: &EncoderConfig) -> Result<ff::encoder::video::Encoder> {
    let name = encoder_for(config.codec)?;
    let found = ff::encoder::find_by_name(name)
        .ok_or_else(|| VideoError::unsupported(format!("this FFmpeg has no {name} encoder")))?;
    let ctx = ff::codec::Context::new_with_codec(found);
    let mut enc = ctx
        .encoder()
        .video()
        .map_err(|e| VideoError::backend(format!("{name}: {e}")))?;
    let to_i32 = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    enc.set_width(config.dimensions.width());
    enc.set_height(config.dimensions.height());
    enc.set_format(Pixel::YUV420P);
    enc.set_time_base(ff::Rational::new(
        to_i32(config.timebase.0.num),
        to_i32(config.timebase.0.den),
    ));
    enc.set_frame_rate(Some(ff::Rational::new(
        to_i32(config.fps.num),
        to_i32(config.fps.den),
    )));
    enc.set_max_b_frames(config.b_frames as usize);
    let mut params: Vec<String> = Vec::new();
    if config.gop_length == 0 {
        params.push(if name == "libx265" {
            "keyint=-1".to_owned()
        } else {
            "keyint=infinite".to_owned()
        });
    } else {
        enc.set_gop(config.gop_length);
    }
    match config.rate_control {
        RateControl::Cbr { bitrate } => {
            enc.set_bit_rate(bitrate as usize);
            params.push(format!("vbv-maxrate={0}:vbv-bufsize={0}", bitrate / 1000));
        }
        RateControl::Vbr {
            bitrate,
            max_bitrate,
        } => {
            enc.set_bit_rate(bitrate as usize);
            params.push(format!(
                "vbv-maxrate={0}:vbv-bufsize={0}",
                max_bitrate / 1000
            ));
        }
        RateControl::Cqp { qp } => params.push(format!("qp={qp}")),
    }
    let mut opts = ff::Dictionary::new();
    opts.set(
        "preset",
        if config.low_latency {
            "veryfast"
        } else {
            "fast"
        },
    );
    if config.low_latency {
        opts.set("tune", "zerolatency");
    }
    opts.set("forced-idr", "1");
    if name == "libx265" {
        params.push("log-level=error".to_owned());
        opts.set("x265-params", &params.join(":"));
    } else {
        opts.set("x264-params", &params.join(":"));
    }
    enc.open_as_with(found, opts)
        .map_err(|e| VideoError::backend(format!("opening {name}: {e}")))
}

impl FfmpegEncoder {
    /// An encoder for `config` (checked by [`check_encoder_config`]).
    pub(crate) fn new(config: &EncoderConfig) -> Result<Self> {
        check_encoder_config(config)?;
        Ok(Self {
            encoder: Some(open_encoder(config)?),
            config: config.clone(),
            packet: ff::Packet::empty(),
            scratch: Vec::new(),
            next_pts: 0,
        })
    }

    fn receive(&mut self, out: &mut Vec<EncodedChunk>) -> Result<()> {
        let Some(enc) = self.encoder.as_mut() else {
            return Ok(());
        };
        let timebase = self.config.timebase;
        loop {
            match enc.receive_packet(&mut self.packet) {
                Ok(()) => {
                    let stamp = |t: Option<i64>| t.map(|ticks| Timestamp { ticks, timebase });
                    out.push(EncodedChunk {
                        codec: self.config.codec,
                        layout: BitstreamLayout::AnnexB,
                        pts: stamp(self.packet.pts()),
                        dts: stamp(self.packet.dts()),
                        keyframe: self.packet.is_key(),
                        generation: 0,
                        data: self.packet.data().unwrap_or_default().to_vec(),
                    });
                }
                Err(ff::Error::Eof) => return Ok(()),
                Err(e) if is_again(&e) => return Ok(()),
                Err(e) => return Err(ff_error("FFmpeg encode failed", e)),
            }
        }
    }
}

impl EncoderBackend for FfmpegEncoder {
    fn encode(&mut self, input: &EncodeInput, out: &mut Vec<EncodedChunk>) -> Result<()> {
        if input.dimensions() != self.config.dimensions {
            return Err(VideoError::invalid_input(format!(
                "picture is {}, the encoder is configured for {}",
                input.dimensions(),
                self.config.dimensions
            )));
        }
        if self.encoder.is_none() {
            self.encoder = Some(open_encoder(&self.config)?);
        }
        let view = i420_view(input, &mut self.scratch)?;
        let mut frame = ff::frame::Video::new(
            Pixel::YUV420P,
            self.config.dimensions.width(),
            self.config.dimensions.height(),
        );
        let (cw, ch) = (view.width.div_ceil(2), view.height.div_ceil(2));
        for (i, (row, rows)) in [(view.width, view.height), (cw, ch), (cw, ch)]
            .into_iter()
            .enumerate()
        {
            let dst_stride = frame.stride(i);
            let dst = frame.data_mut(i);
            for r in 0..rows {
                let src = &view.planes[i][r * view.strides[i]..r * view.strides[i] + row];
                dst[r * dst_stride..r * dst_stride + row].copy_from_slice(src);
            }
        }
        let pts = input
            .pts
            .map_or(self.next_pts, |p| p.rescale(self.config.timebase).ticks);
        self.next_pts = pts + self.config.timebase.ticks_per_frame(self.config.fps);
        frame.set_pts(Some(pts));
        if input.force_keyframe {
            frame.set_kind(ff::picture::Type::I);
        }
        loop {
            let enc = self.encoder.as_mut().expect("opened above");
            match enc.send_frame(&frame) {
                Ok(()) => break,
                Err(e) if is_again(&e) => {
                    let before = out.len();
                    self.receive(out)?;
                    if out.len() == before {
                        return Err(VideoError::backend(
                            "FFmpeg refused the picture but had no packet ready",
                        ));
                    }
                }
                Err(e) => return Err(ff_error("FFmpeg could not take the picture", e)),
            }
        }
        self.receive(out)
    }

    fn flush(&mut self, out: &mut Vec<EncodedChunk>) -> Result<()> {
        let Some(enc) = self.encoder.as_mut() else {
            return Ok(());
        };
        let result = match enc.send_eof() {
            Ok(()) | Err(ff::Error::Eof) => self.receive(out),
            Err(e) => Err(ff_error("FFmpeg could not drain the encoder", e)),
        };
        // libx264/libx265 cannot leave draining mode: the next picture opens a new encoder.
        self.encoder = None;
        result
    }

    fn implementation(&self) -> String {
        format!(
            "ffmpeg {} ({})",
            libavcodec_version(),
            encoder_name(self.config.codec).unwrap_or("no encoder")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::error::ErrorKind;
    use crate::backend::software::test_support::*;

    fn config(codec: Codec, w: u32, h: u32, b_frames: u32) -> EncoderConfig {
        let mut c = EncoderConfig::new(codec, Dimensions::new(w, h).unwrap());
        c.rate_control = RateControl::Vbr {
            bitrate: 1_000_000,
            max_bitrate: 2_000_000,
        };
        c.b_frames = b_frames;
        c
    }

    fn round_trip(codec: Codec, b_frames: u32) {
        let mut enc = FfmpegEncoder::new(&config(codec, 320, 240, b_frames)).unwrap();
        let chunks = encode_pattern(&mut enc, 320, 240, 20);
        assert_eq!(chunks.len(), 20, "one chunk per picture");
        assert!(chunks[0].keyframe);
        if b_frames > 0 {
            assert!(
                chunks.iter().any(|c| c.dts != c.pts),
                "B-frames reorder: some dts differ from pts"
            );
        }
        for w in chunks.windows(2) {
            assert!(w[0].dts.unwrap() < w[1].dts.unwrap(), "decode order");
        }
        let mut dec = FfmpegDecoder::new(codec).unwrap();
        let frames = decode_chunks(&mut dec, codec, &chunks);
        assert_eq!(frames.len(), 20);
        for (t, f) in frames.iter().enumerate() {
            assert_eq!(f.pts, Some(Timestamp::mpeg(t as i64 * 3000)), "frame {t}");
            let db = psnr(&planar(f), &moving_i420(320, 240, t));
            assert!(db > 30.0, "{codec} frame {t}: PSNR {db:.1} dB");
        }
    }

    #[test]
    fn ffmpeg_h264_with_b_frames_round_trips_in_presentation_order() {
        round_trip(Codec::H264, 2);
    }

    #[test]
    fn ffmpeg_hevc_round_trips_above_30db() {
        round_trip(Codec::Hevc, 0);
    }

    #[test]
    fn ffmpeg_decodes_high_profile_b_frame_conformance_stream() {
        let Some(dir) = conformance_dir() else { return };
        let file = "h264/64x64-I-P-B-P-high.h264";
        let (count, md5) = manifest_entry(&dir, file);
        assert_eq!(count, 3);
        let data = std::fs::read(dir.join(file)).unwrap();
        let mut dec = FfmpegDecoder::new(Codec::H264).unwrap();
        let mut frames = Vec::new();
        for au in access_units(Codec::H264, &data) {
            dec.decode(&au, &mut frames).unwrap();
        }
        dec.flush(&mut frames).unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames_md5(&frames), md5);
    }

    #[test]
    fn ffmpeg_decodes_hevc_conformance_stream_bit_exactly() {
        let Some(dir) = conformance_dir() else { return };
        let file = "hevc/test-25fps.h265";
        let (count, md5) = manifest_entry(&dir, file);
        let data = std::fs::read(dir.join(file)).unwrap();
        let mut dec = FfmpegDecoder::new(Codec::Hevc).unwrap();
        let mut frames = Vec::new();
        for au in access_units(Codec::Hevc, &data) {
            dec.decode(&au, &mut frames).unwrap();
        }
        dec.flush(&mut frames).unwrap();
        assert_eq!(frames.len(), count);
        assert_eq!(frames_md5(&frames), md5);
    }

    #[test]
    fn ffmpeg_applies_unaligned_crop_exactly() {
        let Some(dir) = conformance_dir() else { return };
        let file = "h264/CVFC1_Sony_C.jsv";
        let (count, md5) = manifest_entry(&dir, file);
        let data = std::fs::read(dir.join(file)).unwrap();
        let mut dec = FfmpegDecoder::new(Codec::H264).unwrap();
        let mut frames = Vec::new();
        for au in access_units(Codec::H264, &data) {
            dec.decode(&au, &mut frames).unwrap();
        }
        dec.flush(&mut frames).unwrap();
        assert_eq!(frames.len(), count);
        assert_eq!(frames[0].dimensions(), Dimensions::new(300, 168).unwrap());
        assert_eq!(frames_md5(&frames), md5);
    }

    #[test]
    fn ffmpeg_garbage_is_invalid_bitstream_and_a_valid_stream_decodes_after() {
        let mut dec = FfmpegDecoder::new(Codec::H264).unwrap();
        let mut frames = Vec::new();
        let au = AccessUnit {
            codec: Codec::H264,
            nals: vec![
                vec![0x65, 0xde, 0xad, 0xbe, 0xef, 0x13, 0x37],
                vec![0x67, 0xff, 0xff],
            ],
            keyframe: true,
            offset: 0,
            pts: None,
        };
        let empty = AccessUnit {
            nals: Vec::new(),
            ..au.clone()
        };
        let err = dec.decode(&empty, &mut frames).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidBitstream);
        let mut errors = Vec::new();
        errors.extend(dec.decode(&au, &mut frames).err());
        // Frame threads may report the error only when the decoder is drained.
        errors.extend(dec.flush(&mut frames).err());
        assert!(!errors.is_empty(), "garbage is reported");
        for e in &errors {
            assert_eq!(e.kind(), ErrorKind::InvalidBitstream, "{e}");
        }
        assert!(frames.is_empty(), "garbage produced no picture");
        let mut enc = FfmpegEncoder::new(&config(Codec::H264, 160, 96, 0)).unwrap();
        let chunks = encode_pattern(&mut enc, 160, 96, 5);
        assert_eq!(decode_chunks(&mut dec, Codec::H264, &chunks).len(), 5);
    }

    #[test]
    fn ffmpeg_encoder_is_reusable_after_flush_and_forces_keyframes() {
        let mut c = config(Codec::H264, 160, 96, 0);
        c.gop_length = 0;
        let mut enc = FfmpegEncoder::new(&c).unwrap();
        let mut chunks = Vec::new();
        for t in 0..6 {
            let input = moving_input(160, 96, t).with_force_keyframe(t == 3);
            enc.encode(&input, &mut chunks).unwrap();
        }
        enc.flush(&mut chunks).unwrap();
        let keys: Vec<bool> = chunks.iter().map(|c| c.keyframe).collect();
        assert_eq!(keys, [true, false, false, true, false, false]);
        let again = encode_pattern(&mut enc, 160, 96, 2);
        assert_eq!(again.len(), 2);
        assert!(again[0].keyframe, "a fresh encoder starts with a keyframe");
        let stream: Vec<u8> = chunks.iter().flat_map(|c| c.data.iter().copied()).collect();
        if let Some(result) = ffmpeg_accepts(&stream, "h264") {
            result.expect("ffmpeg -v error reports nothing");
        }
    }

    #[test]
    fn ffmpeg_rejects_odd_sizes_and_wrong_size_input() {
        let err = FfmpegEncoder::new(&config(Codec::H264, 17, 9, 0))
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        let mut enc = FfmpegEncoder::new(&config(Codec::H264, 64, 48, 0)).unwrap();
        let err = enc
            .encode(&moving_input(32, 32, 0), &mut Vec::new())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    }

    /// Runs the ffmpeg command; `None` (skip) when it is absent.
    fn ffmpeg_cli(args: &[&str]) -> Option<()> {
        if !ffmpeg_cli_available() {
            return None;
        }
        let out = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-v", "error", "-y"])
            .args(args)
            .output()
            .expect("run ffmpeg");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(())
    }

    #[test]
    fn ffmpeg_decodes_10_bit_hevc_to_lsb_aligned_i010_and_to_p016_on_request() {
        let dir = std::env::temp_dir().join(format!("video-hw-sw-p016-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (stream, raw) = (dir.join("ten.h265"), dir.join("ten.yuv"));
        let (stream_s, raw_s) = (stream.to_str().unwrap(), raw.to_str().unwrap());
        let made = ffmpeg_cli(&[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x48:rate=25",
            "-frames:v",
            "3",
            "-pix_fmt",
            "yuv420p10le",
            "-c:v",
            "libx265",
            "-x265-params",
            "log-level=error",
            "-f",
            "hevc",
            stream_s,
        ])
        .and_then(|()| {
            ffmpeg_cli(&[
                "-i",
                stream_s,
                "-f",
                "rawvideo",
                "-pix_fmt",
                "yuv420p10le",
                raw_s,
            ])
        });
        if made.is_none() {
            return;
        }
        let data = std::fs::read(&stream).unwrap();
        let reference = std::fs::read(&raw).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let mut dec = FfmpegDecoder::new(Codec::Hevc).unwrap();
        let mut frames = Vec::new();
        for au in access_units(Codec::Hevc, &data) {
            dec.decode(&au, &mut frames).unwrap();
        }
        dec.flush(&mut frames).unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].format, PixelFormat::I010);
        let ours: Vec<u8> = frames.iter().flat_map(planar).collect();
        assert!(ours == reference, "planar output is FFmpeg's yuv420p10le");
        // P016 (MSB-aligned) for those who ask: the same samples in the high bits.
        let spec = crate::transform::TransformSpec::to(PixelFormat::P016);
        let p016: Vec<DecodedFrame> = frames
            .iter()
            .map(|f| crate::transform::transform_frame(f, &spec).unwrap())
            .collect();
        assert_eq!(p016[0].format, PixelFormat::P016);
        let ours: Vec<u8> = p016.iter().flat_map(planar).collect();
        assert_eq!(ours.len(), reference.len());
        for (o, r) in ours.chunks_exact(2).zip(reference.chunks_exact(2)) {
            let (o, r) = (
                u16::from_le_bytes([o[0], o[1]]),
                u16::from_le_bytes([r[0], r[1]]),
            );
            assert_eq!(o, r << 6);
        }
    }

    #[test]
    fn ffmpeg_metadata_only_frames_carry_sizes_and_pts_but_no_pixels() {
        let mut enc = FfmpegEncoder::new(&config(Codec::Hevc, 160, 96, 0)).unwrap();
        let chunks = encode_pattern(&mut enc, 160, 96, 3);
        let mut dec = FfmpegDecoder::new(Codec::Hevc).unwrap().without_pixels();
        let frames = decode_chunks(&mut dec, Codec::Hevc, &chunks);
        assert_eq!(frames.len(), 3);
        for (t, f) in frames.iter().enumerate() {
            assert!(matches!(f.data, FrameData::MetadataOnly));
            assert_eq!(f.format, PixelFormat::I420);
            assert_eq!(f.dimensions(), Dimensions::new(160, 96).unwrap());
            assert_eq!(f.pts, Some(Timestamp::mpeg(t as i64 * 3000)));
        }
    }

    #[test]
    fn ffmpeg_probe_lists_h264_and_hevc() {
        let report = probe();
        assert!(
            report.decode.iter().any(|c| c.codec == Codec::Hevc),
            "{}",
            report.detail
        );
        assert!(
            report.encode.iter().any(|c| c.codec == Codec::Hevc),
            "{}",
            report.detail
        );
        assert!(report.detail.contains("libavcodec"));
    }
}

#[cfg(test)]
mod conformance {
    use super::*;
    use crate::backend::software::test_support::*;

    /// Every stream of the conformance manifest, decoded access unit by access unit, matches
    /// its MD5 (the manifest's sums come from FFmpeg 5.1, the library this adapter wraps).
    #[test]
    fn ffmpeg_decodes_every_conformance_stream_bit_exactly() {
        let Some(dir) = conformance_dir() else { return };
        let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
        let mut failures = Vec::new();
        for line in manifest.lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            let codec: Codec = cols[1].parse().unwrap();
            let (count, md5) = (cols[3].parse::<usize>().unwrap(), cols[7]);
            let data = std::fs::read(dir.join(cols[0])).unwrap();
            let mut dec = FfmpegDecoder::new(codec).unwrap();
            let mut frames = Vec::new();
            let mut errors = 0;
            for au in access_units(codec, &data) {
                errors += usize::from(dec.decode(&au, &mut frames).is_err());
            }
            errors += usize::from(dec.flush(&mut frames).is_err());
            let got = frames_md5(&frames);
            if frames.len() != count || got != md5 || errors > 0 {
                failures.push(format!(
                    "{}: {} of {count} frames, {errors} errors, md5 {got}",
                    cols[0],
                    frames.len()
                ));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
