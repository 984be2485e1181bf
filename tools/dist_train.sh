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
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec bash "$DIR/dist_run.sh" "$USAGE" NUM_GPUS "$2" \
    "$DIR/train.py" "$1" --launcher pytorch "${@:3}"
