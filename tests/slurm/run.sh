#!/usr/bin/env bash
# End-to-end test on a real single-node Slurm cluster: start munge, slurmctld and slurmd on this
# machine, submit a sweep with deploy/slurm/sweep.sh (job array + dependent merge job), and check
# that the merged report is byte-identical to the same sweep run locally.
# Needs root (CI runs as root). Installs Debian's slurm packages if they are missing; any failure
# is a test failure, never a silent skip.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
sweep=tests/data/sweeps/small.ron
shards=3

need=()
for c in slurmctld slurmd sbatch munged; do command -v "$c" >/dev/null || need+=("$c"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "slurm test: installing slurmctld slurmd slurm-client munge (missing: ${need[*]})"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge
fi

cargo build --release --locked -q
bin=$root/target/release/hasim

W=$(mktemp -d /tmp/hasim-slurm.XXXXXX)
H=$(hostname -s)
cleanup() {
  for p in "$W/d.pid" "$W/ctld.pid"; do
    [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
  done
  sleep 1
  rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/state" "$W/spool"
cat > "$W/slurm.conf" <<CONF
ClusterName=hasimci
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$W/state
SlurmdSpoolDir=$W/spool
SlurmctldPidFile=$W/ctld.pid
SlurmdPidFile=$W/d.pid
SlurmctldLogFile=$W/ctld.log
SlurmdLogFile=$W/d.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MaxArraySize=10001
NodeName=$H CPUs=$(nproc) RealMemory=2000 State=UNKNOWN
PartitionName=ci Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$W/slurm.conf

# munge: one daemon per machine; start it if it is not answering.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  [ -f /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; chmod 400 /etc/munge/munge.key; }
  chown -R munge: /run/munge /var/log/munge /var/lib/munge /etc/munge
  su -s /bin/sh munge -c munged
  sleep 1
fi
munge -n | unmunge >/dev/null

slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for i in $(seq 1 60); do
  if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then break; fi
  sleep 1
  [ "$i" = 60 ] && { echo "slurm test: the node never became idle"; sinfo || true; cat "$W/ctld.log" "$W/d.log" || true; exit 1; }
done
echo "slurm test: cluster up ($(sinfo -h -o '%P %t %D'))"

out=$W/cluster
merge_id=$(HASIM=$bin HASIM_JOBS=1 deploy/slurm/sweep.sh "$sweep" "$shards" "$out")
echo "slurm test: merge job $merge_id submitted after a $shards-task array"
for i in $(seq 1 300); do
  state=$(scontrol show job "$merge_id" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
  if scontrol show job "$merge_id" 2>/dev/null | grep -q 'Reason=DependencyNeverSatisfied'; then
    echo "slurm test: a shard failed, so the merge job can never run"; cat "$out"/logs/* || true; exit 1
  fi
  case "$state" in
    COMPLETED) break ;;
    FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|DEADLINE)
      echo "slurm test: merge job $state"; cat "$out"/logs/* || true; exit 1 ;;
  esac
  sleep 1
  [ "$i" = 300 ] && { echo "slurm test: timed out (state: $state)"; squeue || true; cat "$out"/logs/* || true; exit 1; }
done
ls "$out"/parts

"$bin" sweep "$sweep" --jobs 2 --out "$W/local" > /dev/null
for f in report.txt report.json report.csv; do
  cmp "$W/local/$f" "$out/$f" || { echo "slurm test: $f differs between Slurm and the local sweep"; diff "$W/local/$f" "$out/$f" | head -20; exit 1; }
done
echo "slurm test: passed: $shards Slurm shards merged = local sweep, byte for byte"
