#!/usr/bin/env bash
# The one prepared check for a lent GPU machine (ARCHITECTURE.md §8; issue 5). That machine has
# CUDA 13, CMake, ninja and Python with PyTorch, but no Node and no network, and a few minutes.
#
#   1. CUDA kernel tests (native/tests/cuda: every CUDA kernel vs the CPU kernel on fresh
#      random inputs). Binaries carried in .gpu-carry/bin are used when they start there;
#      otherwise it builds them (sm_90a only: LMT_CUDA_ARCHS=90a-real, about 2 minutes).
#   2. Kernel timings: build/lmt_cuda_bench next to bench/torch_cuda.py (cuBLAS bf16 matmul at
#      4096^3 and the gpt2-124m training shapes, with our wgmma kernel and, for comparison, the
#      mma.sync one; flash SDPA forward+backward against our bf16 tensor-core and fp32
#      attention; memory-bound kernels), joined into one table by scripts/gpu_report.py.
#   3. When a Node binary (.gpu-carry/node.xz), dist/ and the addon (.gpu-carry/lmtrain.node)
#      are carried: the TS op suite on CUDA (scripts/cuda-ts-check.mjs), the demo's every stage
#      on CUDA against the CPU at micro sizes (scripts/cuda-demo-check.mjs) and `lmtrain bench
#      train --config gpt2-124m --seq-len 1024 --device cuda` against bench/torch_train.py
#      (the same model and step in PyTorch eager) on the GPU.
# The full report goes to $OUT (or ./gpu-check-out); the short table is printed last.
#
# Preparing the carry on the dev machine (.gpu-carry/ is ignored; about 4 minutes on 2 cores):
#   LMT_CUDA_ARCHS=90a-real cmake -S . -B build-gpu -G Ninja -DLMT_CUDA_TESTS=ON && cmake --build build-gpu
#   LMT_CUDA_ARCHS=90a-real npm run build          # the addon for sm_90a, and dist/
#   mkdir -p .gpu-carry/bin && cp build-gpu/test_cuda_* build-gpu/lmt_cuda_bench .gpu-carry/bin/
#   xz -6 -c "$(command -v node)" > .gpu-carry/node.xz; cp build/Release/lmtrain.node .gpu-carry/
#   device run: carry .gpu-carry dist node_modules/node-gyp-build node_modules/@huggingface/jinja
#   (about 48 MB with the repo), timeout about 480 s.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1
export PYTHONUNBUFFERED=1
QUICK="${GPU_CHECK_QUICK:-}"
t_start=$(date +%s)
stamp() { echo "== [$(( $(date +%s) - t_start ))s] $*"; }

stamp "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || true
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' || true

# ---- 1. binaries ----------------------------------------------------------------------------
BIN=.gpu-carry/bin
usable=0
if [ -x "$BIN/test_cuda_fill" ]; then
  if "$BIN/test_cuda_fill" > "$OUT/probe.txt" 2>&1 || ! grep -q "error while loading\|GLIBC\|not found" "$OUT/probe.txt"; then usable=1; fi
fi
if [ "$usable" = 0 ]; then
  stamp "building the CUDA tests and benchmark (sm_90a)"
  BIN=build-gpu
  LMT_CUDA_ARCHS=90a-real cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DLMT_CUDA_TESTS=ON \
    -DLMT_BUILD_TESTS=OFF -DLMT_BUILD_ADDON=OFF > "$OUT/build.txt" 2>&1 &&
    cmake --build build-gpu -j "$(nproc)" >> "$OUT/build.txt" 2>&1 || { tail -40 "$OUT/build.txt"; echo "BUILD FAILED"; }
else
  stamp "using the carried binaries"
fi

# ---- 2. CUDA kernel tests -------------------------------------------------------------------
stamp "CUDA kernel tests"
summary=()
for t in "$BIN"/test_cuda_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  timeout 60 "$t" > "$OUT/$name.txt" 2>&1
  rc=$?
  last=$(tail -1 "$OUT/$name.txt")
  grep "^FAIL" "$OUT/$name.txt" | head -20
  summary+=("| $name | $([ $rc = 0 ] && echo pass || echo "FAIL (rc $rc)") | $last |")
done
# Which bf16 GEMM kernel ran (wgmma after its self-check, or mma.sync) and the tensor-core
# attention's largest errors, for the summary.
kernel_facts=$(grep -h "bf16 GEMM kernel:\|bf16 tensor-core path" "$OUT"/test_cuda_*.txt 2>/dev/null)
# The per-test logs go into one file (at most 8 files come back).
cat "$OUT"/test_cuda_*.txt > "$OUT/kernel-tests.txt" 2>/dev/null; rm -f "$OUT"/test_cuda_*.txt "$OUT/probe.txt"

# ---- 3. kernel timings vs PyTorch ------------------------------------------------------------
stamp "lmtrain CUDA kernel timings"
timeout 150 "$BIN/lmt_cuda_bench" $QUICK > "$OUT/cuda_bench.jsonl" 2> "$OUT/cuda_bench.err"; echo "lmt_cuda_bench rc $?"
cat "$OUT/cuda_bench.err" >> "$OUT/kernel-tests.txt"; rm -f "$OUT/cuda_bench.err"
stamp "PyTorch timings"
timeout 150 python3 bench/torch_cuda.py $QUICK > "$OUT/torch_cuda.jsonl"; echo "torch_cuda rc $?"
python3 scripts/gpu_report.py "$OUT/cuda_bench.jsonl" "$OUT/torch_cuda.jsonl" > /tmp/kernels.md

# ---- 4. TS on CUDA and training throughput (when Node is carried) ----------------------------
train_lines=()
if [ -f .gpu-carry/node.xz ] && [ -f dist/index.js ] && [ -f .gpu-carry/lmtrain.node ]; then
  stamp "Node: TS op suite on CUDA"
  xz -dc .gpu-carry/node.xz > /tmp/node && chmod +x /tmp/node
  mkdir -p build/Release && cp .gpu-carry/lmtrain.node build/Release/lmtrain.node
  /tmp/node --version
  timeout 120 /tmp/node scripts/cuda-ts-check.mjs > "$OUT/ts-cuda.txt" 2>&1; echo "ts cuda checks rc $?"
  grep "FAIL" "$OUT/ts-cuda.txt" | head -20; tail -1 "$OUT/ts-cuda.txt"
  # The commands' default device: cuda once its self-check (3 small GPT steps on both devices) passes.
  default_line=$(timeout 60 /tmp/node dist/cli/index.js info 2>&1 | grep "^default")
  echo "$default_line" | tee -a "$OUT/ts-cuda.txt"
  stamp "Node: the demo's every stage on CUDA against the CPU (micro sizes)"
  timeout 120 /tmp/node scripts/cuda-demo-check.mjs >> "$OUT/ts-cuda.txt" 2>&1; echo "demo check rc $?"
  grep "FAIL" "$OUT/ts-cuda.txt" | head -20; tail -1 "$OUT/ts-cuda.txt"
  stamp "training throughput: gpt2-124m, B 8, T 1024"
  steps=${GPU_CHECK_STEPS:-8}
  {
    timeout 150 /tmp/node dist/cli/index.js bench train --config gpt2-124m --batch 8 --seq-len 1024 --device cuda --steps "$steps" --warmup 2 --json
    timeout 150 /tmp/node dist/cli/index.js bench train --config gpt2-124m --batch 8 --seq-len 1024 --device cuda --precision bf16 --steps "$steps" --warmup 2 --json
    timeout 150 /tmp/node dist/cli/index.js bench train --config gpt2-124m --batch 8 --seq-len 1024 --device cuda --precision tf32 --steps "$steps" --warmup 2 --json
    timeout 120 python3 bench/torch_train.py --config gpt2-124m --batch 8 --seq-len 1024 --device cuda --steps "$steps" --warmup 2
    timeout 120 python3 bench/torch_train.py --config gpt2-124m --batch 8 --seq-len 1024 --device cuda --bf16 --steps "$steps" --warmup 2
  } > "$OUT/train.jsonl" 2>> "$OUT/ts-cuda.txt"
  cat "$OUT/train.jsonl"
else
  echo "Node, dist/ or the addon not carried: the TS CUDA checks and the training benchmark did not run"
fi

# ---- 5. the short table ----------------------------------------------------------------------
stamp "summary"
{
  echo "## CUDA kernel tests"
  echo "| test | result | last line |"
  echo "|---|---|---|"
  printf '%s\n' "${summary[@]}"
  echo
  echo "$kernel_facts"
  [ -n "${default_line:-}" ] && echo "lmtrain info: $default_line"
  echo
  echo "## Kernels vs PyTorch"
  cat /tmp/kernels.md
  if [ -s "$OUT/train.jsonl" ]; then
    echo
    echo "## Training gpt2-124m (B 8, T 1024) on the GPU"
    python3 - "$OUT/train.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
print("| run | tokens/s | ms/step |")
print("|---|---:|---:|")
for r in rows:
    who = ("PyTorch eager" + (" bf16 autocast" if r.get("bf16") else " fp32")) if "torch" in r else ("lmtrain " + r.get("precision", "fp32") + " matmuls")
    print(f"| {who} | {r['tokens_per_s']:.0f} | {r['ms_per_step']:.1f} |")
PY
  fi
} | tee "$OUT/summary.md"
stamp "done"
