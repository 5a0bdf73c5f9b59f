//! The FFmpeg side of a bench: the command that matches each workload, `ffprobe`, and the
//! `psnr` filter used to verify encodes.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use video_hw::{Backend, Codec, Dimensions, EncoderConfig, RateControl};

/// Where FFmpeg and ffprobe live and how many threads FFmpeg may use.
#[derive(Debug, Clone)]
pub struct Ffmpeg {
    /// The `ffmpeg` program.
    pub ffmpeg: PathBuf,
    /// The `ffprobe` program (next to `ffmpeg` when it is a path, else from `PATH`).
    pub ffprobe: PathBuf,
    /// `-threads` value; 0 lets FFmpeg choose.
    pub threads: usize,
    /// libx264/libx265 `-preset`.
    pub preset: String,
}

/// Raw 8-bit 4:2:0 pictures, as a file or as a lavfi source.
#[derive(Debug, Clone)]
pub enum RawSource {
    /// A headerless I420 file.
    File {
        /// The file.
        path: PathBuf,
        /// Picture size.
        size: Dimensions,
        /// Frames per second.
        fps: String,
    },
    /// FFmpeg's `testsrc2` pattern (used when the encoders do not share a file).
    TestSrc {
        /// Picture size.
        size: Dimensions,
        /// Frames per second.
        fps: String,
    },
}

impl RawSource {
    /// The FFmpeg input options that read this source.
    pub fn input_args(&self) -> Vec<String> {
        match self {
            RawSource::File { path, size, fps } => strings(&[
                "-f",
                "rawvideo",
                "-pix_fmt",
                "yuv420p",
                "-s",
                &size.to_string(),
                "-r",
                fps,
                "-i",
                &path.display().to_string(),
            ]),
            RawSource::TestSrc { size, fps } => strings(&[
                "-f",
                "lavfi",
                "-i",
                &format!("testsrc2=size={size}:rate={fps}"),
            ]),
        }
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

impl Ffmpeg {
    /// FFmpeg at `ffmpeg` (a name looked up in `PATH`, or a path).
    pub fn new(ffmpeg: PathBuf, threads: usize, preset: String) -> Self {
        let ffprobe = match ffmpeg.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join("ffprobe"),
            _ => PathBuf::from("ffprobe"),
        };
        Self {
            ffmpeg,
            ffprobe,
            threads,
            preset,
        }
    }

    /// The first line of `ffmpeg -version`; an error when FFmpeg cannot run.
    pub fn version(&self) -> Result<String> {
        let out = Command::new(&self.ffmpeg)
            .arg("-version")
            .output()
            .with_context(|| format!("cannot run {}", self.ffmpeg.display()))?;
        if !out.status.success() {
            bail!("{} -version failed", self.ffmpeg.display());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let first = text.lines().next().unwrap_or_default();
        // "ffmpeg version 5.1.9-0+deb12u1 Copyright (c) ...": keep what names the build.
        Ok(first
            .split(" Copyright")
            .next()
            .unwrap_or(first)
            .trim()
            .to_owned())
    }

    fn base(&self) -> Vec<String> {
        let mut v = strings(&["-hide_banner", "-nostdin", "-y", "-v", "error"]);
        if self.threads > 0 {
            v.extend(strings(&["-threads", &self.threads.to_string()]));
        }
        v
    }

    /// Arguments of the decode that matches `backend`: FFmpeg's own decoder on the CPU,
    /// `-hwaccel cuda` for NVIDIA, `-hwaccel videotoolbox` for VideoToolbox; frames go to the
    /// null muxer, converted to `to` on the way (`-pix_fmt`) when given.
    pub fn decode_args(
        &self,
        backend: Backend,
        input: &Path,
        to: Option<video_hw::PixelFormat>,
        write_to: Option<&Path>,
    ) -> Vec<String> {
        let mut v = self.base();
        match backend {
            Backend::Nvidia => v.extend(strings(&["-hwaccel", "cuda"])),
            Backend::VideoToolbox => v.extend(strings(&["-hwaccel", "videotoolbox"])),
            _ => {}
        }
        // Without `--to`, frames stay in device memory, as video-hw keeps them.
        if to.is_none() && backend == Backend::Nvidia && write_to.is_none() {
            v.extend(strings(&["-hwaccel_output_format", "cuda"]));
        }
        v.extend(strings(&["-i", &input.display().to_string()]));
        if let Some(f) = to {
            let name = match f {
                video_hw::PixelFormat::I420 => "yuv420p".to_owned(),
                other => other.to_string(),
            };
            v.extend(strings(&["-pix_fmt", &name]));
        }
        match write_to {
            Some(path) => v.extend(strings(&[
                "-f",
                "rawvideo",
                "-y",
                &path.display().to_string(),
            ])),
            None => v.extend(strings(&["-f", "null", "-"])),
        }
        v
    }

    /// The FFmpeg encoder matching `backend` and `codec`.
    pub fn encoder_name(backend: Backend, codec: Codec) -> &'static str {
        match (backend, codec) {
            (Backend::Nvidia, Codec::Hevc) => "hevc_nvenc",
            (Backend::Nvidia, _) => "h264_nvenc",
            (Backend::VideoToolbox, Codec::Hevc) => "hevc_videotoolbox",
            (Backend::VideoToolbox, _) => "h264_videotoolbox",
            (_, Codec::Hevc) => "libx265",
            (_, _) => "libx264",
        }
    }

    /// Arguments of the encode closest to `config`: same size, frame rate, GOP, B-frame count
    /// and rate control; `frames` pictures from `source` to `output` (raw Annex-B).
    pub fn encode_args(
        &self,
        backend: Backend,
        config: &EncoderConfig,
        source: &RawSource,
        frames: u64,
        output: &Path,
    ) -> Vec<String> {
        let encoder = Self::encoder_name(backend, config.codec);
        let mut v = self.base();
        v.extend(source.input_args());
        v.extend(strings(&[
            "-frames:v",
            &frames.to_string(),
            "-an",
            "-c:v",
            encoder,
            "-pix_fmt",
            "yuv420p",
            "-g",
            &config.gop_length.to_string(),
            "-bf",
            &config.b_frames.to_string(),
        ]));
        match config.rate_control {
            RateControl::Cbr { bitrate } => v.extend(strings(&[
                "-b:v",
                &bitrate.to_string(),
                "-minrate",
                &bitrate.to_string(),
                "-maxrate",
                &bitrate.to_string(),
                "-bufsize",
                &bitrate.to_string(),
            ])),
            RateControl::Vbr {
                bitrate,
                max_bitrate,
            } => v.extend(strings(&[
                "-b:v",
                &bitrate.to_string(),
                "-maxrate",
                &max_bitrate.to_string(),
                "-bufsize",
                &max_bitrate.to_string(),
            ])),
            RateControl::Cqp { qp } => v.extend(strings(&["-qp", &qp.to_string()])),
        }
        if matches!(encoder, "libx264" | "libx265") {
            v.extend(strings(&["-preset", &self.preset]));
        }
        if encoder == "libx265" {
            v.extend(strings(&["-x265-params", "log-level=error"]));
        }
        let fmt = if config.codec == Codec::Hevc {
            "hevc"
        } else {
            "h264"
        };
        v.extend(strings(&["-f", fmt, &output.display().to_string()]));
        v
    }

    /// Runs FFmpeg with `args`, failing with its stderr when it fails.
    pub fn run(&self, args: &[String]) -> Result<String> {
        run_checked(&self.ffmpeg, args)
    }

    /// `ffprobe`: codec, size and counted frames of the first video stream of `path`.
    pub fn probe(&self, path: &Path) -> Result<Probe> {
        let args = strings(&[
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
            "-of",
            "json",
            &path.display().to_string(),
        ]);
        let out = Command::new(&self.ffprobe)
            .args(&args)
            .output()
            .with_context(|| format!("cannot run {}", self.ffprobe.display()))?;
        if !out.status.success() {
            bail!(
                "ffprobe {} failed: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).context("ffprobe printed no JSON")?;
        let s = &v["streams"][0];
        Ok(Probe {
            codec: s["codec_name"].as_str().unwrap_or_default().to_owned(),
            width: s["width"].as_u64().unwrap_or(0),
            height: s["height"].as_u64().unwrap_or(0),
            frames: s["nb_read_frames"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        })
    }

    /// `ffmpeg -v error -i path -f null -`: the errors FFmpeg's decoder reports (empty: none).
    pub fn decode_errors(&self, path: &Path) -> Result<String> {
        let out = Command::new(&self.ffmpeg)
            .args(strings(&[
                "-hide_banner",
                "-nostdin",
                "-v",
                "error",
                "-i",
                &path.display().to_string(),
                "-f",
                "null",
                "-",
            ]))
            .output()
            .with_context(|| format!("cannot run {}", self.ffmpeg.display()))?;
        let mut errors = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if !out.status.success() && errors.is_empty() {
            errors = format!("ffmpeg exited with {}", out.status);
        }
        Ok(errors)
    }

    /// MD5 of the decoded pictures of `path` as planar I420 (FFmpeg's `md5` muxer).
    pub fn decoded_md5(&self, path: &Path) -> Result<String> {
        let out = run_checked(
            &self.ffmpeg,
            &strings(&[
                "-hide_banner",
                "-nostdin",
                "-v",
                "error",
                "-i",
                &path.display().to_string(),
                "-pix_fmt",
                "yuv420p",
                "-f",
                "md5",
                "-",
            ]),
        )?;
        out.trim()
            .strip_prefix("MD5=")
            .map(str::to_owned)
            .context("ffmpeg's md5 muxer printed no MD5")
    }

    /// Mean PSNR (dB, all planes) of the first `frames` pictures of `encoded` against `reference`,
    /// from FFmpeg's `psnr` filter.
    pub fn psnr(&self, encoded: &Path, reference: &RawSource, frames: u64) -> Result<f64> {
        let mut args = strings(&[
            "-hide_banner",
            "-nostdin",
            "-i",
            &encoded.display().to_string(),
        ]);
        args.extend(reference.input_args());
        args.extend(strings(&[
            "-frames:v",
            &frames.to_string(),
            "-lavfi",
            // Raw streams carry no timestamps and the two inputs get different frame rates;
            // number the frames on both sides so that picture n meets picture n.
            "[0:v]settb=1/1000,setpts=N*40[a];[1:v]settb=1/1000,setpts=N*40[b];[a][b]psnr",
            "-f",
            "null",
            "-",
        ]));
        let out = Command::new(&self.ffmpeg)
            .args(&args)
            .output()
            .with_context(|| format!("cannot run {}", self.ffmpeg.display()))?;
        let text = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            bail!("ffmpeg psnr failed: {}", text.trim());
        }
        parse_psnr_average(&text).context("ffmpeg's psnr filter printed no average")
    }
}

/// The `average:` figure of the psnr filter's summary line (`inf` when identical).
pub fn parse_psnr_average(log: &str) -> Option<f64> {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("PSNR") && l.contains("average:"))?;
    let value = line.split("average:").nth(1)?.split_whitespace().next()?;
    if value == "inf" {
        return Some(f64::INFINITY);
    }
    value.parse().ok()
}

/// Runs `program args`, returning stdout, or an error carrying stderr.
pub fn run_checked(program: &Path, args: &[String]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {}", program.display()))?;
    if !out.status.success() {
        bail!(
            "{} {} failed ({}): {}",
            program.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What ffprobe says about a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// `h264`, `hevc`, ...
    pub codec: String,
    /// Width in pixels.
    pub width: u64,
    /// Height in pixels.
    pub height: u64,
    /// Frames counted by decoding.
    pub frames: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_average_is_read_from_the_summary_line() {
        let log = "frame=  30 fps=0.0 q=-0.0 Lsize=N/A\n\
                   [Parsed_psnr_0 @ 0x5] PSNR y:41.25 u:44.10 v:44.73 average:42.112233 min:40.01 max:43.2\n";
        assert_eq!(parse_psnr_average(log), Some(42.112233));
        assert_eq!(
            parse_psnr_average("[Parsed_psnr_0 @ 0x5] PSNR y:inf average:inf min:inf"),
            Some(f64::INFINITY)
        );
        assert_eq!(parse_psnr_average("no summary here"), None);
    }

    #[test]
    fn software_h264_encode_matches_libx264_without_b_frames() {
        let ff = Ffmpeg::new(PathBuf::from("ffmpeg"), 1, "medium".into());
        let size = Dimensions::new(320, 180).unwrap();
        let mut config = EncoderConfig::new(Codec::H264, size);
        config.gop_length = 30;
        config.rate_control = RateControl::Vbr {
            bitrate: 1_000_000,
            max_bitrate: 2_000_000,
        };
        let src = RawSource::File {
            path: PathBuf::from("in.yuv"),
            size,
            fps: "30".into(),
        };
        let args = ff.encode_args(Backend::Software, &config, &src, 30, Path::new("o.h264"));
        let joined = args.join(" ");
        for want in [
            "-c:v libx264",
            "-bf 0",
            "-g 30",
            "-b:v 1000000",
            "-maxrate 2000000",
            "-s 320x180",
            "-preset medium",
            "-threads 1",
            "-frames:v 30",
        ] {
            assert!(joined.contains(want), "missing `{want}` in {joined}");
        }
        assert_eq!(
            Ffmpeg::encoder_name(Backend::Nvidia, Codec::Hevc),
            "hevc_nvenc"
        );
        assert!(
            ff.decode_args(Backend::Nvidia, Path::new("x.h264"), None, None)
                .join(" ")
                .contains("-hwaccel cuda -hwaccel_output_format cuda")
        );
        let written = ff
            .decode_args(
                Backend::Nvidia,
                Path::new("x.h264"),
                Some(video_hw::PixelFormat::Rgb24),
                Some(Path::new("/dev/null")),
            )
            .join(" ");
        assert!(
            written.ends_with("-pix_fmt rgb24 -f rawvideo -y /dev/null"),
            "{written}"
        );
        let rgb = ff
            .decode_args(
                Backend::Nvidia,
                Path::new("x.h264"),
                Some(video_hw::PixelFormat::Rgb24),
                None,
            )
            .join(" ");
        assert!(rgb.ends_with("-i x.h264 -pix_fmt rgb24 -f null -"), "{rgb}");
        let i420 = ff
            .decode_args(
                Backend::Software,
                Path::new("x.h264"),
                Some(video_hw::PixelFormat::I420),
                None,
            )
            .join(" ");
        assert!(i420.contains("-pix_fmt yuv420p"), "{i420}");
    }
}
