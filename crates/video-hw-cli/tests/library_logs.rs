//! The libraries' own logging (OpenH264, FFmpeg) goes through the `log` facade: nothing of
//! it on stderr by default or with `-q`, and `-v` levels bring it back, marked as ours.

mod common;

use common::*;

/// Text the libraries print when they write to stderr themselves.
const RAW_LIBRARY_TEXT: [&str; 3] = ["[OpenH264]", "Warning:", "[libx264 @"];

#[test]
fn roundtrip_prints_nothing_from_the_codec_libraries() {
    let o = video_hw(&["roundtrip"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    for raw in RAW_LIBRARY_TEXT {
        assert!(!err.contains(raw), "{raw:?} on stderr: {err}");
    }
    assert!(
        !err.contains("video-hw: ["),
        "log records at the default level: {err}"
    );
}

#[test]
fn encode_quiet_prints_nothing_at_all_on_stderr() {
    let out = temp("quiet.h264");
    let o = video_hw(&[
        "encode",
        "--pattern",
        "--frames",
        "10",
        "-o",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "stderr under -q");
    assert!(std::fs::metadata(&out).expect("output").len() > 0);
}

#[test]
fn verbose_brings_the_library_messages_back_through_our_logger() {
    let o = video_hw(&["roundtrip", "--frames", "10", "-vvv"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("video-hw: [openh264] ") || err.contains("video-hw: [ffmpeg] "),
        "no library message under -vvv: {err}"
    );
    assert!(!err.contains("[OpenH264]"), "a raw OpenH264 line: {err}");
}
