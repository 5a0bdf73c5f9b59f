#!/usr/bin/env bash
# Runs one fuzz target for SECONDS on stable rustc (RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its
# flags), with the target's dictionary and seeds:
#   scripts/fuzz.sh TARGET SECONDS [extra libFuzzer flags...]
# Targets: bitstream, bitstream_structured, mp4_demux, mp4_structured, decode_session, vp9_ivf,
# matroska_demux, mpeg_ts_demux.
# Seeds are made here at run time in fuzz/seeds/TARGET (not committed): the conformance streams
# (VIDEO_HW_CONFORMANCE, default ../shared/conformance) cut to their first 32 KiB, and small
# MP4, Matroska/WebM and MPEG-TS files made with ffmpeg (H.264 and HEVC, plus VP9 WebM). fuzz/regressions/ (every
# input that once broke a parser) is read as seeds too. The corpus grows in fuzz/corpus/TARGET,
# crashes land in fuzz/artifacts/TARGET. OpenH264's C++ (the decode_session target) is built
# with clang and -fsanitize=fuzzer-no-link so that its branches guide the fuzzer as well.
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and clang.
set -euo pipefail
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]}
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
fuzz="$root/fuzz"
conformance=${VIDEO_HW_CONFORMANCE:-$root/../shared/conformance}
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2; exit 2; }

case "$target" in
  bitstream | bitstream_structured | decode_session) dict=bitstream.dict ;;
  mp4_demux | mp4_structured) dict=mp4.dict ;;
  vp9_ivf) dict=vp9.dict ;;
  matroska_demux) dict=matroska.dict ;;
  mpeg_ts_demux) dict=ts.dict ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac

seeds="$fuzz/seeds/$target"
mkdir -p "$seeds" "$fuzz/corpus/$target" "$fuzz/artifacts/$target"
if [ -z "$(ls -A "$seeds")" ]; then
  case "$target" in
    bitstream | decode_session)
      # The first byte picks the chunk size (bitstream) or raw mode with its chunk size
      # (decode_session: an even first byte).
      for f in "$conformance"/h264/* "$conformance"/hevc/*; do
        [ -f "$f" ] || continue
        [ "$target" = decode_session ] && case "$f" in */hevc/*) continue ;; esac
        { printf '\x40'; head -c 32768 "$f"; } >"$seeds/$(basename "$f").bin"
      done ;;
    mp4_demux)
      if command -v ffmpeg >/dev/null; then
        tmp=$(mktemp -d)
        src=(-f lavfi -i testsrc=size=64x48:rate=10 -frames:v 6 -an)
        ffmpeg -v error "${src[@]}" -c:v libx264 -g 3 -bf 1 "$tmp/h264.mp4" &&
          ffmpeg -v error "${src[@]}" -c:v libx264 -g 3 -movflags frag_keyframe+empty_moov "$tmp/h264-frag.mp4" &&
          ffmpeg -v error "${src[@]}" -c:v libx264 -g 3 -movflags frag_keyframe "$tmp/h264-frag-moov.mp4" &&
          ffmpeg -v error "${src[@]}" -c:v libx265 -x265-params log-level=none -g 3 -tag:v hvc1 "$tmp/hevc.mp4" &&
          ffmpeg -v error "${src[@]}" -c:v libx265 -x265-params log-level=none -g 3 -movflags frag_keyframe+empty_moov "$tmp/hevc-frag.mp4" &&
          ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=10 -f lavfi -i sine=duration=0.6 -frames:v 6 -c:v libx264 -g 3 -c:a aac "$tmp/h264-aac.mov" &&
          ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=10 -f lavfi -i sine=duration=0.6 -frames:v 6 -c:v libx264 -g 3 -c:a aac -movflags frag_keyframe+empty_moov "$tmp/h264-aac-frag.mp4" &&
          ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=10 -f lavfi -i sine=duration=0.6 -frames:v 6 -c:v libx264 -g 3 -c:a aac -movflags frag_keyframe+empty_moov+default_base_moof "$tmp/h264-aac-frag-moof.mp4" ||
          echo "warning: ffmpeg could not make every MP4 seed" >&2
        cp "$tmp"/*.mp4 "$tmp"/*.mov "$seeds"/ 2>/dev/null || true
        rm -rf "$tmp"
      fi ;;
    vp9_ivf)
      if command -v ffmpeg >/dev/null; then
        src=(-f lavfi -i testsrc=size=64x48:rate=10 -frames:v 12)
        ffmpeg -v error -y "${src[@]}" -c:v libvpx-vp9 -b:v 100k -auto-alt-ref 1 -lag-in-frames 6 "$seeds/vp9-altref.ivf" &&
          ffmpeg -v error -y "${src[@]}" -pix_fmt yuv420p10le -c:v libvpx-vp9 -crf 30 -b:v 0 "$seeds/vp9-10bit.ivf" &&
          ffmpeg -v error -y "${src[@]}" -pix_fmt yuv444p -c:v libvpx-vp9 -crf 30 -b:v 0 "$seeds/vp9-444.ivf" ||
          echo "warning: ffmpeg could not make every VP9 seed" >&2
      fi ;;
    matroska_demux)
      if command -v ffmpeg >/dev/null; then
        src=(-f lavfi -i testsrc=size=64x48:rate=10 -f lavfi -i sine=sample_rate=8000 -t 0.6)
        ffmpeg -v error -y "${src[@]}" -c:v libx264 -g 3 -bf 1 -c:a libopus "$seeds/h264-opus.mkv" &&
          ffmpeg -v error -y "${src[@]}" -c:v libx265 -x265-params log-level=none -g 3 -an "$seeds/hevc.mkv" &&
          ffmpeg -v error -y "${src[@]}" -c:v libvpx-vp9 -b:v 100k -c:a libopus "$seeds/vp9-opus.webm" &&
          ffmpeg -v error -y "${src[@]}" -c:v libx264 -g 3 -an -live 1 -f matroska - >"$seeds/h264-live.mkv" ||
          echo "warning: ffmpeg could not make every Matroska seed" >&2
      fi ;;
    mpeg_ts_demux)
      if command -v ffmpeg >/dev/null; then
        src=(-f lavfi -i testsrc=size=64x48:rate=10 -f lavfi -i sine=sample_rate=8000 -t 0.6)
        ffmpeg -v error -y "${src[@]}" -c:v libx264 -g 3 -bf 1 -c:a aac -f mpegts "$seeds/h264-aac.ts" &&
          ffmpeg -v error -y "${src[@]}" -c:v libx265 -x265-params log-level=none -g 3 -an -f mpegts "$seeds/hevc.ts" &&
          ffmpeg -v error -y "${src[@]}" -c:v libx264 -g 3 -an -f mpegts -mpegts_m2ts_mode 1 "$seeds/h264.m2ts" ||
          echo "warning: ffmpeg could not make every MPEG-TS seed" >&2
      fi ;;
    *) : ;; # structured targets: the generators make the structure, libFuzzer starts empty
  esac
  touch "$seeds/.made"
fi
regressions=()
case "$target" in
  bitstream | mp4_demux | mp4_structured | matroska_demux | mpeg_ts_demux) [ -d "$fuzz/regressions/$target" ] && regressions=("$fuzz/regressions/$target") ;;
esac

# The OpenH264 C++ (openh264-sys2, built by the cc crate) gets coverage instrumentation.
export RUSTC_BOOTSTRAP=1 CC=clang CXX=clang++ OPENH264_NO_ASM=1
export CFLAGS="-fsanitize=fuzzer-no-link" CXXFLAGS="-fsanitize=fuzzer-no-link"
# decode_session allocates picture buffers; the parser targets must stay far below this.
if [ "$target" = decode_session ]; then limits=(-rss_limit_mb=2048); else limits=(-rss_limit_mb=1024 -malloc_limit_mb=256); fi
# matroska-demuxer negates a block's i16 timestamp (i16::MIN overflows with overflow checks, and
# libFuzzer aborts on the panic the library otherwise contains): that target runs with -O.
release=()
[ "$target" = matroska_demux ] && release=(-O)
cd "$fuzz"
exec cargo fuzz run "${release[@]}" --sanitizer none "$target" "corpus/$target" "$seeds" "${regressions[@]}" -- \
  -dict="dict/$dict" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
  -artifact_prefix="artifacts/$target/" "${limits[@]}" "$@"
