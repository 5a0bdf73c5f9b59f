"""Fixtures of the video_hw Python tests: conformance streams and ffmpeg-made clips.

Skips follow the Rust tests' conventions: a missing conformance folder or ffmpeg skips with a
`SKIPPED:` reason unless VIDEO_HW_REQUIRE_CONFORMANCE=1 / VIDEO_HW_REQUIRE_FFMPEG=1 (CI sets
both), in which case it fails.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _required(name):
    return os.environ.get(name) == "1"


def conformance_dir():
    d = Path(os.environ.get("VIDEO_HW_CONFORMANCE", REPO.parent / "shared" / "conformance"))
    if (d / "manifest.tsv").is_file():
        return d
    msg = f"SKIPPED: no conformance streams at {d} (set VIDEO_HW_CONFORMANCE)"
    if _required("VIDEO_HW_REQUIRE_CONFORMANCE"):
        pytest.fail(msg)
    pytest.skip(msg)


def manifest(d):
    lines = (d / "manifest.tsv").read_text().splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, line.split("\t"))) for line in lines[1:] if line.strip()]


def baseline_rows():
    """The rows OpenH264 must match (as crates/video-hw/tests/conformance.rs picks them)."""
    d = conformance_dir()
    return d, [r for r in manifest(d) if r["codec"] == "h264" and "Baseline" in r["notes"]]


def need_ffmpeg():
    if shutil.which("ffmpeg") and shutil.which("ffprobe"):
        return
    msg = "SKIPPED: ffmpeg/ffprobe not found on PATH"
    if _required("VIDEO_HW_REQUIRE_FFMPEG"):
        pytest.fail(msg)
    pytest.skip(msg)


def make_clip(path, frames=50, gop=10, size="320x240", extra=()):
    """An H.264 Constrained Baseline clip (what the software decoder takes) made by ffmpeg."""
    need_ffmpeg()
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc2=size={size}:rate=25", "-frames:v", str(frames),
         "-c:v", "libx264", "-profile:v", "baseline", "-g", str(gop), "-keyint_min", str(gop),
         "-pix_fmt", "yuv420p", *extra, str(path)],
        check=True,
    )
    return path


@pytest.fixture(scope="session")
def clip_mp4(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.mp4")


@pytest.fixture(scope="session")
def clip_h264(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clips") / "clip.h264", frames=30)
