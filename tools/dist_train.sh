#!/usr/bin/env bash
# Distributed training through torchrun, one process per GPU.
#
#   bash tools/dist_train.sh CONFIG NUM_GPUS [tools/train.py options]
#   bash tools/dist_train.sh configs/s2d_dfew.py 2 --cfg-options fold=3
#
# Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (default 29500).
# Without GPUs the processes run on the CPU with the gloo backend
# (tools/train.py switches automatically).
#
# Slurm (one task per node, torchrun spawns the GPU processes), e.g.
#   srun -p PARTITION -N 2 --ntasks-per-node=1 --gres=gpu:4 --cpus-per-task=16 \
#     bash -c 'NNODES=$SLURM_NNODES NODE_RANK=$SLURM_NODEID \
#       MASTER_ADDR=$(scontrol show hostnames $SLURM_JOB_NODELIST | head -n1) \
#       bash tools/dist_train.sh configs/s2d_dfew.py 4'
# or, without torchrun, one Slurm task per GPU:
#   srun -p PARTITION -n 8 --ntasks-per-node=4 --gres=gpu:4 \
#     python -u tools/train.py configs/s2d_dfew.py --launcher slurm
set -euo pipefail
USAGE="usage: bash tools/dist_train.sh CONFIG NUM_GPUS [tools/train.py options]"
if [ $# -lt 2 ]; then
    echo "$USAGE" >&2
    exit 2
fi
if ! [[ "${2}" =~ ^[1-9][0-9]*$ ]]; then
    echo "$USAGE" >&2
    echo "error: NUM_GPUS must be a positive integer, got '${2}'" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
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
    "$DIR/train.py" "$CONFIG" --launcher pytorch "${@:3}"
