#!/usr/bin/env bash
# Distributed testing through torchrun, one process per GPU.
#
#   bash tools/dist_test.sh CONFIG CHECKPOINT NUM_GPUS [tools/test.py options]
#   bash tools/dist_test.sh configs/s2d_dfew.py work_dirs/s2d_dfew/fold1/epoch_100.pth 2
#
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (default 29500).
# Slurm, one task per GPU:
#   srun -p PARTITION -n 4 --ntasks-per-node=4 --gres=gpu:4 \
#     python -u tools/test.py CONFIG CHECKPOINT --launcher slurm
set -euo pipefail
USAGE="usage: bash tools/dist_test.sh CONFIG CHECKPOINT NUM_GPUS [tools/test.py options]"
if [ $# -lt 3 ]; then
    echo "$USAGE" >&2
    exit 2
fi
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$DIR/dist_run.sh" "$USAGE" NUM_GPUS "$3" \
    "$DIR/test.py" "$1" "$2" --launcher pytorch "${@:4}"
