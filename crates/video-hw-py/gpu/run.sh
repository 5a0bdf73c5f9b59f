#!/usr/bin/env bash
# On the GPU machine (Python 3.12, no network), from the repository root: the staged Python runs.
#   bash .gpu-py/run.sh     results also in $OUT/python-gpu.txt when $OUT is set
set -uo pipefail
g=$(cd "$(dirname "$0")" && pwd); out=${OUT:-/tmp/py-out}; mkdir -p "$out"
site=/tmp/video-hw-site; rm -rf "$site"
python3 -m pip install -q --no-deps --target "$site" "$g"/wheels/*.whl 2>&1 | tail -2
export PYTHONPATH=$site:$g
{
echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader) $(python3 --version)"
python3 -c "import video_hw; print('video_hw', video_hw.__version__, video_hw.__file__)"
first=$(ls "$g"/data/* | head -1)
echo "== DLPack: CUDA frames against the host path ($first)"
python3 "$g/check_dlpack_cuda.py" "$first" 120
if [ -e "$g/data/in1080.h264" ]; then
  echo "== throughput, 1 and 7 decoders"
  python3 "$g/bench.py" "$g/data/in1080.h264" "$g/data/in1080.hevc"
  echo "== the same rows with idle decoders not kept (VIDEO_HW_NV_KEEP_DECODERS=0)"
  VIDEO_HW_NV_KEEP_DECODERS=0 VH_ROWS="video_hw cuda rgb24;video_hw cuda rgb24 parallel=2" \
    python3 "$g/bench.py" "$g/data/in1080.h264" "$g/data/in1080.hevc"
fi
if [ -e "$g/data/ra3000.mp4" ]; then
  echo "== random access, 32 sorted indices"
  python3 "$g/random_access.py" "$g/data/ra3000.mp4"
fi
} 2>&1 | tee "$out/python-gpu.txt"
