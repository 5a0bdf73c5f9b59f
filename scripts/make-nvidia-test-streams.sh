#!/usr/bin/env bash
# Makes the extra streams the NVIDIA tests and benchmarks read, with Debian's ffmpeg (libx264/libx265):
#   scripts/make-nvidia-test-streams.sh OUTDIR [--bench]
# OUTDIR/hevc10.h265 + hevc10.md5: 10-bit HEVC (yuv420p10le) and the MD5 of FFmpeg's own decode
#   (yuv420p10le planes), read by tests/nvidia_decode.rs via VIDEO_HW_TEST_DATA/nvidia.
# --bench: also OUTDIR/in1080.h264 and in1080.hevc, made with the commands of ../shared/peers/BASELINE.md.
set -euo pipefail
out=$1; mkdir -p "$out"; FF="ffmpeg -hide_banner -loglevel error -y"
src="testsrc2=size=352x288:rate=30,noise=alls=6:allf=t"
$FF -f lavfi -i "$src" -frames:v 30 -c:v libx265 -preset fast -x265-params log-level=error -g 10 -bf 2 \
    -pix_fmt yuv420p10le "$out/hevc10.h265"
$FF -i "$out/hevc10.h265" -f rawvideo -pix_fmt yuv420p10le - | md5sum | cut -d' ' -f1 > "$out/hevc10.md5"
if [ "${2:-}" = --bench ]; then
  big="testsrc2=size=1920x1080:rate=30,noise=alls=6:allf=t"
  $FF -f lavfi -i "$big" -frames:v 600 -c:v libx264 -preset fast -b:v 5M -g 60 -bf 3 -pix_fmt yuv420p "$out/in1080.h264"
  $FF -f lavfi -i "$big" -frames:v 600 -c:v libx265 -preset fast -x265-params log-level=error -b:v 4M -g 60 -bf 3 \
      -pix_fmt yuv420p "$out/in1080.hevc"
fi
ls -la "$out"
