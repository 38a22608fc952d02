#!/usr/bin/env bash
# The runtimes table (docs/results/runtimes.md) on a GPU machine, as one prepared script.
#
#   CONVCOST_MNIST=/path/to/mnist.npz bash benchmarks/runtimes_gpu.sh [OUT_DIR]
#
# What differs from the CPU run: TensorFlow trains and infers on the GPU (convcost's
# device "auto"; every timed call waits for the device), and Keras' JAX and torch backends are
# timed too when their CUDA builds are installed (pip install "jax[cuda12]" torch). LiteRT has
# no GPU delegate in its Python interpreter here, so its rows stay on the CPU and say so in
# the machine info. Nothing is downloaded at run time: MNIST must be given.
#
# Budget: about 10 minutes on one recent GPU (2 epochs of 60,000 images per net, then the
# inference timings). TRAIN_SUBSET=12000 halves it. Writes OUT_DIR/runtimes-gpu.json and
# OUT_DIR/runtimes-gpu.png and prints the same tables as the CPU run.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-results/runtimes-gpu}
mkdir -p "$OUT"
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
: "${CONVCOST_MNIST:?set CONVCOST_MNIST to an mnist.npz file (nothing is downloaded)}"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python - <<'PY' | tee -a "$OUT/gpu.txt"
import importlib.util
import tensorflow as tf
print("tensorflow GPUs:", [d.name for d in tf.config.list_physical_devices("GPU")])
for name in ("jax", "torch"):
    print(name, "installed" if importlib.util.find_spec(name) else "not installed (skipped)")
PY

python benchmarks/runtimes.py --data "$CONVCOST_MNIST" \
    --train-subset "${TRAIN_SUBSET:-60000}" --train-epochs 2 \
    --repeats 200 --repeats-64 50 --work "$OUT/work" \
    --out "$OUT/runtimes-gpu.json" --plot "$OUT/runtimes-gpu.png" 2>&1 | tee "$OUT/log.txt"
