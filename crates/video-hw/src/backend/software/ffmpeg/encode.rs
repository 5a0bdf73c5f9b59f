//! libx264 / libx265 behind [`EncoderBackend`].

use super::{encoder_for, encoder_name, ff_error, init, is_again, libavcodec_version};
use crate::api::codec::Timestamp;
use crate::api::config::{EncoderConfig, RateControl};
use crate::api::encode_input::EncodeInput;
use crate::api::error::{Result, VideoError};
use crate::api::packet::{BitstreamLayout, EncodedChunk};
use crate::backend::EncoderBackend;
use crate::backend::software::i420_input::i420_view;
use ff::format::Pixel;
use ffmpeg_next as ff;

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
