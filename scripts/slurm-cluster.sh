#!/bin/bash
# A one-node Slurm cluster on localhost, for the batch-job test (recipe: ../shared/PLATFORM.md).
#   scripts/slurm-cluster.sh start DIR   installs slurm-wlm and munge if needed, starts munged,
#                                        slurmctld and slurmd with everything under DIR, and
#                                        prints the SLURM_CONF to export
#   scripts/slurm-cluster.sh stop DIR    stops the daemons it started there
# The node offers 4 "gpu" resources, so that scripts asking for --gres=gpu:1 are scheduled as on
# a GPU cluster: Slurm wants a character device per GPU, so they are made with /dev/null's numbers.
set -euo pipefail
action=${1:?start or stop}
dir=${2:?the cluster folder}

stop() {
    for daemon in slurmd slurmctld munged; do
        if [ -f "$dir/$daemon.pid" ]; then
            pid=$(cat "$dir/$daemon.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
            rm -f "$dir/$daemon.pid"
        fi
    done
}

if [ "$action" = stop ]; then stop; exit 0; fi
[ "$action" = start ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
fi

mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
chmod 755 "$dir"   # munged runs as the munge user
chown munge:munge "$dir/munge"
chmod 700 "$dir/munge"
# A fresh key of our own, readable only by munge.
dd if=/dev/urandom of="$dir/munge/munge.key" bs=1 count=1024 status=none
chown munge:munge "$dir/munge/munge.key"
chmod 400 "$dir/munge/munge.key"
runuser -u munge -- munged --socket="$dir/munge/socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/seed" --force
cp "$dir/munge/munged.pid" "$dir/munged.pid"

# The node as slurmd sees this machine, with a little memory left over for the system.
read -r cpus boards sockets cores threads memory < <(slurmd -C | head -1 | tr ' ' '\n' | awk -F= '
    $1=="CPUs"{c=$2} $1=="Boards"{b=$2} $1=="SocketsPerBoard"{s=$2} $1=="CoresPerSocket"{k=$2}
    $1=="ThreadsPerCore"{t=$2} $1=="RealMemory"{m=$2} END{print c, b, s, k, t, m}')
cat > "$dir/slurm.conf" <<CONF
ClusterName=saegeo-test
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
GresTypes=gpu
JobRequeue=1
KillWait=30
MinJobAge=600
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ReturnToService=2
NodeName=localhost CPUs=$cpus Boards=$boards SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$((memory * 9 / 10)) Gres=gpu:4 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
for i in 0 1 2 3; do [ -c "$dir/gpu$i" ] || mknod "$dir/gpu$i" c 1 3; done
echo "NodeName=localhost Name=gpu File=$dir/gpu[0-3]" > "$dir/gres.conf"

export SLURM_CONF=$dir/slurm.conf
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost
for _ in $(seq 100); do
    if sinfo -h -o %T 2>/dev/null | grep -q idle; then echo "$SLURM_CONF"; exit 0; fi
    sleep 0.2
done
echo "slurm-cluster: the node did not come up; see $dir/slurmctld.log and $dir/slurmd.log" >&2
tail -n 5 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
stop
exit 1
