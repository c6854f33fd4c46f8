#!/usr/bin/env bash
# Submit a hasim sweep to Slurm as a job array (one shard per array task) plus a merge job that
# runs only if every shard succeeded.
#
#   deploy/slurm/sweep.sh SWEEP.ron SHARDS OUT_DIR [extra sbatch options…]
#
# Each array task runs `hasim sweep SWEEP --shard auto --out OUT_DIR/parts/part-<task>.json`;
# hasim reads SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT itself. The merge job writes
# OUT_DIR/report.{txt,json,csv}, byte-identical to `hasim sweep SWEEP --out OUT_DIR` on one machine.
# Set HASIM to the hasim binary (default: `hasim` on PATH), HASIM_JOBS for threads per task,
# MAX_RUNNING to cap concurrently running tasks (default: all). Prints the merge job's id.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n '2,13p' "$0" >&2
  exit 2
fi
sweep=$1 shards=$2 out=$3
shift 3
hasim=${HASIM:-hasim}
jobs=${HASIM_JOBS:-1}
limit=${MAX_RUNNING:+%$MAX_RUNNING}
mkdir -p "$out/parts" "$out/logs"

array=$(sbatch --parsable "$@" --array="0-$((shards - 1))$limit" --cpus-per-task="$jobs" \
  --job-name=hasim-sweep --output="$out/logs/shard-%a.out" \
  --wrap="$hasim sweep \"$sweep\" --shard auto --jobs $jobs --resume --out \"$out/parts/part-\${SLURM_ARRAY_TASK_ID}.json\"")
array=${array%%;*}

merge=$(sbatch --parsable "$@" --dependency="afterok:$array" --job-name=hasim-merge \
  --output="$out/logs/merge.out" \
  --wrap="$hasim merge \"$out\"/parts/part-*.json --out \"$out\"")
echo "${merge%%;*}"
