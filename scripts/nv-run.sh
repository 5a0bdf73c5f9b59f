#!/usr/bin/env bash
# On the GPU machine, from the repository root: the NVIDIA decode runs, staged by stage-nvidia-gpu.sh.
#   bash .gpu/nv-run.sh tests   # adapter tests, nvidia_decode tests (GPU required), adapter fps
#   bash .gpu/nv-run.sh bench   # video-hw-nvbench and PyNvVideoCodec on the same inputs, same call
set -uo pipefail
g=$(cd "$(dirname "$0")" && pwd); export VIDEO_HW_TEST_DATA=$g/data VIDEO_HW_REQUIRE_GPU=1
echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader)"
case "${1:-tests}" in
tests)
  VIDEO_HW_BENCH_INPUT=$g/data/bench/in1080.h264 "$g"/tests/video_hw --test-threads 1 --nocapture nvidia 2>&1
  VIDEO_HW_CHURN_SECS=${CHURN:-20} "$g"/tests/nvidia_decode --test-threads 1 --nocapture 2>&1
  ;;
bench)
  B=$g/bin/video-hw-nvbench
  for IN in ${INPUTS:-$g/data/bench/in1080.h264}; do
    c=h264; case $IN in *.hevc|*.h265) c=hevc;; esac
    for o in ${OUTPUTS:-gpu}; do for n in ${SESSIONS:-1 7 14}; do
      r=3; [ "$n" -gt 1 ] && r=1
      $B --input "$IN" --codec $c --sessions $n --output $o --runs $r || echo "nvbench $IN $o x$n FAILED"
    done; done
  done
  if ls "$g"/peers/pynvvideocodec-*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-deps --target /tmp/site "$g"/peers/pynvvideocodec-*.whl 2>&1 | tail -1
    PYTHONPATH=/tmp/site python3 "$g"/peers/pynv_decode.py ${PYNV_INPUTS:-${INPUTS:-$g/data/bench/in1080.h264}} 2>&1
  fi
  ;;
esac
