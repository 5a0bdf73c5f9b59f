"""Random access (`get_frames_at`, `get_frames_played_at`, indexing) equals the same frames of
a sequential decode: MP4 through its sample index, raw H.264 by decoding from the start."""
import random

import numpy as np
import pytest

import video_hw


def sequential(path, **kw):
    return [np.array(f) for f in video_hw.VideoDecoder(path, **kw)]


@pytest.mark.parametrize("fmt", ["rgb24", "rgb_planar", "i420", "nv12"])
def test_frames_at_random_indices_equal_the_sequential_decode(clip_mp4, fmt):
    frames = sequential(clip_mp4, format=fmt)
    assert len(frames) == 50
    rng = random.Random(7)
    wanted = sorted(rng.sample(range(50), 12)) + [49, 0, 10, 10]
    dec = video_hw.VideoDecoder(clip_mp4, format=fmt)
    batch = dec.get_frames_at(wanted)
    arr = np.asarray(batch)
    assert arr.shape == (len(wanted),) + frames[0].shape
    assert batch.indices == wanted
    for k, i in enumerate(wanted):
        assert np.array_equal(arr[k], frames[i]), f"frame {i}"


def test_batches_are_nhwc_for_rgb24_and_nchw_for_rgb_planar(clip_mp4):
    nhwc = np.asarray(video_hw.VideoDecoder(clip_mp4).get_frames_at([3, 4]))
    nchw = np.asarray(video_hw.VideoDecoder(clip_mp4, format="rgb_planar").get_frames_at([3, 4]))
    assert nhwc.shape == (2, 240, 320, 3) and nchw.shape == (2, 3, 240, 320)
    assert np.array_equal(nhwc.transpose(0, 3, 1, 2), nchw)


def test_frames_played_at_pick_the_frame_on_screen(clip_mp4):
    dec = video_hw.VideoDecoder(clip_mp4)
    frames = sequential(clip_mp4)
    # 25 fps: frame k plays from k / 25 s.
    batch = dec.get_frames_played_at([0.0, 0.039, 0.04, 1.0, 1.99])
    assert batch.indices == [0, 0, 1, 25, 49]
    for k, i in enumerate(batch.indices):
        assert np.array_equal(np.asarray(batch)[k], frames[i])


def test_indexing_and_len(clip_mp4):
    dec = video_hw.VideoDecoder(clip_mp4)
    assert len(dec) == 50
    last = dec[-1]
    assert last.index == 49
    assert np.array_equal(np.asarray(last), sequential(clip_mp4)[49])
    with pytest.raises(IndexError):
        dec[50]


def test_raw_h264_random_access_decodes_from_the_start(clip_h264):
    frames = sequential(clip_h264)
    dec = video_hw.VideoDecoder(clip_h264)
    with pytest.raises(TypeError):
        len(dec)
    arr = np.asarray(dec.get_frames_at([29, 3, 17]))
    for k, i in enumerate([29, 3, 17]):
        assert np.array_equal(arr[k], frames[i])
    with pytest.raises(IndexError):
        dec.get_frames_at([30])


def test_iteration_restarts_and_gives_presentation_order(clip_mp4):
    dec = video_hw.VideoDecoder(clip_mp4)
    first = [f.pts for f in dec]
    second = [f.index for f in dec]
    assert second == list(range(50))
    assert first == sorted(first) and len(first) == 50


def test_a_batch_is_also_a_list_of_its_frames(clip_mp4):
    batch = video_hw.VideoDecoder(clip_mp4).get_frames_at([7, 2])
    assert [f.index for f in batch.frames] == [7, 2]
    assert batch[-1].index == 2 and len(batch) == 2
    assert np.array_equal(np.asarray(batch[0]), np.asarray(batch)[0])


def test_the_first_pass_and_random_access_share_nothing_visible(clip_mp4):
    dec = video_hw.VideoDecoder(clip_mp4)
    it = iter(dec)  # takes the session opened with the decoder
    first = np.array(next(it))
    picked = np.asarray(dec.get_frames_at([0]))[0]  # opens its own
    assert np.array_equal(first, picked)
    assert sum(1 for _ in it) == 49
