"""One pass shared among several sessions (`parallel=`): the frames, their order and their
times equal a one-session pass, for MP4 and MPEG-TS (container times) and raw H.264 (the
library's)."""
import numpy as np
import pytest

import video_hw
from conftest import make_clip


@pytest.fixture(scope="module")
def long_clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("parallel")
    # 200 frames, an IDR every 25: pieces for several sessions.
    return [make_clip(d / f"long.{ext}", frames=200, gop=25) for ext in ("mp4", "h264", "ts")]


def one_pass(path, parallel, fmt="i420"):
    it = iter(video_hw.VideoDecoder(path, format=fmt, backend="software", parallel=parallel))
    frames = [(f.index, f.pts, np.array(f)) for f in it]
    return frames, it.sessions


@pytest.mark.parametrize("ext", [0, 1, 2], ids=["mp4", "h264", "ts"])
def test_a_pass_of_several_sessions_equals_one_sessions_frames_and_times(long_clips, ext):
    path = long_clips[ext]
    one, sessions = one_pass(path, 1)
    assert sessions == 1 and len(one) == 200
    for parallel in (2, 3, "auto"):
        many, sessions = one_pass(path, parallel)
        if parallel != "auto":
            assert sessions == parallel, f"parallel={parallel}"
        assert [(i, t) for i, t, _ in many] == [(i, t) for i, t, _ in one], f"parallel={parallel}"
        for (i, _, a), (_, _, b) in zip(many, one):
            assert np.array_equal(a, b), f"parallel={parallel}: frame {i} differs"


def test_a_pass_dropped_early_stops_without_harm(long_clips):
    dec = video_hw.VideoDecoder(long_clips[0], backend="software", parallel=3)
    it = iter(dec)
    first = [next(it).index for _ in range(5)]
    assert first == list(range(5)) and it.sessions == 3
    del it
    # The decoder still serves whole passes and random access.
    assert sum(1 for _ in dec) == 200
    assert dec.get_frames_at([150]).indices == [150]


def test_sessions_is_unknown_before_the_first_frame(long_clips):
    it = iter(video_hw.VideoDecoder(long_clips[0], backend="software", parallel=2))
    assert it.sessions is None
    next(it)
    assert it.sessions == 2


@pytest.mark.parametrize("bad", [0, -2, "many", 2.5])
def test_a_bad_parallel_value_is_refused(long_clips, bad):
    with pytest.raises((video_hw.InvalidInputError, TypeError)):
        video_hw.VideoDecoder(long_clips[0], backend="software", parallel=bad)


def test_releasing_cached_gpu_memory_leaves_later_decodes_whole(long_clips):
    one, _ = one_pass(long_clips[0], 1)
    video_hw.release_cached_gpu_memory()
    again, _ = one_pass(long_clips[0], 2)
    assert [(i, t) for i, t, _ in again] == [(i, t) for i, t, _ in one]
