//! FFmpeg's decoders behind [`DecoderBackend`].

use super::plane_pool::PlanePool;
use super::{MAX_PENDING, codec_id, ff_error, init, is_again, libavcodec_version};
use crate::api::codec::{Codec, Dimensions, Timestamp};
use crate::api::color::{
    ColorDescription, ColorPrimaries, ColorRange, MatrixCoefficients, TransferCharacteristics,
};
use crate::api::error::{Result, VideoError};
use crate::api::frame::{CropRect, DecodedFrame, FrameData, PixelFormat, Plane};
use crate::backend::DecoderBackend;
use crate::bitstream::AccessUnit;
use ff::format::Pixel;
use ffmpeg_next as ff;
use std::collections::BTreeMap;

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
    /// Frames FFmpeg handed out with concealed damage (`decode_error_flags` or the corrupt
    /// flag set).
    concealed: u64,
    /// The frames' planes, reused once their frames are gone.
    planes: PlanePool,
}

impl FfmpegDecoder {
    /// A decoder for `codec`; `Unsupported` when this FFmpeg has none. With `explode`
    /// (under [`crate::OnError::Stop`]), a damaged access unit is an error rather than
    /// concealed (FFmpeg's `err_detect explode`).
    pub(crate) fn new(codec: Codec, explode: bool) -> Result<Self> {
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
        if explode {
            // SAFETY: `ctx` owns a valid AVCodecContext that is not open yet; err_recognition
            // is a plain int field read when the decoder opens.
            unsafe { (*ctx.as_mut_ptr()).err_recognition |= ff::ffi::AV_EF_EXPLODE };
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
            concealed: 0,
            planes: PlanePool::default(),
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
                    if self.frame_is_concealed() {
                        self.concealed += 1;
                    }
                    let frame = self.convert()?;
                    out.push(frame);
                }
                Err(ff::Error::Eof) => return Ok(()),
                Err(e) if is_again(&e) => return Ok(()),
                Err(e) => return Err(ff_error("FFmpeg could not decode", e)),
            }
        }
    }

    /// Whether FFmpeg concealed damage in the frame just received.
    fn frame_is_concealed(&self) -> bool {
        // SAFETY: `self.frame` wraps a valid AVFrame that receive_frame just filled; both
        // fields are plain ints.
        let (errors, flags) = unsafe {
            let f = self.frame.as_ptr();
            ((*f).decode_error_flags, (*f).flags)
        };
        errors != 0 || flags & ff::ffi::AV_FRAME_FLAG_CORRUPT != 0
    }

    fn convert(&mut self) -> Result<DecodedFrame> {
        let f = &self.frame;
        let (w, h) = (f.width() as usize, f.height() as usize);
        let coded = Dimensions::new(f.width(), f.height())?;
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let format = f.format();
        let pool = &mut self.planes;
        let mut rows = |i: usize, row: usize, rows: usize, bytes_per_sample: usize| {
            gather_rows(pool, f.data(i), f.stride(i), row * bytes_per_sample, rows)
        };
        let (pixel_format, planes) = match format {
            Pixel::YUV420P | Pixel::YUVJ420P if !self.pixels => (PixelFormat::I420, Vec::new()),
            Pixel::YUV420P10LE if !self.pixels => (PixelFormat::I010, Vec::new()),
            Pixel::YUV420P12LE if !self.pixels => (PixelFormat::I012, Vec::new()),
            Pixel::YUV420P | Pixel::YUVJ420P => (
                PixelFormat::I420,
                vec![
                    Plane {
                        data: rows(0, w, h, 1)?,
                        stride: w,
                    },
                    Plane {
                        data: rows(1, cw, ch, 1)?,
                        stride: cw,
                    },
                    Plane {
                        data: rows(2, cw, ch, 1)?,
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
                        data: rows(0, w, h, 2)?,
                        stride: w * 2,
                    },
                    Plane {
                        data: rows(1, cw, ch, 2)?,
                        stride: cw * 2,
                    },
                    Plane {
                        data: rows(2, cw, ch, 2)?,
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

/// `rows` rows of `row` bytes, `stride` bytes apart in `data`, copied once into a buffer of
/// `pool` (reused once its previous frame is gone).
fn gather_rows(
    pool: &mut PlanePool,
    data: &[u8],
    stride: usize,
    row: usize,
    rows: usize,
) -> Result<std::sync::Arc<[u8]>> {
    let short = || VideoError::backend("FFmpeg frame plane is shorter than its size");
    if rows == 0 || row == 0 {
        return Ok(std::sync::Arc::from(&[][..]));
    }
    let end = (rows - 1)
        .checked_mul(stride)
        .and_then(|n| n.checked_add(row))
        .ok_or_else(short)?;
    if data.len() < end || stride < row {
        return Err(short());
    }
    Ok(pool.filled(row * rows, |dst| {
        if stride == row {
            dst.copy_from_slice(&data[..end]);
        } else {
            for (r, line) in dst.chunks_exact_mut(row).enumerate() {
                line.copy_from_slice(&data[r * stride..r * stride + row]);
            }
        }
    }))
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

    fn concealed_pictures(&self) -> u64 {
        self.concealed
    }

    fn capability(&self) -> crate::backend::DecodeCapability {
        super::super::capability::ffmpeg(self.codec, &libavcodec_version())
    }
}

#[cfg(test)]
mod gather_tests {
    use super::{PlanePool, gather_rows};

    #[test]
    fn padded_rows_are_copied_without_their_padding() {
        let data: Vec<u8> = (0..21).collect();
        let got = gather_rows(&mut PlanePool::default(), &data, 8, 5, 3).unwrap();
        assert_eq!(
            &got[..],
            &[0, 1, 2, 3, 4, 8, 9, 10, 11, 12, 16, 17, 18, 19, 20]
        );
    }

    #[test]
    fn unpadded_rows_are_one_copy_of_the_plane() {
        let data: Vec<u8> = (0..12).collect();
        assert_eq!(
            &gather_rows(&mut PlanePool::default(), &data, 4, 4, 3).unwrap()[..],
            &data[..]
        );
    }

    #[test]
    fn a_plane_shorter_than_its_rows_is_an_error() {
        let data = [0u8; 20];
        let pool = &mut PlanePool::default();
        assert!(gather_rows(pool, &data, 8, 5, 3).is_err());
        assert!(
            gather_rows(pool, &data, 4, 5, 2).is_err(),
            "stride below the row"
        );
        assert!(gather_rows(pool, &data, 8, 5, 0).unwrap().is_empty());
    }
}
