#!/usr/bin/env bash
# The GPU figures of benchmarks/README.md in one run, most important first: a run cut short
# keeps what it finished. Each benchmark has its own time limit and its own log; the JSON
# records go to OUT (default benchmarks/results/gpu). Runs from a checkout without installing
# it (PYTHONPATH=src), as on a lent GPU machine that reaches no package registry.
#
#   bash benchmarks/gpu.sh [OUT]
#
# SMOKE=1 shrinks every size to check the script itself on a CPU in a few minutes.
set -u
out=${1:-benchmarks/results/gpu}
mkdir -p "$out"
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
python=${PYTHON:-python3}
threads=${THREADS:-$(nproc)}
work=${WORK:-/tmp/mgat-gpu-bench}

if [ "${SMOKE:-0}" = 1 ]; then
    net=(--backbone resnet18 --height 64 --width 32)
    epoch=(--backbone resnet18 --frames 10 20 --stage1-batches 4 --stage2-batches 2
           --extract-frames 200 --extract-batch 32)
    eager_epoch=(--backbone resnet18 --frames 10 20 --stage1-batches 4 --stage2-batches 2)
    curve=(--steps 30)
    step=(--warmup 1 --repeats 2)
    scale=10
else
    net=()
    epoch=(--stage1-batches 2000 --stage2-batches 150 --extract-frames 60000)
    eager_epoch=(--stage1-batches 500 --stage2-batches 150)
    curve=(--steps 300)
    step=(--warmup 3 --repeats 10)
    scale=1
fi

run() {  # NAME SECONDS COMMAND...: one benchmark under a time limit, its output in NAME.log
    local name=$1 limit=$(($2 * scale))
    shift 2
    echo "== $(date -u +%T) $name (limit ${limit}s)"
    timeout -k 5 "$limit" "$@" >"$out/$name.log" 2>&1
    local rc=$?
    echo "rc=$rc" >>"$out/$name.log"
    echo "   rc=$rc; $(grep -c . "$out/$name.log") lines"
}

{
    date -u +%FT%TZ
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
    "$python" -c 'import platform, torch, torchvision; print(platform.python_version(), torch.__version__, torchvision.__version__, torch.cuda.is_available())'
    git rev-parse HEAD 2>/dev/null || echo "revision unknown"
} >"$out/machine.txt" 2>&1
cat "$out/machine.txt"

# 1. Real epochs and extraction, trunk compiled as CUDA graphs (the targets).
run epoch_cuda_graph 260 "$python" benchmarks/epoch.py --work "$work" --threads "$threads" \
    --compile reduce-overhead "${epoch[@]}" --out "$out/epoch_cuda_graph.json"
# 2. The compiled step against the eager one over a few hundred steps (correctness).
run compiled_curve 110 "$python" benchmarks/compiled_curve.py --compile reduce-overhead \
    "${net[@]}" "${curve[@]}" --out "$out/compiled_curve_cuda.json"
# 3. One step of each variant at the paper's stage-2 batch, against the bare ceiling.
run train_step_graph 100 "$python" benchmarks/train_step.py --memory-format channels_last \
    --compile reduce-overhead "${net[@]}" "${step[@]}" --out "$out/train_step_cuda_graph.json"
run train_step_nhwc 45 "$python" benchmarks/train_step.py --memory-format channels_last \
    "${net[@]}" "${step[@]}" --out "$out/train_step_cuda_nhwc.json"
run train_step_eager 45 "$python" benchmarks/train_step.py --memory-format contiguous \
    "${net[@]}" "${step[@]}" --out "$out/train_step_cuda_eager.json"
# 4. Real epochs without compilation, for the gain end to end (reuses the data of 1).
run epoch_eager 70 "$python" benchmarks/epoch.py --work "$work" --threads "$threads" \
    --stages baseline mgat "${eager_epoch[@]}" --out "$out/epoch_eager.json"
# 5. The stage-1 step at its own batch of 8.
run train_step_graph_b8 60 "$python" benchmarks/train_step.py --batch 8 --persons 8 \
    --memory-format channels_last --compile reduce-overhead "${net[@]}" "${step[@]}" \
    --out "$out/train_step_cuda_graph_b8.json"
echo "== $(date -u +%T) done"
