#!/usr/bin/env bash
# The GPU check, at most 5 minutes on one NVIDIA GPU (bench/gpu.py says what each part does):
#   1. one CNN evaluation and 10 LLG steps on the GPU against the CPU, float64 (<= 1e-12);
#   2. the whole stochastic midpoint step, spins resident on the GPU, at L = 1024 and 4096 in
#      bfloat16 and float32 (TF32 convolutions), next to one bare network evaluation and the
#      previous host path (gpu_step.json), and a torch.profiler table of three steps;
#   3. 2 ranks on the one GPU, halo strips staged through pinned host memory and on the
#      device (GPU to GPU where the MPI library is CUDA-aware; otherwise it says so and
#      stages);
#   4. one twist-averaged ED training label (24 x 24) on the GPU against one CPU core.
# Without a GPU every part runs on the CPU (GPU_CHECK_SIZES=128 GPU_CHECK_L=48 keep it short).
# Usage: bash bench/gpu.sh [OUT_DIR]     (JSON per part in OUT_DIR, default out/gpu_check;
#   bench/results/gpu_*.json hold the measurement that bench/scaling_model.py reads: pass
#   bench/results to replace it, on a GPU only)
set -u
cd "$(dirname "$0")/.."
out=${1:-out/gpu_check}
python=${PYTHON:-python3}
sizes=${GPU_CHECK_SIZES:-1024 4096}
L=${GPU_CHECK_L:-256}
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
status=0
"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
torch.cuda.get_device_name(0) if torch.cuda.is_available() else "(CPU fallback)")'
timeout 120 "$python" bench/gpu.py check --L "$L" --out "$out" || status=1
# shellcheck disable=SC2086  # sizes is a list
timeout 180 "$python" bench/gpu.py step --sizes $sizes --out "$out" || status=1
# shellcheck disable=SC2086
timeout 60 "$python" bench/gpu.py profile --sizes $sizes --out "$out" || status=1
if command -v mpirun >/dev/null && "$python" -c 'from mpi4py import MPI' 2>/dev/null; then
    for place in host device; do
        timeout 60 mpirun --bind-to none -n 2 -x PYTHONUNBUFFERED -x OMP_NUM_THREADS \
            "$python" bench/gpu.py halo --halo "$place" --L "$L" --out "$out" || status=1
    done
else
    echo "gpu.sh: no mpirun or no working mpi4py here: the 2-rank halo checks are skipped"
fi
timeout 120 "$python" bench/gpu.py labels --out "$out" || status=1
exit $status
