#!/usr/bin/env bash
# One prepared call on a lent GPU (the `device` tool; ../shared/DEVICE.md), so that a session's few minutes of
# device time all go to measuring and training: install what the machine lacks, measure the `gpu` preset's
# projected time (benchmarks/bench_train.py), then train one stage of the bundled model onward from its shipped
# weights for the rest of the call, and leave that stage's fp16 weights and logs under $OUT.
#
#   here, once per checkout (wheels for the device's Python 3.12; .whl/ is git-ignored):
#       bash benchmarks/gpu_session.sh fetch
#   the device call (timeout_s 600, carry [".whl"]): bench ~3 min, then SECONDS of training, then copies
#       bash benchmarks/gpu_session.sh run decoder 300
#   back here, with the folder the call's files came back to:
#       bash benchmarks/gpu_session.sh install FILES_AT     # into models/tiny-emoji; then run the eval
#
# Env: PYTHON (default python3), BENCH_ARGS (default "--steps 15 --warm 3"), STEP_S (seconds a training step takes
# on the device, from an earlier bench, e.g. 0.16 for the decoder on an H200: skips the bench, about 3 minutes of a
# 15-minute device budget, and sizes the leg by it), LEG_ARGS (extra trainer flags, e.g.
# "--seed 41"; later flags win), OUT (set by the device tool).
# The leg starts from the shipped weights with a fresh optimiser (the resumable checkpoint is too large to carry
# back: 4 x the fp32 weights); its step count is what the measured speed fits into SECONDS, so the learning rate's
# cosine schedule ends with the leg. The capacity experiment: LEG_ARGS="--decoder-width 1.5" trains a fresh decoder
# 1.5x as wide (10.5 M parameters, 2.17 s for 4 images in bf16 on an AMX CPU: bench_decoder_size.py) in place of
# the shipped one; it is slower than the measured speed, so the time limit, not the schedule, ends that leg.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
verb=${1:-}

case "$verb" in
fetch)
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d .whl diffusers==0.42.1 open_clip_torch==3.3.0 ftfy wcwidth importlib_metadata resvg-py==0.5.0
  ls .whl
  ;;
run)
  stage=${2:-decoder}
  seconds=${3:-300}
  out=${OUT:?"OUT must name the folder whose files come back (the device tool sets it)"}
  if ! "$PY" -c "import diffusers, open_clip, resvg_py" 2>/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  fi
  export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
  log="$out/train_log.txt"  # what comes back is at most 8 files: 2 here, the trained parts' (decoder: 2 + 2 files,
  # 4 + 2 with --decoder-width 1.5 in LEG_ARGS; 2x is 5 + 2 and does not fit)
  if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,memory.total --format=csv,noheader >"$log"; fi
  if [ -n "${STEP_S:-}" ] && ! { [[ $STEP_S =~ ^(0|[1-9][0-9]*)(\.[0-9]+)?$ ]] && [[ $STEP_S =~ [1-9] ]]; }; then
    echo "STEP_S must be seconds per training step above 0, a number such as 0.16; got '$STEP_S'" >&2; exit 2
  fi  # (a JSON number: ".16" and "016" are not)
  # shellcheck disable=SC2086
  if [ -n "${STEP_S:-}" ]; then  # measured before: no bench
    printf '{"rows": [{"stage": "%s", "s_per_step": %s}]}\n' "$stage" "$STEP_S" > /tmp/bench_gpu.json
    echo "no bench: STEP_S=$STEP_S s/step for $stage" | tee -a "$log"
  elif ! "$PY" benchmarks/bench_train.py --preset gpu ${BENCH_ARGS:---steps 15 --warm 3} --json >/tmp/bench.out \
      2>/tmp/bench.err; then tail -n 30 /tmp/bench.err | tee -a "$log"; exit 1
  else tail -n 1 /tmp/bench.out > /tmp/bench_gpu.json && { echo "bench:"; cat /tmp/bench_gpu.json; } | tee -a "$log"
  fi
  leg=/tmp/unclip-leg
  rm -rf "$leg" && mkdir -p "$leg" && cp -r models/tiny-emoji "$leg/model"
  flags=$("$PY" - "$stage" "$seconds" /tmp/bench_gpu.json <<'EOF'
import json, sys
from unclip.train.presets import PRESETS
stage, seconds, bench = sys.argv[1], float(sys.argv[2]), json.load(open(sys.argv[3]))
measured = {r["stage"]: r["s_per_step"] for r in bench["rows"]}
numbers = dict(PRESETS["gpu"][stage])
s = measured.get(stage) or 1.0  # not benchmarked: assume 1 s/step, the time limit still holds
numbers.update(steps=max(10, int(seconds / s)), time_limit=seconds, warmup=min(numbers["warmup"], int(seconds / s) // 10))
print(" ".join(f"--{k.replace('_', '-')} {v}" for k, v in numbers.items()))
EOF
)
  echo "leg: $stage $flags" | tee -a "$log"
  # shellcheck disable=SC2086
  "$PY" -m unclip train "$stage" --out "$leg/model" --run-dir "$leg/run" $flags ${LEG_ARGS:-} --save-every 1000 \
    --preview-every 0 --log-every 100 2>&1 | tee -a "$log" | tail -n 5
  parts=$("$PY" -c "from unclip.train.common import OWNS; print(' '.join(OWNS['$stage']))")
  for part in $parts; do mkdir -p "$out/$part" && cp "$leg/model/$part"/* "$out/$part/"; done
  cp "$leg/model/unclip_config.json" "$out/"
  ls -la "$out" $(for part in $parts; do echo "$out/$part"; done)
  ;;
install)
  from=${2:?"install FILES_AT: the folder the device call's files came back to"}
  stages=""
  for part in decoder text_proj prior clip upsampler; do
    if [ -d "$from/$part" ]; then
      rm -f "models/tiny-emoji/$part"/*  # the leg's folder is complete; old shards must not outlive it
      cp "$from/$part"/* "models/tiny-emoji/$part/" && echo "installed $part"
      [ "$part" = text_proj ] || stages="$stages $part"
    fi
  done
  # keep this checkout's training record; add the leg's (its step count and seconds are the leg's own)
  # shellcheck disable=SC2086
  "$PY" - "$from/unclip_config.json" models/tiny-emoji/unclip_config.json $stages <<'EOF'
import glob, json, sys
leg, ours = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
legs = ours["training"].setdefault("gpu_legs", [])
legs += [{"stage": stage, **{k: v for k, v in leg["training"][stage].items() if k not in ("earlier", "run")}}
         for stage in sys.argv[3:]]  # the leg's own figures: not the history it was copied with, nor its scratch path
for stage in sys.argv[3:]:  # a leg may change a part's size (train decoder --decoder-width)
    ours["config"][stage] = leg["config"][stage]
open(sys.argv[2], "w").write(json.dumps(ours, indent=2) + "\n")
for path in glob.glob("models/tiny-emoji/*/config.json"):  # diffusers wrote the device's scratch path; keep ours
    config = json.load(open(path))
    if config.get("_name_or_path", "models/tiny-emoji") != "models/tiny-emoji":
        config["_name_or_path"] = "models/tiny-emoji"
        open(path, "w").write(json.dumps(config, indent=2, sort_keys=True) + "\n")
EOF
  echo "now: python -m unclip eval --model tiny-emoji --json"
  ;;
*)
  echo "usage: bash benchmarks/gpu_session.sh fetch | run STAGE SECONDS | install FILES_AT" >&2
  exit 2
  ;;
esac
