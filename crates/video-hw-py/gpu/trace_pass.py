"""Where the time of one pass goes: each input decoded once per parallel setting, with the
time of the first frame and of every 100th, in a fresh decoder each time (decoder creation
excluded, as bench.py). Run with VIDEO_HW_NV_TRACE=1 for the driver steps.

  PYTHONPATH=SITE python3 trace_pass.py INPUT...
"""
import sys
import time

import video_hw


def main(paths):
    for path in paths:
        for parallel in (None, 1, 2, 4, 7):
            dec = video_hw.VideoDecoder(path, device="cuda", format="rgb24", parallel=parallel)
            it = iter(dec)
            t0 = time.perf_counter()
            marks = []
            n = 0
            for _ in it:
                n += 1
                if n == 1 or n % 100 == 0:
                    marks.append(f"{n}@{time.perf_counter() - t0:.3f}")
            wall = time.perf_counter() - t0
            print(f"TRACE {path.split('/')[-1]} parallel={parallel} sessions={it.sessions} "
                  f"frames={n} wall={wall:.3f}s {' '.join(marks)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
