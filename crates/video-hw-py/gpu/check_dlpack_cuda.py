"""GPU check: a CUDA frame shared through DLPack equals the host path within 1 LSB.

  python3 check_dlpack_cuda.py INPUT [FRAMES]        (on the GPU machine)
  python3 check_dlpack_cuda.py --cpu INPUT [FRAMES]  (anywhere: the same consumer on host frames)

Decodes INPUT twice with the NVIDIA backend: device="cuda" (NV12 in device memory, taken through
DLPack by a ctypes consumer and copied back with cuMemcpyDtoH) and device="cpu", format="nv12"
(host). Compares the visible luma and chroma of every frame. Prints one line per check and
`DLPACK CUDA OK: N frames, max |diff| D` at the end (D must be <= 1; NVDEC gives 0).
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
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
