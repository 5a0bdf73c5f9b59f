#!/usr/bin/env bash
# Stages what the NVIDIA runs on the GPU machine need into DEST/.gpu (default: the toplevel of this
# checkout), like ../shared/gpu/stage.sh but building only the NVIDIA parts (no OpenH264 build):
# release test binaries of the video-hw lib, nvidia_decode and the contract suite, and the CLI's bins.
#   scripts/stage-nvidia-gpu.sh [--dest DIR] [--no-tests] [--conformance DIR] [--streams DIR]
#                               [--pynv DIR] [--ffmpeg FILE.xz]
# --streams: output of scripts/make-nvidia-test-streams.sh (copied to .gpu/data/nvidia; with
#            --bench inputs also to .gpu/data/bench).  --pynv: a folder with pynvvideocodec-*.whl
# (../shared/peers/fetch.sh puts it in .peers/).  --ffmpeg: the static FFmpeg (.peers/ffmpeg.xz).
# A device call carries 64 MiB at most: stage one purpose per DEST (tests + conformance; nvbench +
# bench inputs + PyNvVideoCodec; video-hw + FFmpeg) and carry DEST.
# On the GPU machine: bash DEST/.gpu/nv-run.sh tests|explore|bench|ffmpeg
set -euo pipefail
root=$(git rev-parse --show-toplevel); dest=$root; conf=""; streams=""; pynv=""; ffmpeg=""; tests=1
while [ $# -gt 0 ]; do case "$1" in
  --dest) dest=$2; shift 2;; --conformance) conf=$2; shift 2;; --streams) streams=$2; shift 2;;
  --pynv) pynv=$2; shift 2;; --ffmpeg) ffmpeg=$2; shift 2;; --no-tests) tests=0; shift;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
cd "$root"
export CARGO_PROFILE_RELEASE_DEBUG=false CARGO_PROFILE_RELEASE_STRIP=true
g=$dest/.gpu; rm -rf "$g"; mkdir -p "$g/bin" "$g/tests" "$g/data"
if [ $tests = 1 ]; then
cargo test --release -p video-hw --no-default-features --features backend-nvidia --lib --test nvidia_decode \
  --test contract --test segmented_decode --test output_placement --test picture_accounting --test vp9_conformance --no-run --message-format=json-render-diagnostics | python3 -c 'import json,sys,shutil,os
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m.get("profile",{}).get("test"):
        shutil.copy(m["executable"], sys.argv[1]+"/tests/"+m["target"]["name"])' "$g"
fi
cargo build --release -p video-hw-cli --no-default-features --features backend-nvidia --bins \
  --message-format=json-render-diagnostics | python3 -c 'import json,sys,shutil
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable"):
        shutil.copy(m["executable"], sys.argv[1]+"/bin/")' "$g"
[ -n "$conf" ] && cp -r "$conf" "$g/data/conformance"
# VP9 streams made here with libvpx, and FFmpeg's MD5 of each (the GPU host has no ffmpeg).
if [ $tests = 1 ] && command -v ffmpeg >/dev/null; then
  VIDEO_HW_VP9_SAVE=$g/data/vp9 cargo test -q -p video-hw --features sw-ffmpeg --test vp9_conformance --test contract vp9 >/dev/null
fi
if [ -n "$streams" ]; then
  mkdir -p "$g/data/nvidia" && cp "$streams"/hevc10.* "$g/data/nvidia/"
  ls "$streams"/in* >/dev/null 2>&1 && mkdir -p "$g/data/bench" && cp "$streams"/in* "$g/data/bench/"
fi
if [ -n "$pynv" ]; then mkdir -p "$g/peers" && cp "$pynv"/pynvvideocodec-*.whl "$root/../shared/peers/pynv_decode.py" "$g/peers/"; fi
if [ -n "$ffmpeg" ]; then mkdir -p "$g/peers" && cp "$ffmpeg" "$g/peers/ffmpeg.xz"; fi
cp "$root/scripts/nv-run.sh" "$g/nv-run.sh"
du -sh "$g"
