#!/usr/bin/env bash
# Stages the Python GPU runs into REPO/.gpu-py (git-ignored; carry it to the GPU machine):
#   crates/video-hw-py/gpu/stage.sh bench   release wheel + PyNvVideoCodec wheel + in1080.h264/.hevc
#   crates/video-hw-py/gpu/stage.sh ra      release wheel + PyNvVideoCodec wheel + ra3000.mp4
#   crates/video-hw-py/gpu/stage.sh all     both (check the size: the call carries 64 MiB)
# One purpose per stage: a device call carries 64 MiB at most. PyNvVideoCodec's wheel comes from
# .peers/ (bash ../shared/peers/fetch.sh). Inputs are made here with Debian's ffmpeg (the GPU host
# has none): BASELINE.md's commands, and a 3000-frame 1080p H.264 MP4 (800 kbit/s, GOP 60, 3 B-frames; earlier runs used 1 Mbit/s, too large to carry beside the other inputs).
# Set WHEEL=path to stage a wheel built before instead of building the release wheel.
# On the GPU machine: bash .gpu-py/run.sh
set -euo pipefail
what=${1:?bench, ra or all}
root=$(git rev-parse --show-toplevel); cd "$root"
g=$root/.gpu-py; rm -rf "$g"; mkdir -p "$g/wheels" "$g/data"
if [ -z "${WHEEL:-}" ]; then
  python3 -m venv target/python/maturin 2>/dev/null || true
  [ -x target/python/maturin/bin/maturin ] || target/python/maturin/bin/pip install -q "maturin>=1.9.4,<2"
  rm -f target/wheels/video_hw-*.whl
  target/python/maturin/bin/maturin build --release -m crates/video-hw-py/Cargo.toml
  WHEEL=$(ls target/wheels/video_hw-*.whl)
fi
cp "$WHEEL" "$g/wheels/"
cp .peers/pynvvideocodec-*.whl "$g/wheels/" 2>/dev/null || echo "NOTE: no .peers/pynvvideocodec-*.whl: PyNvVideoCodec rows will be missing (bash ../shared/peers/fetch.sh)"
cp crates/video-hw-py/gpu/*.py crates/video-hw-py/gpu/run.sh "$g/"
FF="ffmpeg -hide_banner -loglevel error -y"
big="testsrc2=size=1920x1080:rate=30,noise=alls=6:allf=t"
case $what in bench|ra|all) ;; *) echo "unknown stage $what (bench, ra or all)" >&2; exit 2;; esac
if [ "$what" != ra ]; then
  scripts/make-nvidia-test-streams.sh "$g/data/tmp" --bench >/dev/null
  mv "$g/data/tmp/in1080.h264" "$g/data/tmp/in1080.hevc" "$g/data/"; rm -rf "$g/data/tmp"
fi
if [ "$what" != bench ]; then
  $FF -f lavfi -i "$big" -frames:v 3000 -c:v libx264 -preset veryfast -b:v 800k -g 60 -bf 3 \
    -pix_fmt yuv420p "$g/data/ra3000.mp4"
fi
du -sh "$g"; ls -la "$g" "$g/wheels" "$g/data"
