"""GPU throughput from Python: video_hw against PyNvVideoCodec in the same call, 1 and 7
concurrent decoders (threads), decoder creation excluded (as ../shared/peers/pynv_decode.py).

  PYTHONPATH=SITE python3 bench.py INPUT...    (INPUT: BASELINE.md's in1080.h264 / in1080.hevc)

Rows: video_hw device="cuda" format="rgb24" (RGB converted on the GPU, in device memory: the
DLPack path), the same with parallel=1 (one session per decoder), device="cuda" format="nv12",
device="cpu" format="rgb24" (RGB24 in host memory); video_hw rows use the default parallel
pass (the library's plan: several sessions per decoder where the file allows), which starts
inside the timed loop (its first frame is asked for there). PyNvVideoCodec
device memory NV12 (its default), and PyNvVideoCodec with RGB output where its API offers it.
Frames are counted, not read, on every row. Each line: name, input, threads, frames, wall, fps.
VH_ROWS="name;name": only the rows named (e.g. for a second run with VIDEO_HW_NV_KEEP_DECODERS=0).
"""
import os
import sys
import threading
import time

import video_hw

# VH_BACKEND=software: a dry run of the script logic without a GPU (the cuda rows are left out).
BACKEND = os.environ.get("VH_BACKEND", "nvidia")

try:
    import PyNvVideoCodec as nvc
except ImportError:  # the video_hw rows still run
    nvc = None


def ours(device, fmt, parallel=None):
    def make(path):
        dec = video_hw.VideoDecoder(path, device=device, format=fmt, backend=BACKEND,
                                    parallel=parallel)
        it = iter(dec)  # opens nothing new: the decoder's own session
        return lambda: sum(1 for _ in it)
    return make


def pynv(rgb):
    def make(path):
        dmx = nvc.CreateDemuxer(filename=path)
        kw = dict(gpuid=0, codec=dmx.GetNvCodecId(), usedevicememory=True)
        if rgb:
            kw["outputColorType"] = nvc.OutputColorType.RGB
        dec = nvc.CreateDecoder(**kw)

        def run():
            n = 0
            for pkt in dmx:
                for _ in dec.Decode(pkt):
                    n += 1
            return n
        return run
    return make


def run(make, path, k):
    runs = [make(path) for _ in range(k)]
    out = [0] * k
    barrier = threading.Barrier(k + 1)

    def work(i):
        barrier.wait()
        out[i] = runs[i]()

    ts = [threading.Thread(target=work, args=(i,)) for i in range(k)]
    for t in ts:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    return sum(out), time.perf_counter() - t0


def main(paths):
    rows = [
        ("video_hw cuda rgb24", ours("cuda", "rgb24")),
        ("video_hw cuda rgb24 parallel=1", ours("cuda", "rgb24", 1)),
        ("video_hw cuda rgb24 parallel=2", ours("cuda", "rgb24", 2)),
        ("video_hw cuda nv12", ours("cuda", "nv12")),
    ] if BACKEND == "nvidia" else []
    rows += [("video_hw host rgb24", ours("cpu", "rgb24"))]
    if nvc is not None:
        rows += [("pynvvideocodec device nv12", pynv(False)), ("pynvvideocodec rgb", pynv(True))]
    else:
        print("PyNvVideoCodec not importable: its rows are left out", flush=True)
    only = [r for r in os.environ.get("VH_ROWS", "").split(";") if r]
    if only:
        rows = [(name, make) for name, make in rows if name in only]
    for path in paths:
        for name, make in rows:
            try:
                run(make, path, 1)  # warm-up
            except Exception as e:  # a peer API that differs: say so, keep going
                print(f"{name:32s} {path.split('/')[-1]:14s} unavailable: {type(e).__name__}: {e}", flush=True)
                continue
            for k in (1, 7):
                walls = []
                for _ in range(3):
                    n, w = run(make, path, k)
                    walls.append(w)
                w = sorted(walls)[len(walls) // 2]
                print(f"{name:32s} {path.split('/')[-1]:14s} x{k:<2d} frames={n:5d} wall={w:6.3f}s "
                      f"{n / w:8.1f} fps", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
