"""Every Baseline conformance stream, decoded through the Python API and hashed in Python,
gives the manifest's MD5 (planar I420, cropped, output order)."""
import hashlib

import numpy as np
import pytest

import video_hw
from conftest import baseline_rows


def test_every_baseline_stream_hashed_in_python_matches_the_manifest_md5():
    d, rows = baseline_rows()
    assert rows, "the manifest lists no Baseline stream"
    failures = []
    for row in rows:
        dec = video_hw.VideoDecoder(str(d / row["file"]), format="i420", backend="software")
        md5, n = hashlib.md5(), 0
        for frame in dec:
            md5.update(np.asarray(frame).tobytes())
            n += 1
        if md5.hexdigest() != row["md5"] or n != int(row["frames"]):
            failures.append(f'{row["file"]}: {md5.hexdigest()} over {n} frames, '
                            f'want {row["md5"]} over {row["frames"]}')
    assert not failures, "\n".join(failures)


def test_a_stream_read_as_bytes_and_through_dlpack_hashes_the_same():
    d, rows = baseline_rows()
    row = rows[0]
    data = (d / row["file"]).read_bytes()
    md5 = hashlib.md5()
    for frame in video_hw.VideoDecoder(data, format="i420", backend="software"):
        md5.update(np.from_dlpack(frame).tobytes())
    assert md5.hexdigest() == row["md5"]
