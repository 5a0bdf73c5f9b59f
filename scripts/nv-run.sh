#!/usr/bin/env bash
# On the GPU machine, from the repository root: the NVIDIA decode runs, staged by stage-nvidia-gpu.sh.
#   bash DIR/.gpu/nv-run.sh tests     # lib tests (adapter, kernels), nvidia_decode and the contract suite, GPU required
#   bash DIR/.gpu/nv-run.sh explore   # nvbench over the sync/context/copy/delay variants + PyNvVideoCodec, same call
#   bash DIR/.gpu/nv-run.sh bench     # nvbench (defaults) and PyNvVideoCodec on the same inputs, same call
#   bash DIR/.gpu/nv-run.sh ffmpeg    # host RGB24 (and GPU frames): video-hw against FFmpeg -hwaccel cuda, same call
#   bash DIR/.gpu/nv-run.sh startup   # host RGB24 whole-process costs: fixed costs of both tools, variants
#   bash DIR/.gpu/nv-run.sh final     # ffmpeg, then the GPU tests but the conformance sweep and the churn
#   bash DIR/.gpu/nv-run.sh onefile   # one file, whole process, output alike: video-hw (default --parallel auto,
#                                     # the same with VIDEO_HW_NV_KEEP_DECODERS=0, and --parallel 1) against FFmpeg -hwaccel cuda and FFmpeg on the CPU,
#                                     # BASELINE.md's three inputs, ROUNDS interleaved rounds (default 3)
#   bash DIR/.gpu/nv-run.sh gpus      # GPU choice on whatever GPUs the machine has: probe --json, a GPU that
#                                     # does not exist, --sessions 14 on --gpu 0 against --gpus all
#                                     # (interleaved, ROUNDS), --parallel auto --gpus all against one session's MD5
#   bash DIR/.gpu/nv-run.sh rgbcheck  # RGB24 through the GPU transform: --parallel auto (and --gpus all) against
#                                     # one session's MD5, then a short bench (its NVDEC utilisation lines)
# Binaries staged as NAME.xz (to fit a call beside FFmpeg) are unpacked first.
# Results go to $OUT (when set) as well as to stdout; the last lines are a summary table.
set -uo pipefail
g=$(cd "$(dirname "$0")" && pwd); export VIDEO_HW_TEST_DATA=$g/data VIDEO_HW_REQUIRE_GPU=1
out=${OUT:-/tmp/nv-out}; mkdir -p "$out"
echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.video --format=csv,noheader)"
for f in "$g"/bin/*.xz "$g"/tests/*.xz; do [ -e "$f" ] && xz -dc "$f" > "${f%.xz}" && chmod +x "${f%.xz}"; done
B=$g/bin/video-hw-nvbench
codec_of() { case $1 in *.hevc|*.h265) echo hevc;; *) echo h264;; esac; }
# nvbench ENV... -- ARGS: one JSON line to $out/runs.jsonl
nvb() { local envs=(); while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  env "${envs[@]}" "$B" "$@" | tee -a "$out/runs.jsonl"; }
summary() { python3 - "$out/runs.jsonl" <<'PY'
import json, sys
print(f"{'input':12s} {'n':>3s} {'output':8s} {'variant':44s} {'fps':>8s} {'cpu':>5s} {'nvdec%':>7s}")
for line in open(sys.argv[1]):
    try: r = json.loads(line)
    except ValueError: continue
    v = " ".join(e.replace("VIDEO_HW_NV_", "") for e in r.get("env", [])) or "default"
    if r.get("reaper") == "poll": v += " poll"
    u = r.get("utilization") or {}
    nv = f"{u['decoder_mean']:.0f}/{u['decoder_max']}" if u else "-"
    print(f"{r['input'].split('/')[-1]:12s} {r['sessions']:3d} {r['output']:8s} {v:44s} {r['fps']:8.1f} {r.get('cpu_cores_busy', 0):5.1f} {nv:>7s}")
PY
}
pynv() {
  if ls "$g"/peers/pynvvideocodec-*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-deps --target /tmp/site "$g"/peers/pynvvideocodec-*.whl 2>&1 | tail -1
    PYTHONPATH=/tmp/site python3 "$g"/peers/pynv_decode.py "$@" 2>&1 | tee -a "$out/pynv.txt"
  fi
}
case "${1:-tests}" in
tests)
  # Every binary under a time limit: one stalled test must not take the whole call with it.
  timeout 120 "$g"/tests/video_hw --test-threads 1 --nocapture nvidia color_paths placement 2>&1 | tee "$out/lib.txt" | grep -E "KERNEL-BENCH|ADAPTER SUMMARY|SKIPPED|test result|FAILED|panicked"
  VIDEO_HW_CHURN_SECS=${CHURN:-20} timeout $((${CHURN:-20} + 200)) "$g"/tests/nvidia_decode --test-threads 1 --nocapture 2>&1 | tee "$out/nvidia_decode.txt" | grep -E "^test |test result|PIPELINE|churn|CHURN|FAILED|panicked"
  VIDEO_HW_CONFORMANCE=$g/data/conformance timeout 120 "$g"/tests/segmented_decode --test-threads 1 --nocapture 2>&1 | tee "$out/segmented.txt" | grep -E "SEGMENTED .*nvidia|test result|FAILED|panicked"
  VIDEO_HW_CONFORMANCE=$g/data/conformance timeout 120 "$g"/tests/output_placement --test-threads 1 --nocapture 2>&1 | tee "$out/placement.txt" | grep -E "^test |PLACEMENT|test result|FAILED|panicked"
  VIDEO_HW_CONFORMANCE=$g/data/conformance timeout 200 "$g"/tests/picture_accounting --test-threads 1 --nocapture nvidia 2>&1 | tee "$out/accounting.txt" | grep -E "^test |test result|FAILED|panicked"
  echo "== VP9 (streams and FFmpeg MD5s made on the build host)"
  timeout 200 "$g"/tests/vp9_conformance --test-threads 1 2>&1 | tee "$out/vp9.txt" | grep -E "^test |test result|SKIPPED|FAILED|panicked"
  "$g"/bin/video-hw probe | grep -E "^nvidia|decode vp9|vp9 "
  for f in "$g"/data/vp9/*.ivf; do
    case "$f" in *444*) continue;; esac
    got=$("$g"/bin/video-hw decode "$f" --backend nvidia --md5 -q); want=$(cat "${f%.ivf}.md5")
    echo "VP9-CLI $(basename "$f") nvidia=$got ffmpeg=$want $([ "$got" = "$want" ] && echo MATCH || echo DIFFER)"
  done
  for mode in ${CONTEXTS:-primary}; do
    echo "== contract suite, VIDEO_HW_NV_CONTEXT=$mode"
    VIDEO_HW_NV_CONTEXT=$mode VIDEO_HW_CONFORMANCE=$g/data/conformance timeout 200 "$g"/tests/contract --test-threads 4 nvidia 2>&1 | tee -a "$out/contract.txt" | grep -E "test result|FAILED|panicked"
  done
  ;;
explore)
  nvidia-smi dmon -s u -d 1 > "$out/dmon.txt" 2>&1 & dmon=$!
  for IN in ${INPUTS:-$g/data/bench/in1080.h264 $g/data/bench/in1080.hevc}; do c=$(codec_of "$IN")
    for o in gpu rgb24 nv12; do nvb -- --input "$IN" --codec $c --sessions 1 --output $o --runs 3; done
    for n in 7 14; do
      nvb VIDEO_HW_NV_SYNC=spin -- --input "$IN" --codec $c --sessions $n --output gpu --runs 1 --poll
      nvb VIDEO_HW_NV_SYNC=spin -- --input "$IN" --codec $c --sessions $n --output gpu --runs 1
      nvb -- --input "$IN" --codec $c --sessions $n --output gpu --runs 2
      nvb VIDEO_HW_NV_CONTEXT=session -- --input "$IN" --codec $c --sessions $n --output gpu --runs 2
      nvb VIDEO_HW_NV_COPY=kernel -- --input "$IN" --codec $c --sessions $n --output gpu --runs 2
      nvb VIDEO_HW_NV_CONTEXT=session VIDEO_HW_NV_COPY=kernel -- --input "$IN" --codec $c --sessions $n --output gpu --runs 2
      nvb VIDEO_HW_NV_DISPLAY_DELAY=1 -- --input "$IN" --codec $c --sessions $n --output gpu --runs 1
      nvb VIDEO_HW_NV_DISPLAY_DELAY=8 -- --input "$IN" --codec $c --sessions $n --output gpu --runs 1
      nvb -- --input "$IN" --codec $c --sessions $n --output metadata --runs 1
      nvb VIDEO_HW_NV_CONTEXT=session -- --input "$IN" --codec $c --sessions $n --output rgb24 --runs 1
    done
  done
  kill $dmon 2>/dev/null
  pynv ${INPUTS:-$g/data/bench/in1080.h264 $g/data/bench/in1080.hevc}
  summary
  ;;
bench)
  for IN in ${INPUTS:-$g/data/bench/in1080.h264 $g/data/bench/in1080.hevc}; do c=$(codec_of "$IN")
    for o in ${OUTPUTS:-gpu}; do for n in ${SESSIONS:-1 7 14}; do
      r=3; [ "$n" -gt 1 ] && r=2
      nvb ${BENCH_ENV:-} -- --input "$IN" --codec $c --sessions $n --output $o --runs $r || echo "nvbench $IN $o x$n FAILED"
    done; done
  done
  pynv ${INPUTS:-$g/data/bench/in1080.h264 $g/data/bench/in1080.hevc}
  summary
  ;;
ffmpeg)
  # The static FFmpeg of ../shared/peers/fetch.sh; the input made here with it, as BASELINE.md says.
  FF=/tmp/peer-ffmpeg; xz -T0 -dc "$g"/peers/ffmpeg.xz > $FF && chmod +x $FF
  IN=/tmp/in1080.h264
  $FF -hide_banner -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=6:allf=t" -frames:v 600 \
      -c:v libx264 -preset fast -b:v 5M -g 60 -bf 3 -pix_fmt yuv420p $IN
  ls -la $IN
  VH=$g/bin/video-hw
  timeout 60 $VH decode $IN --backend nvidia --to rgb24 --metrics -q 2>&1 | tail -30
  # gpu: frames left where the decoder puts them (no --to).
  for target in ${TARGETS:-rgb24 gpu nv12}; do to=$target; [ "$to" = gpu ] && to=""
    timeout ${BENCH_LIMIT:-150} $VH bench --backend nvidia --codec h264 --workload decode --input $IN --ffmpeg $FF \
      --warmup 1 --repeat ${REPEAT:-5} ${to:+--to $to} ${PAR:+--parallel $PAR} --out "$out/bench-$target${PAR:+-p$PAR}" -q --json > "$out/bench-$target${PAR:+-p$PAR}.json" \
      || { echo "BENCH $target FAILED or timed out"; continue; }
    python3 - "$out/bench-$target${PAR:+-p$PAR}.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for w in r.get("workloads", [r]):
    vh, ff = w["video_hw"], w["ffmpeg"]
    print(f"BENCH {w['name']}: video-hw process {vh['process']['fps']:.1f} fps, steady {(vh.get('steady_state') or {}).get('fps', 0):.1f} fps; "
          f"ffmpeg process {ff['process']['fps']:.1f} fps; ratio process {w.get('ratio_process')}, steady {w.get('ratio_steady_state')}")
PY
  done
  [ -x "$B" ] && nvb -- --input $IN --codec h264 --sessions 1 --output rgb24 --runs 5
  summary
  ;;
startup)
  # Where the whole-process time of host RGB24 goes: fixed costs (a one-frame input) of both tools,
  # then 600 frames under the host-copy, page-lock and chunk-size variants (3 runs each).
  FF=/tmp/peer-ffmpeg; [ -x $FF ] || { xz -T0 -dc "$g"/peers/ffmpeg.xz > $FF && chmod +x $FF; }
  IN=/tmp/in1080.h264; ONE=/tmp/one1080.h264
  [ -s $IN ] || $FF -hide_banner -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=6:allf=t" -frames:v 600 \
      -c:v libx264 -preset fast -b:v 5M -g 60 -bf 3 -pix_fmt yuv420p $IN
  $FF -hide_banner -v error -y -i $IN -frames:v 1 -c copy $ONE
  VH=$g/bin/video-hw
  wall() { local s e; s=$(date +%s.%N); "$@" > /tmp/wall.out 2>/tmp/wall.err; local rc=$?; e=$(date +%s.%N)
    python3 -c "print(f'{$e-$s:.3f}')"; return $rc; }
  vh_runs() { local label=$1 input=$2; shift 2
    for i in 1 2 3; do w=$(wall env "$@" $VH decode $input --backend nvidia --to ${TO:-rgb24} -q --json ${CHUNK:+--chunk-size $CHUNK} ${PAR:+--parallel $PAR})
      python3 - "$label" "$w" <<'PY' | tee -a "$out/startup.txt"
import json, sys
label, wall = sys.argv[1], float(sys.argv[2])
r = json.load(open("/tmp/wall.out"))
c = r.get("nvdec") or {}
print(f"STARTUP {label:28s} wall {wall:.3f} s  open {r['open_seconds']:.3f}  first {r.get('first_frame_seconds') or 0:.3f}  "
      f"last {r.get('last_frame_seconds') or 0:.3f}  decode {r['seconds']:.3f}  outside {wall - r['open_seconds'] - r['seconds']:.3f}  frames {r['frames']}  "
      f"host alloc {c.get('host_buffers_allocated')} pinned {c.get('host_buffers_pinned')} overlapped {c.get('overlapped_copies')} waits {c.get('copy_waits')}")
PY
    done; }
  ff_runs() { local label=$1 input=$2
    for i in 1 2 3; do w=$(wall $FF -hide_banner -nostdin -y -v error -hwaccel cuda -i $input -pix_fmt rgb24 -f null -)
      echo "STARTUP ffmpeg $label wall $w s" | tee -a "$out/startup.txt"; done; }
  wall $VH probe; cat /tmp/wall.out | head -20; echo "probe wall: $(wall $VH probe) s, again $(wall $VH probe) s"
  if [ -n "${TRACE:-}" ]; then
    for input in $ONE $IN; do echo "== trace: $input"; VIDEO_HW_NV_TRACE=1 $VH decode $input --backend nvidia --to rgb24 -q --json > /tmp/trace.json 2> /tmp/trace.err
      cat /tmp/trace.err | tee -a "$out/trace.txt"; grep -E '"(open|first_frame|last_frame)_seconds"|"seconds"' /tmp/trace.json; done
  fi
  vh_runs "one frame" $ONE; ff_runs "one frame" $ONE
  vh_runs "600 default" $IN
  if [ -n "${VARIANTS:-}" ]; then
    vh_runs "600 HOST_COPY=sync" $IN VIDEO_HW_NV_HOST_COPY=sync
    vh_runs "600 PIN_MAX=8" $IN VIDEO_HW_NV_PIN_MAX=8
    CHUNK=16384 vh_runs "600 chunk 16K" $IN
  fi
  for p in ${PARALLEL:-}; do PAR=$p vh_runs "600 parallel $p" $IN; done
  ff_runs "600" $IN
  ;;
onefile)
  FF=/tmp/peer-ffmpeg; [ -x $FF ] || { xz -T0 -dc "$g"/peers/ffmpeg.xz > $FF && chmod +x $FF; }
  VH=$g/bin/video-hw; d=/tmp/onefile; mkdir -p $d
  src="testsrc2=size=1920x1080:rate=30,noise=alls=6:allf=t"
  [ -s $d/in1080.h264 ] || $FF -hide_banner -v error -y -f lavfi -i "$src" -frames:v 600 -c:v libx264 -preset fast -b:v 5M -g 60 -bf 3 -pix_fmt yuv420p $d/in1080.h264
  [ -s $d/in1080.hevc ] || $FF -hide_banner -v error -y -f lavfi -i "$src" -frames:v 600 -c:v libx265 -preset fast -b:v 4M -g 60 -bf 3 -pix_fmt yuv420p -x265-params log-level=error $d/in1080.hevc
  [ -s $d/in2160.hevc ] || $FF -hide_banner -v error -y -f lavfi -i "testsrc2=size=3840x2160:rate=30,noise=alls=6:allf=t" -frames:v ${FRAMES_2160:-300} -c:v libx265 -preset ultrafast -b:v 12M -g 60 -pix_fmt yuv420p -x265-params log-level=error $d/in2160.hevc
  ls -la $d
  t() { local label=$1 n=$2; shift 2; local s e; s=$(date +%s.%N); "$@" >/dev/null 2>/tmp/onefile.err; local rc=$?; e=$(date +%s.%N)
    [ $rc = 0 ] || { echo "FAILED $label: $(tail -3 /tmp/onefile.err)"; return; }
    python3 -c "print(f'ONEFILE|$label|{$e-$s:.4f}|$n')" | tee -a "$out/onefile.txt"; }
  for IN in ${INPUTS:-$d/in1080.h264 $d/in1080.hevc $d/in2160.hevc}; do b=$(basename $IN)
    n=$($FF -v error -i $IN -map 0:v:0 -c copy -f null - -stats 2>&1 | grep -o 'frame= *[0-9]*' | tail -1 | tr -dc 0-9)
    echo "== $b ($n frames): one run each with --json (sessions, first frame, NVDEC utilisation), then trace"
    for p in auto 1; do for to in "" rgb24; do
      $VH decode $IN --backend nvidia --parallel $p ${to:+--to $to -o /dev/null} -q --json > /tmp/onefile.json 2>/dev/null
      python3 - "$b" "$p" "${to:-gpu}" <<'PY' | tee -a "$out/onefile.txt"
import json, sys
r = json.load(open("/tmp/onefile.json")); u = r.get("utilization") or {}
print(f"JSON|{sys.argv[1]}|parallel {sys.argv[2]}|{sys.argv[3]}|sessions {r['sessions']}|segments {r.get('segments')}|open {r['open_seconds']:.3f}|"
      f"first {r.get('first_frame_seconds') or 0:.3f}|decode {r['seconds']:.3f}|fps {r['fps']:.0f}|nvdec {u.get('decoder_mean', 0):.0f}/{u.get('decoder_max', 0)}|gpu {u.get('gpu_mean', 0):.0f}/{u.get('gpu_max', 0)}|samples {u.get('samples', 0)}")
PY
    done; done
    m1=$($VH decode $IN --backend nvidia --md5 --parallel 1 -q); ma=$($VH decode $IN --backend nvidia --md5 -q)
    mf=$($FF -v error -i $IN -f md5 -pix_fmt yuv420p - | sed 's/MD5=//')
    echo "MD5 $b auto=$ma one=$m1 ffmpeg=$mf $([ "$ma" = "$m1" ] && [ "$m1" = "$mf" ] && echo ALL-EQUAL || echo DIFFER)"
    echo "== trace (VIDEO_HW_NV_TRACE=1, --to rgb24 -o /dev/null): the timeline of start-up, sessions and close"
    s0=$(date +%s.%N); VIDEO_HW_NV_TRACE=1 $VH decode $IN --backend nvidia --to rgb24 -o /dev/null -q 2> /tmp/onefile.trace; e0=$(date +%s.%N)
    grep -E "probe|Create|Destroy|close|taken|kernel|flush" /tmp/onefile.trace | head -60; echo "TRACE-WALL $b $(python3 -c "print(f'{$e0-$s0:.3f}')") s"
    for r in $(seq ${ROUNDS:-3}); do
      t "$b gpu video-hw auto" $n $VH decode $IN --backend nvidia -q
      t "$b gpu video-hw p1" $n $VH decode $IN --backend nvidia --parallel 1 -q
      t "$b gpu video-hw auto-nokeep" $n env VIDEO_HW_NV_KEEP_DECODERS=0 $VH decode $IN --backend nvidia -q
      t "$b gpu ffmpeg" $n $FF -hide_banner -nostdin -v error -hwaccel cuda -hwaccel_output_format cuda -i $IN -f null -
      t "$b rgb24 video-hw auto" $n $VH decode $IN --backend nvidia --to rgb24 -o /dev/null -q
      t "$b rgb24 video-hw p1" $n $VH decode $IN --backend nvidia --to rgb24 --parallel 1 -o /dev/null -q
      t "$b rgb24 video-hw auto-nokeep" $n env VIDEO_HW_NV_KEEP_DECODERS=0 $VH decode $IN --backend nvidia --to rgb24 -o /dev/null -q
      t "$b rgb24 ffmpeg" $n $FF -hide_banner -nostdin -v error -hwaccel cuda -i $IN -pix_fmt rgb24 -f rawvideo -y /dev/null
      t "$b rgb24 ffmpeg-cpu" $n $FF -hide_banner -nostdin -v error -i $IN -pix_fmt rgb24 -f rawvideo -y /dev/null
      for p in ${PARS:-}; do
        t "$b gpu video-hw p$p" $n $VH decode $IN --backend nvidia --parallel $p -q
        t "$b rgb24 video-hw p$p" $n $VH decode $IN --backend nvidia --to rgb24 --parallel $p -o /dev/null -q
      done
    done
  done
  python3 - "$out/onefile.txt" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list); frames = {}
for line in open(sys.argv[1]):
    if line.startswith("ONEFILE|"):
        _, label, secs, n = line.strip().split("|"); runs[label].append(float(secs)); frames[label] = int(n)
med = {k: statistics.median(v) for k, v in runs.items()}
print(f"{'run':34s} {'median s':>9s} {'fps':>8s} {'vs ffmpeg':>9s}  runs")
for k, v in runs.items():
    inp, out_, side = k.split(" ", 2); ff = med.get(f"{inp} {out_} ffmpeg")
    print(f"{k:34s} {med[k]:9.3f} {frames[k]/med[k]:8.1f} {(ff/med[k] if ff else 0):8.2f}x  {' '.join(f'{x:.3f}' for x in v)}")
PY
  ;;
final)
  bash "$0" ffmpeg
  timeout 240 "$g"/tests/nvidia_decode --test-threads 1 --nocapture --skip churn --skip nvdec_decodes_8bit 2>&1 | tee "$out/nvidia_decode.txt" | grep -E "^test |test result|PIPELINE|FAILED|panicked"
  VIDEO_HW_CONFORMANCE=$g/data/conformance timeout 200 "$g"/tests/contract --test-threads 4 nvidia 2>&1 | tee "$out/contract.txt" | grep -E "test result|FAILED|panicked"
  ;;
gpus)
  VH=$g/bin/video-hw; IN=$g/data/bench/in1080.h264
  nvidia-smi -L | tee "$out/gpus.txt"
  "$VH" probe --json > "$out/probe.json"; "$VH" probe | tee -a "$out/gpus.txt"
  n=$(nvidia-smi -L | wc -l)
  for bad in "--gpu $n" "--gpus 0,$n"; do
    "$VH" decode "$IN" $bad --json -q > "$out/missing.json"; echo "MISSING|$bad|exit $?|$(tr -d '\n' < "$out/missing.json")" | tee -a "$out/gpus.txt"
  done
  for r in $(seq "${ROUNDS:-3}"); do
    for variant in "--gpu 0" "--gpus all"; do
      "$VH" decode "$IN" --backend nvidia --sessions 14 $variant --json -q > "$out/s14.json"
      python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("SESSIONS|%s|%.1f|%d|%s" % (sys.argv[2], d["fps"], d["frames"], d.get("gpus", [])))' "$out/s14.json" "$variant" | tee -a "$out/gpus.txt"
    done
  done
  for variant in "--parallel 1" "--parallel auto --gpus all"; do
    "$VH" decode "$IN" --backend nvidia $variant --md5 --json -q > "$out/par.json"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("PARALLEL|%s|%s|%d sessions|%.1f fps|%s" % (sys.argv[2], d["md5"], d["sessions"], d["fps"], d.get("gpus", [])))' "$out/par.json" "$variant" | tee -a "$out/gpus.txt"
  done
  ;;
rgbcheck)
  FF=/tmp/peer-ffmpeg; xz -T0 -dc "$g"/peers/ffmpeg.xz > $FF && chmod +x $FF
  IN=/tmp/in1080.h264; VH=$g/bin/video-hw
  $FF -hide_banner -v error -y -f lavfi -i "testsrc2=size=1920x1080:rate=30,noise=alls=6:allf=t" -frames:v 600 \
      -c:v libx264 -preset fast -b:v 5M -g 60 -bf 3 -pix_fmt yuv420p $IN
  for variant in "--parallel 1" "--parallel auto" "--parallel auto --gpus all"; do
    "$VH" decode $IN --backend nvidia --to rgb24 $variant --md5 --json -q > "$out/rgb.json"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("RGB|%s|%s|%d sessions|%s|%s" % (sys.argv[2], d.get("md5"), d.get("sessions", 0), d.get("conversion"), d.get("errors") or d.get("error")))' "$out/rgb.json" "$variant" | tee -a "$out/rgbcheck.txt"
  done
  timeout 120 "$VH" bench --backend nvidia --codec h264 --workload decode --input $IN --ffmpeg $FF --warmup 0 \
    --repeat 2 --to rgb24 --out "$out/bench-rgb24" -q --json > "$out/bench-rgb24.json"; echo "bench exit $?"
  grep -h -i "utilisation\|^| " "$out"/bench-rgb24/*.md | tee -a "$out/rgbcheck.txt"
  ;;
esac
