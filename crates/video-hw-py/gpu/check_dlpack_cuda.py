"""GPU check: a CUDA frame shared through DLPack equals the host path within 1 LSB.

  python3 check_dlpack_cuda.py INPUT [FRAMES]        (on the GPU machine)
  python3 check_dlpack_cuda.py --cpu INPUT [FRAMES]  (anywhere: the same consumer on host frames)

Decodes INPUT twice with the NVIDIA backend: device="cuda" (NV12 in device memory, taken through
DLPack by a ctypes consumer and copied back with cuMemcpyDtoH) and device="cpu", format="nv12"
(host). Compares the visible luma and chroma of every frame. Prints one line per check and
`DLPACK CUDA OK: N frames, max |diff| D` at the end (D must be <= 1; NVDEC gives 0). Then the
same for device="cuda", format="rgb24" (RGB converted on the GPU) against host RGB24:
`DLPACK CUDA RGB24 OK: ...`.
"""
import gc
import sys

import video_hw
from dlpack_consumer import KDL_CPU, KDL_CUDA, Cuda, host_bytes, take


def visible_nv12(rows, crop, coded_h):
    left, top, w, h = crop
    luma = [r[left:left + w] for r in rows[top:top + h]]
    c0 = coded_h + top // 2
    chroma = [r[left - left % 2:left - left % 2 + (w + 1) // 2 * 2] for r in rows[c0:c0 + (h + 1) // 2]]
    return b"".join(luma) + b"".join(chroma)


def main(argv):
    cpu = argv[:1] == ["--cpu"]
    argv = argv[1:] if cpu else argv
    path, limit = argv[0], int(argv[1]) if len(argv) > 1 else 120
    backend = "auto" if cpu else "nvidia"
    host = iter(video_hw.VideoDecoder(path, device="cpu", format="nv12", backend=backend))
    dev = video_hw.VideoDecoder(path, device="cpu" if cpu else "cuda", format="nv12", backend=backend)
    print("decoder:", dev)
    cuda = None if cpu else Cuda(0)
    n, worst = 0, 0
    for frame in dev:
        want = host_bytes(next(host))
        stream = None if cpu else 1  # the legacy default stream, as torch passes it
        left, top, w, h = frame.crop
        device, shape, strides, bits, rows = take(frame, stream=stream, cuda=cuda)
        del frame
        gc.collect()
        assert device[0] == (KDL_CPU if cpu else KDL_CUDA), device
        coded_h = shape[0] * 2 // 3 if not cpu else h
        got = visible_nv12(rows, (left, top, w, h), coded_h) if not cpu else b"".join(rows)
        assert len(got) == len(want), (len(got), len(want), shape)
        diff = 0 if got == want else max(abs(a - b) for a, b in zip(got, want))
        worst = max(worst, diff)
        n += 1
        if n == 1:
            print(f"frame 0: DLPack device {device}, shape {shape}, strides {strides}, {bits}-bit, crop {(left, top, w, h)}")
        if n >= limit:
            break
    assert n > 0, "no frames"
    verdict = "OK" if worst <= 1 else "FAILED"
    print(f"DLPACK {'CPU' if cpu else 'CUDA'} {verdict}: {n} frames, max |diff| {worst}")
    rgb_worst = 0 if cpu else check_rgb(path, 10**9, cuda)  # every frame: the whole parallel pass
    return 0 if max(worst, rgb_worst) <= 1 else 1


def check_rgb(path, limit, cuda):
    """CUDA RGB24 (converted on the GPU, shared through DLPack; the default parallel pass)
    against host RGB24 of one session (the decoder's kernel, copied to the host), frame by
    frame."""
    host = iter(video_hw.VideoDecoder(path, device="cpu", format="rgb24", backend="nvidia",
                                      parallel=1))
    dev = video_hw.VideoDecoder(path, device="cuda", format="rgb24", backend="nvidia")
    n, worst = 0, 0
    it = iter(dev)
    for frame in it:
        want = host_bytes(next(host))
        device, shape, strides, bits, rows = take(frame, stream=1, cuda=cuda)
        assert device[0] == KDL_CUDA, device
        got = b"".join(rows)
        assert len(got) == len(want), (len(got), len(want), shape)
        diff = 0 if got == want else max(abs(a - b) for a, b in zip(got, want))
        worst = max(worst, diff)
        if n == 0:
            print(f"rgb frame 0: DLPack device {device}, shape {shape}, strides {strides}, "
                  f"{it.sessions} session(s)")
        n += 1
        if n >= limit:
            break
    verdict = "OK" if n > 0 and worst <= 1 else "FAILED"
    print(f"DLPACK CUDA RGB24 {verdict}: {n} frames, max |diff| {worst}")
    return worst if n > 0 else 255


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
