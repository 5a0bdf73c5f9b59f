"""GPU random access: 32 sorted random frame indices (seed 19) of a 3000-frame 1080p H.264 MP4,
video_hw against PyNvVideoCodec's SimpleDecoder (its index access: get_batch_frames_by_index,
else decoder[i] one by one; the line says which), same call. video_hw's frames are also
checked against its own sequential decode (host NV12 bytes, every wanted frame).

  PYTHONPATH=SITE python3 random_access.py ra3000.mp4
"""
import os
import random
import sys
import time

import video_hw

# VH_BACKEND=software: a dry run of the script logic without a GPU (the cuda rows are left out).
BACKEND = os.environ.get("VH_BACKEND", "nvidia")
from dlpack_consumer import host_bytes

try:
    import PyNvVideoCodec as nvc
except ImportError:
    nvc = None


def best_of(f, n=3):
    walls = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        walls.append(time.perf_counter() - t0)
    return min(walls), sorted(walls)[len(walls) // 2]


def main(path):
    dec = video_hw.VideoDecoder(path, device="cpu", format="nv12", backend=BACKEND)
    total = len(dec)
    idx = sorted(random.Random(19).sample(range(total), 32))
    print(f"{path}: {total} frames, {dec.metadata}; indices {idx}", flush=True)

    # Exactness: the random-access frames equal the sequential decode's.
    want = {}
    for f in video_hw.VideoDecoder(path, device="cpu", format="nv12", backend=BACKEND):
        if f.index in idx:
            want[f.index] = host_bytes(f)
    got = dec.get_frames_at(idx)
    bad = [i for i, f in zip(idx, got.frames) if host_bytes(f) != want[i]]
    print(f"video_hw random access equals sequential decode: {'yes' if not bad else f'NO: {bad}'}", flush=True)

    rows = [("video_hw cuda rgb24", "cuda", "rgb24"),
            ("video_hw cuda nv12", "cuda", "nv12")] if BACKEND == "nvidia" else []
    for name, device, fmt in rows + [("video_hw host rgb24", "cpu", "rgb24")]:
        d = video_hw.VideoDecoder(path, device=device, format=fmt, backend=BACKEND)
        best, median = best_of(lambda: len(d.get_frames_at(idx).frames))
        print(f"{name:34s} 32 indices: best {best:.3f}s median {median:.3f}s", flush=True)

    if nvc is None:
        print("PyNvVideoCodec not importable: its rows are left out")
        return
    for name, color in [("pynvvideocodec SimpleDecoder native", "NATIVE"),
                        ("pynvvideocodec SimpleDecoder rgb", "RGB")]:
        try:
            sd = nvc.SimpleDecoder(path, gpu_id=0, use_device_memory=True,
                                   output_color_type=getattr(nvc.OutputColorType, color))
            if hasattr(sd, "get_batch_frames_by_index"):
                how, f = "get_batch_frames_by_index", lambda: len(sd.get_batch_frames_by_index(idx))
            else:
                how, f = "decoder[i] per index", lambda: [sd[i] for i in idx]
            f()  # warm-up, as video_hw's decoder was opened before timing
            best, median = best_of(f)
            print(f"{name:34s} 32 indices: best {best:.3f}s median {median:.3f}s ({how})", flush=True)
        except Exception as e:
            print(f"{name:34s} unavailable: {type(e).__name__}: {e}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
