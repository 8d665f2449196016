#!/usr/bin/env bash
# Copyright (c) rrgkit contributors. All rights reserved.
# Distributed training with torchrun (one process per GPU; on a machine
# without GPUs, one CPU process each, gloo backend).
#
#   tools/dist_train.sh CONFIG NPROC [train.py options]
#
# Several nodes: run it on every node with the same MASTER_ADDR/PORT and
# NNODES, and NODE_RANK=0..NNODES-1, e.g.
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 tools/dist_train.sh CFG 8
# See docs/distributed.md.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NPROC [tools/train.py options]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
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
    "$(dirname "$0")/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
