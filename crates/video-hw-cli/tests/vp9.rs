//! VP9 in IVF from the command: `probe` lists it where a backend decodes it, `decode --md5`
//! equals FFmpeg's MD5, and a build that cannot decode it says so and names the fix.

mod common;

use common::*;
use std::path::PathBuf;

/// A VP9 IVF made now: 24 frames of 176x144 in `pix_fmt` with hidden alt-ref frames.
fn make(name: &str, pix_fmt: &str) -> PathBuf {
    let path = temp(name);
    ffmpeg_run(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=176x144:rate=25",
        "-frames:v",
        "24",
        "-pix_fmt",
        pix_fmt,
        "-c:v",
        "libvpx-vp9",
        "-b:v",
        "200k",
        "-auto-alt-ref",
        "1",
        "-lag-in-frames",
        "8",
        path.to_str().expect("utf-8 path"),
    ]);
    path
}

#[cfg(feature = "sw-ffmpeg")]
#[test]
fn probe_lists_vp9_decode_for_software_with_ffmpeg() {
    let o = video_hw(&["probe"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o)
            .lines()
            .any(|l| l.trim_start().starts_with("decode vp9")),
        "{}",
        stdout(&o)
    );
}

#[cfg(feature = "sw-ffmpeg")]
#[test]
fn decode_ivf_md5_equals_ffmpegs_for_8_and_10_bit_vp9() {
    if !have_ffmpeg() {
        return;
    }
    for (name, pix_fmt) in [("vp9-8.ivf", "yuv420p"), ("vp9-10.ivf", "yuv420p10le")] {
        let path = make(name, pix_fmt);
        let reference = ffmpeg_md5_as(&path, pix_fmt);
        let o = video_hw(&["decode", path.to_str().unwrap(), "--md5", "--json", "-q"]);
        let _ = std::fs::remove_file(&path);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        // With --json the digest is the report's `md5` field: stdout is one JSON document.
        let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON report");
        assert_eq!(report["md5"].as_str(), Some(reference.as_str()), "{name}");
        assert_eq!(report["frames"], 24, "{name}: {report}");
        assert_eq!(report["pictures"]["counted"], 24, "{name}: {report}");
    }
}

/// Without FFmpeg and without a GPU nothing here decodes VP9: the command refuses with exit
/// status 2 and names the build feature that would.
#[cfg(not(feature = "sw-ffmpeg"))]
#[test]
fn decode_ivf_without_a_vp9_decoder_is_refused_naming_sw_ffmpeg() {
    if !have_ffmpeg()
        || video_hw::probe()
            .iter()
            .any(|r| r.decodes(video_hw::Codec::Vp9))
    {
        return;
    }
    let path = make("vp9-refused.ivf", "yuv420p");
    let o = video_hw(&["decode", path.to_str().unwrap(), "--md5"]);
    let _ = std::fs::remove_file(&path);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("sw-ffmpeg"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "no MD5 of nothing: {}", stdout(&o));
}
