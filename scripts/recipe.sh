# Shared by the recipes in scripts/street|face|pose (sourced, not run): go to the repository root, pick the
# Python, and launch train.py / test.py with the recipe's flags followed by the caller's.
#
#   recipe GPUS ENTRY RECIPE_FLAGS... -- "$@"
#
# GPUS is the recipe's GPU list (e.g. 0,1,2,3,4,5,6,7); the last --gpu_ids among the caller's arguments
# replaces it. Several GPUs start one process each through torchrun; one GPU, or --gpu_ids -1 for the CPU,
# one plain process. The caller's arguments come last, so a flag given twice takes the caller's value.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[1]}")/../.."  # the sourcing recipe's folder is scripts/<kind>/
# $PYTHON when set, else the repository's virtual environment, else python from PATH
if [[ -n ${PYTHON:-} ]]; then PY=$PYTHON; elif [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python; fi

recipe() {
    local gpus=$1 entry=$2
    shift 2
    local flags=()
    while [[ $# -gt 0 && $1 != -- ]]; do flags+=("$1"); shift; done
    [[ $# -gt 0 ]] && shift  # the -- before the caller's arguments
    local previous="" arg
    for arg in "$@"; do
        if [[ $previous == --gpu_ids ]]; then gpus=$arg; elif [[ $arg == --gpu_ids=* ]]; then gpus=${arg#*=}; fi
        previous=$arg
    done
    local ids launch=()
    IFS=, read -ra ids <<< "$gpus"
    if (( ${#ids[@]} > 1 )); then launch=(-m torch.distributed.run --standalone "--nproc_per_node=${#ids[@]}"); fi
    exec "$PY" "${launch[@]}" "$entry" "${flags[@]}" "$@"
}
