#!/usr/bin/env bash
# Launch NPROC processes of a tools/ script with torch.distributed.run:
#   tools/dist_launch.sh NPROC SCRIPT [script args...]
# Used by dist_train.sh and dist_test.sh. On CPU add --cfg-options env_cfg.dist_cfg.backend=gloo.
NPROC=$1
SCRIPT=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" \
    --master_port="$PORT" \
    "$(dirname "$0")/$SCRIPT" "${@:3}"
