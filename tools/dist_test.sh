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
if ! [[ "${3}" =~ ^[1-9][0-9]*$ ]]; then
    echo "$USAGE" >&2
    echo "error: NUM_GPUS must be a positive integer, got '${3}'" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
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
    "$DIR/test.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
