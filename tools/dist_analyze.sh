#!/usr/bin/env bash
# Emotion timelines of a study's videos, sharded over processes / GPUs
# through torchrun: each process takes every N-th video, writes its own
# summary, and the first merges them into OUT/summary.csv.
#
#   bash tools/dist_analyze.sh CONFIG CHECKPOINT INPUTS NUM_PROCS [tools/analyze_video.py options]
#   bash tools/dist_analyze.sh configs/s2d_dfew.py s2d_dfew.pth 'study/*.mp4' 4 --out-dir work_dirs/study
#
# INPUTS: a folder, a quoted glob pattern, a list file or one video. With
# GPUs, process i uses cuda:i (--device cuda); on CPU (--device cpu) the
# processes share the cores: set OMP_NUM_THREADS to cores / NUM_PROCS.
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (default 29500).
set -euo pipefail
if [[ $# -lt 4 ]]; then
  echo "usage: bash tools/dist_analyze.sh CONFIG CHECKPOINT INPUTS NUM_PROCS [tools/analyze_video.py options]" >&2
  exit 2
fi
CONFIG=$1
CHECKPOINT=$2
INPUTS=$3
NPROC=$4
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON=${PYTHON:-python}

PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$DIR/analyze_video.py" "$CONFIG" "$CHECKPOINT" "$INPUTS" --launcher pytorch "${@:5}"
