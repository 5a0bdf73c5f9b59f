#!/usr/bin/env bash
# Decodes every stream of the conformance manifest with `video-hw decode --md5` and prints a
# Markdown table (stream, codec, profile, expected frames, result) plus the pass count N/M, and
# the count of rows above 8 bits (manifest pix_fmt other than yuv420p) whose MD5 matches: the
# output is then LSB-aligned 16-bit samples, the layout of the manifest's pix_fmt.
#   scripts/conformance.sh [--backend B] [--bin PATH] [--dir CONFORMANCE_DIR] [--codec h264|hevc]
# The binary defaults to target/release/video-hw (build it first with the features you want).
set -euo pipefail
backend=software; bin=target/release/video-hw; dir=${VIDEO_HW_CONFORMANCE:-../shared/conformance}; only=""
while [ $# -gt 0 ]; do case "$1" in
  --backend) backend=$2; shift 2;; --bin) bin=$2; shift 2;; --dir) dir=$2; shift 2;;
  --codec) only=$2; shift 2;; *) echo "unknown argument $1" >&2; exit 2;; esac; done
[ -x "$bin" ] || { echo "no $bin: build it first (cargo build --release -p video-hw-cli)" >&2; exit 2; }
[ -f "$dir/manifest.tsv" ] || { echo "no manifest at $dir/manifest.tsv" >&2; exit 2; }
pass=0; total=0; deep_pass=0; deep_total=0
echo "| stream | codec | profile | frames | result |"
echo "|---|---|---|---|---|"
while IFS=$'\t' read -r file codec suite frames width height pixfmt md5 source notes; do
  [ "$file" = file ] && continue
  [ -n "$only" ] && [ "$codec" != "$only" ] && continue
  total=$((total + 1))
  profile=$(sed -n 's/.*profile=\([A-Za-z ]*\) field_order.*/\1/p' <<<"$notes")
  err=$(mktemp)
  got=$("$bin" decode --backend "$backend" --codec "$codec" --md5 -q "$dir/$file" 2>"$err" | head -n1 || true)
  deep=0; [ "$pixfmt" != yuv420p ] && deep=1 && deep_total=$((deep_total + 1))
  if [ "$got" = "$md5" ]; then
    pass=$((pass + 1)); result="pass"; deep_pass=$((deep_pass + deep))
  elif [ -n "$got" ]; then
    result="MD5 differs ($got) $(head -n1 "$err" | sed 's/video-hw: //; s/|/\\|/g' | cut -c1-120)"
  else
    result="failed: $(tr '\n' ' ' <"$err" | sed 's/video-hw: //; s/|/\\|/g' | cut -c1-160)"
  fi
  rm -f "$err"
  echo "| $file | $codec | ${profile:-?} | $frames | $result |"
done <"$dir/manifest.tsv"
echo
echo "**$backend: $pass/$total streams match the manifest MD5.**"
echo "**$backend, rows above 8 bits (pix_fmt yuv420p10le/12le, LSB-aligned): $deep_pass/$deep_total match.**"
