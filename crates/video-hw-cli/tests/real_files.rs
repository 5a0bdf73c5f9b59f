//! Users' own files, made now with the system ffmpeg (issue #23): every fixture decodes to
//! FFmpeg's own MD5 (cropped planar frames, output order, as the conformance manifest defines),
//! and what cannot be decoded whole is reported, never a dependency's source path.
//!
//! The fixtures are split by container family: MP4/MOV (`real_files/mp4.rs`) and the stream
//! containers, Matroska/WebM and MPEG-TS, plus content sniffing (`real_files/streams.rs`).

mod common;

#[path = "real_files/mp4.rs"]
mod mp4;
#[path = "real_files/streams.rs"]
mod streams;
