#!/usr/bin/env bash
# Copyright (c) rrgkit contributors. All rights reserved.
# Distributed evaluation with torchrun. Scores are computed once, on rank 0,
# on the reports gathered from all processes (see docs/distributed.md).
#
#   tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py options]
#
# NNODES, NODE_RANK, PORT and MASTER_ADDR as for tools/dist_train.sh.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NPROC [tools/test.py options]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$NPROC" \
    "$(dirname "$0")/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
