"""Bad input raises the exception of the library's error class, and never crashes."""
import subprocess
import sys

import pytest

import video_hw
from conftest import make_clip


def test_error_classes_share_one_base():
    for name in ["UnsupportedError", "InvalidInputError", "InvalidBitstreamError",
                 "BackpressureError", "DeviceLostError", "BackendError"]:
        assert issubclass(getattr(video_hw, name), video_hw.Error)
    assert issubclass(video_hw.Error, Exception)


def test_garbage_bytes_are_an_invalid_bitstream():
    with pytest.raises(video_hw.InvalidBitstreamError):
        video_hw.VideoDecoder(b"\x17" * 4096)


def test_a_missing_file_and_bad_arguments_are_invalid_input(tmp_path, clip_mp4):
    with pytest.raises(video_hw.InvalidInputError):
        video_hw.VideoDecoder(tmp_path / "missing.mp4")
    with pytest.raises(video_hw.InvalidInputError):
        video_hw.VideoDecoder(b"")
    with pytest.raises(video_hw.InvalidInputError):
        video_hw.VideoDecoder(clip_mp4, format="yuv444")
    with pytest.raises(video_hw.InvalidInputError):
        video_hw.VideoDecoder(clip_mp4, device="tpu")
    with pytest.raises(TypeError):
        video_hw.VideoDecoder(12)


def test_a_truncated_mp4_is_an_invalid_bitstream(clip_mp4):
    data = clip_mp4.read_bytes()  # ffmpeg writes the moov last: a third of the file has none
    with pytest.raises(video_hw.InvalidBitstreamError):
        video_hw.VideoDecoder(data[: len(data) // 3])


def test_a_stream_the_software_decoder_cannot_decode_exactly_is_unsupported(tmp_path):
    # High profile with B-frames: OpenH264 refuses it (the library names why and what to do).
    clip = make_clip(tmp_path / "high.mp4", frames=12, extra=("-profile:v", "high", "-bf", "2"))
    dec = video_hw.VideoDecoder(clip, backend="software")
    try:
        frames = list(dec)
    except video_hw.UnsupportedError as e:
        assert "sw-ffmpeg" in str(e) or "GPU" in str(e)
    else:
        # A build whose software decoder takes High profile (sw-ffmpeg) decodes it whole.
        assert len(frames) == 12


def test_damaged_input_in_a_subprocess_never_crashes(clip_h264):
    data = bytearray(clip_h264.read_bytes())
    for i in range(200, len(data), 97):
        data[i] ^= 0x5A
    code = (
        "import sys, video_hw\n"
        "try:\n"
        "    n = sum(1 for _ in video_hw.VideoDecoder(sys.stdin.buffer.read()))\n"
        "    print('frames', n)\n"
        "except video_hw.Error as e:\n"
        "    print(type(e).__name__)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], input=bytes(data), capture_output=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr.decode()
