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
USAGE="usage: bash tools/dist_analyze.sh CONFIG CHECKPOINT INPUTS NUM_PROCS [tools/analyze_video.py options]"
if [[ $# -lt 4 ]]; then
  echo "$USAGE" >&2
  exit 2
fi
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$DIR/dist_run.sh" "$USAGE" NUM_PROCS "$4" \
    "$DIR/analyze_video.py" "$1" "$2" "$3" --launcher pytorch "${@:5}"
