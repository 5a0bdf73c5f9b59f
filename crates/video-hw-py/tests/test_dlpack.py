"""Frames and batches as tensors: DLPack round trip on the CPU, the array interface, the
lifetime of shared memory, and the encoder taking NumPy and DLPack input."""
import gc

import numpy as np
import pytest

import video_hw


def test_numpy_from_dlpack_shares_the_frame_without_a_copy(clip_mp4):
    frame = next(iter(video_hw.VideoDecoder(clip_mp4)))
    assert frame.__dlpack_device__() == (1, 0)
    a = np.from_dlpack(frame)
    b = np.asarray(frame)
    assert a.shape == (240, 320, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    assert not a.flags.writeable


def test_the_memory_outlives_the_frame_and_the_decoder(clip_mp4):
    dec = video_hw.VideoDecoder(clip_mp4, format="rgb_planar")
    frame = next(iter(dec))
    expected = np.array(frame)
    a = np.from_dlpack(frame)
    del frame, dec
    gc.collect()
    assert np.array_equal(a, expected)


def test_legacy_and_versioned_capsules(clip_mp4):
    frame = next(iter(video_hw.VideoDecoder(clip_mp4)))
    assert "dltensor" in repr(frame.__dlpack__())
    assert "dltensor_versioned" in repr(frame.__dlpack__(max_version=(1, 0)))
    with pytest.raises(BufferError):
        frame.__dlpack__(copy=True)
    with pytest.raises(ValueError):
        frame.__dlpack__(stream=1)
    # A capsule nobody consumes is released when it dies.
    for _ in range(100):
        frame.__dlpack__()


def test_a_batch_round_trips_through_dlpack(clip_mp4):
    batch = video_hw.VideoDecoder(clip_mp4).get_frames_at([1, 2, 3])
    assert np.array_equal(np.from_dlpack(batch), np.asarray(batch))
    assert len(batch) == 3


class DlpackOnly:
    """A producer with nothing but the DLPack protocol (as a torch CPU tensor)."""

    def __init__(self, array):
        self.array = array

    def __dlpack__(self, **kw):
        return self.array.__dlpack__(**kw)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()


@pytest.mark.parametrize("wrap", [lambda a: a, DlpackOnly, lambda a: DlpackOnly(a[:, ::-1][:, ::-1])])
def test_the_encoder_takes_numpy_and_dlpack_frames(tmp_path, clip_mp4, wrap):
    src = [np.array(f) for f in video_hw.VideoDecoder(clip_mp4)][:20]
    out = tmp_path / "out.mp4"
    with video_hw.VideoEncoder(out, 320, 240, fps=25, backend="software") as enc:
        for f in src:
            enc.encode(wrap(f))
    back = [np.asarray(f).astype(np.int16) for f in video_hw.VideoDecoder(out, backend="software")]
    assert len(back) == 20
    err = np.mean([np.abs(a - b.astype(np.int16)).mean() for a, b in zip(back, src)])
    assert err < 12, f"mean absolute error {err}"


def test_the_encoder_returns_annexb_bytes_without_a_path():
    frame = np.zeros((240, 320, 3), np.uint8)
    enc = video_hw.VideoEncoder(None, 320, 240, backend="software")
    for _ in range(3):
        enc.encode(frame)
    data = enc.close()
    assert data[:4] in (b"\0\0\0\1", b"\0\0\1\x67") or data[:3] == b"\0\0\1"
    assert sum(1 for _ in video_hw.VideoDecoder(data)) == 3
    with pytest.raises(video_hw.InvalidInputError):
        enc.encode(frame)
    with pytest.raises(video_hw.InvalidInputError):
        video_hw.VideoEncoder(None, 320, 240, backend="software").encode(np.zeros((10, 10, 3), np.uint8))
