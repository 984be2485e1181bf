#!/usr/bin/env bash
# The torchrun launch that tools/dist_{train,test,analyze}.sh share:
#
#   bash tools/dist_run.sh USAGE COUNT_NAME NUM_PROCS SCRIPT [SCRIPT arguments]
#
# USAGE is the caller's usage line and COUNT_NAME its name for NUM_PROCS
# (NUM_GPUS, NUM_PROCS), printed when NUM_PROCS is not a positive integer. Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT (default 29500).
set -euo pipefail
USAGE=$1
NAME=$2
NPROC=$3
if ! [[ "$NPROC" =~ ^[1-9][0-9]*$ ]]; then
    echo "$USAGE" >&2
    echo "error: $NAME must be a positive integer, got '$NPROC'" >&2
    exit 2
fi
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# the clone's s2d_mm first, as OpenMMLab's dist scripts do
PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --nproc_per_node="$NPROC" \
    --master_port="${PORT:-29500}" \
    "${@:4}"
