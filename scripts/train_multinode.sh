#!/usr/bin/env bash
# Launch `rscovlm-train run` on NNODES nodes x NPROC_PER_NODE GPUs with torchrun.
#
# Run the same command on every node, from the repository root, after `uv sync`:
#   NNODES=4 NODE_RANK=<0..3> MASTER_ADDR=<node 0 host> MASTER_PORT=29500 \
#     scripts/train_multinode.sh configs/rscovlm-qwen2.5vl-7b.yaml --set model.path=/models/Qwen2.5-VL-7B-Instruct
#
# Environment (defaults in brackets): NNODES [1], NODE_RANK [0], MASTER_ADDR [127.0.0.1], MASTER_PORT [29500],
# NPROC_PER_NODE [number of visible GPUs]. Everything after the config path is passed to `rscovlm-train run`.
# Restarting the same command resumes from the last complete checkpoint in the config's output.dir.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 CONFIG.yaml [--set key=value ...]" >&2
  exit 2
fi

NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
MASTER_PORT=${MASTER_PORT:-29500}
if [ -z "${NPROC_PER_NODE:-}" ]; then
  NPROC_PER_NODE=$(nvidia-smi --list-gpus 2>/dev/null | wc -l)
  [ "$NPROC_PER_NODE" -gt 0 ] || NPROC_PER_NODE=1
fi

echo "node ${NODE_RANK}/${NNODES}: ${NPROC_PER_NODE} processes, rendezvous ${MASTER_ADDR}:${MASTER_PORT}" >&2
exec uv run --no-sync torchrun \
  --nnodes "$NNODES" \
  --node_rank "$NODE_RANK" \
  --nproc_per_node "$NPROC_PER_NODE" \
  --master_addr "$MASTER_ADDR" \
  --master_port "$MASTER_PORT" \
  -m rscovlm_train run "$@"
