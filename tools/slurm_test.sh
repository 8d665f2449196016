#!/usr/bin/env bash
# Copyright (c) rrgkit contributors. All rights reserved.
# Evaluation on a Slurm cluster: srun starts one task per GPU; scores are
# computed once, on rank 0, on the reports gathered from all tasks.
#
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS=...] \
#       tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [options]
#
# GPUS_PER_NODE=0 requests no GPUs (CPU nodes; then set TASKS_PER_NODE,
# default 1). See docs/distributed.md.
set -euo pipefail

if [ $# -lt 4 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [tools/test.py" \
         "options]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
if [ "$GPUS_PER_NODE" -gt 0 ]; then
    GRES="--gres=gpu:$GPUS_PER_NODE"
    TASKS_PER_NODE=$GPUS_PER_NODE
else
    GRES=""
    TASKS_PER_NODE=${TASKS_PER_NODE:-1}
fi

# shellcheck disable=SC2086  # SRUN_ARGS and GRES may hold several words
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    $GRES \
    --ntasks="$GPUS" \
    --ntasks-per-node="$TASKS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    python -u "$(dirname "$0")/test.py" "$CONFIG" "$CHECKPOINT" \
    --launcher=slurm "${@:5}"
