#!/usr/bin/env bash
# The first Mac run of the VideoToolbox backend, in one command. IT HAS NEVER RUN: no Mac has
# been available to the project (docs/videotoolbox.md). Expect to fix small things on the first go.
#
# Needs: macOS with Xcode's command-line tools, rustup (stable), ffmpeg/ffprobe with VideoToolbox
# (e.g. Homebrew's) on PATH, python3. From the repository root:
#   scripts/mac-run.sh [tests|conformance|bench|soak|all]      (default: all)
# Env: OUT (report folder, default target/mac-run), VIDEO_HW_CONFORMANCE (default
# ../shared/conformance), SOAK (soak duration, default 10m), REPEAT (bench runs, default 5).
#
# Writes the same report files as the NVIDIA runs (scripts/nv-run.sh): lib.txt, contract.txt,
# e2e.txt, conformance.txt, bench-<workload>-<codec>/bench.{json,md} (video-hw bench against
# `ffmpeg -hwaccel videotoolbox` and h264_videotoolbox/hevc_videotoolbox, with --verify),
# bench-*.json, soak.txt; the last lines are a summary.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -s)" = Darwin ] || { echo "mac-run.sh runs on macOS only" >&2; exit 2; }
out=${OUT:-target/mac-run}; mkdir -p "$out"
export VIDEO_HW_REQUIRE_VT=1 VIDEO_HW_REQUIRE_FFMPEG=1 VIDEO_HW_REQUIRE_CONFORMANCE=1
export VIDEO_HW_CONFORMANCE=${VIDEO_HW_CONFORMANCE:-$PWD/../shared/conformance}
status=0
echo "== $(date -u +%FT%TZ) $(sw_vers -productName) $(sw_vers -productVersion) $(uname -m) $(sysctl -n machdep.cpu.brand_string 2>/dev/null)" | tee "$out/host.txt"
cargo build --release -p video-hw-cli --bins || exit 1
VH=target/release/video-hw
$VH probe | tee -a "$out/host.txt"

tests() {
  echo "== VideoToolbox tests: the lib's videotoolbox modules (vt_double_* included), the e2e tests, the contract suite"
  cargo test --release -p video-hw --lib videotoolbox 2>&1 | tee "$out/lib.txt" | grep -E "test result|FAILED|panicked" || true
  cargo test --release -p video-hw --test videotoolbox_e2e 2>&1 | tee "$out/e2e.txt" | grep -E "^test |test result|FAILED|panicked" || true
  cargo test --release -p video-hw --test contract videotoolbox 2>&1 | tee "$out/contract.txt" | grep -E "test result|FAILED|panicked" || true
  grep -q "FAILED\|panicked" "$out/lib.txt" "$out/e2e.txt" "$out/contract.txt" && status=1
}

conformance() {
  echo "== conformance MD5s over $VIDEO_HW_CONFORMANCE (planar, output order, cropped)"
  : > "$out/conformance.txt"
  tail -n +2 "$VIDEO_HW_CONFORMANCE/manifest.tsv" | while IFS=$'\t' read -r file codec _suite frames _w _h pix md5 _rest; do
    case "$codec" in h264|hevc) ;; *) continue;; esac
    got=$($VH decode "$VIDEO_HW_CONFORMANCE/$file" --backend videotoolbox --md5 -q 2>/dev/null)
    if [ "$got" = "$md5" ]; then v=MATCH; elif [ -z "$got" ]; then v=REFUSED; else v=DIFFER; fi
    echo "CONFORMANCE $file $pix frames=$frames videotoolbox=${got:-none} reference=$md5 $v" | tee -a "$out/conformance.txt"
  done
  echo "CONFORMANCE SUMMARY $(grep -c ' MATCH$' "$out/conformance.txt") match, $(grep -c ' DIFFER$' "$out/conformance.txt") differ, $(grep -c ' REFUSED$' "$out/conformance.txt") refused" | tee -a "$out/conformance.txt"
  # A refusal is allowed (Unsupported, named); a wrong picture is not.
  grep -q ' DIFFER$' "$out/conformance.txt" && status=1
}

bench() {
  echo "== video-hw bench --backend videotoolbox against ffmpeg -hwaccel videotoolbox and h264/hevc_videotoolbox (--verify)"
  for codec in h264 hevc; do
    for workload in decode encode; do
      name=bench-$workload-$codec
      timeout 900 $VH bench --backend videotoolbox --codec $codec --workload $workload --verify \
        --warmup 1 --repeat "${REPEAT:-5}" --out "$out/$name" -q --json > "$out/$name.json" \
        || { echo "BENCH $name FAILED or timed out"; status=1; continue; }
      python3 - "$out/$name.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for w in r.get("workloads", [r]):
    vh, ff = w["video_hw"], w["ffmpeg"]
    print(f"BENCH {w['name']}: video-hw process {vh['process']['fps']:.1f} fps; ffmpeg process {ff['process']['fps']:.1f} fps; "
          f"ratio process {w.get('ratio_process')}, steady {w.get('ratio_steady_state')}")
PY
    done
  done
}

soak() {
  echo "== soak ${SOAK:-10m} (encode -> decode -> RGB, switches, RSS bound)"
  $VH soak --backend videotoolbox --duration "${SOAK:-10m}" 2>&1 | tee "$out/soak.txt" | tail -20
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
}

case "${1:-all}" in
  tests) tests;; conformance) conformance;; bench) bench;; soak) soak;;
  all) tests; conformance; bench; soak;;
  *) echo "usage: scripts/mac-run.sh [tests|conformance|bench|soak|all]" >&2; exit 2;;
esac
echo "== reports in $out; status $status"
exit $status
