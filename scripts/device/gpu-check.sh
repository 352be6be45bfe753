#!/usr/bin/env bash
# On a machine with a real NVIDIA GPU (and no network), in one short run:
#   1. captures nvidia-smi's outputs (-q -x, -q, topo -m, nvlink -s/-c, the agent's light --query-gpu
#      probe, --help-query-gpu, ...) with how long each took, for test fixtures;
#   2. runs the agent's collectors against the real driver: `gantry agent inventory --json`, then
#      scripts/measure-agent.mjs (RSS and CPU per cycle) with the real nvidia-smi;
#   3. runs a 1-GPU job end to end: nats-server, the scheduler, one agent on the real GPU, and a rank
#      (as user nobody) that checks with CUDA that it sees exactly the GPU named by the UUID in its
#      CUDA_VISIBLE_DEVICES, and does a matrix product on it.
# Everything lands in OUTDIR (captures in OUTDIR/captures.tar.gz). Exit status: 0 when every step ran.
#
#   scripts/device/gpu-check.sh OUTDIR
#
# Needs dist/ (npm run build). Where node >= 20, node_modules or nats-server is missing, it unpacks them
# from .devcarry/ (node.tar.xz, nm.tar.xz, nats-server.xz: see docs/operations.md, "Checking on a real GPU").
set -u
out=${1:?usage: gpu-check.sh OUTDIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
mkdir -p "$out"
out=$(cd "$out" && pwd)
cap="$out/captures"
mkdir -p "$cap"
failed=0
step() { echo "== $*"; }
fail() { echo "!! $*"; failed=1; }

# --- tools -----------------------------------------------------------------------------------------
if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null; then
  if [ -f .devcarry/node.tar.xz ]; then
    tar -C /tmp -xJf .devcarry/node.tar.xz && export PATH="/tmp/devbundle/bin:$PATH"
  fi
fi
[ -d node_modules ] || { [ -f .devcarry/nm.tar.xz ] && tar -xJf .devcarry/nm.tar.xz; }
if ! command -v nats-server >/dev/null && [ -x /usr/sbin/nats-server ]; then export PATH="$PATH:/usr/sbin"; fi
if ! command -v nats-server >/dev/null && [ -f .devcarry/nats-server.xz ]; then
  xz -dc .devcarry/nats-server.xz >/tmp/nats-server && chmod +x /tmp/nats-server && export PATH="$PATH:/tmp"
fi
step "node $(node -v 2>&1), $(command -v nats-server || echo 'no nats-server'), $(uname -srm)"
command -v nvidia-smi >/dev/null || { fail "nvidia-smi is not on PATH"; exit 1; }

# --- 1. captures -----------------------------------------------------------------------------------
# capture NAME CMD...: stdout to captures/NAME, stderr beside it when any, rc and wall ms in INDEX.txt.
capture() {
  local name=$1; shift
  local s e rc
  s=$(date +%s%N)
  "$@" >"$cap/$name" 2>"$cap/$name.stderr"; rc=$?
  e=$(date +%s%N)
  printf '%s\trc=%s\tms=%s\t%s\n' "$name" "$rc" "$(((e - s) / 1000000))" "$*" >>"$cap/INDEX.txt"
  [ -s "$cap/$name.stderr" ] || rm -f "$cap/$name.stderr"
  return 0
}
step "captures"
fields=$(node -e 'import("./dist/agent/core/nvidia/parse-query-csv.js").then((m) => console.log(m.LIGHT_QUERY_FIELDS.join(",")))')
capture nvidia-smi-version.txt nvidia-smi --version
capture nvidia-smi-L.txt nvidia-smi -L
capture nvidia-smi.txt nvidia-smi
capture qx.xml nvidia-smi -q -x
capture q.txt nvidia-smi -q
capture topo-m.txt nvidia-smi topo -m
capture nvlink-s.txt nvidia-smi nvlink -s
capture nvlink-c.txt nvidia-smi nvlink -c
capture query-gpu.csv nvidia-smi "--query-gpu=$fields" --format=csv,noheader,nounits
capture query-gpu-header.csv nvidia-smi "--query-gpu=$fields" --format=csv
capture help-query-gpu.txt nvidia-smi --help-query-gpu
capture q-page-retirement.txt nvidia-smi -q -d PAGE_RETIREMENT
capture q-row-remapper.txt nvidia-smi -q -d ROW_REMAPPER
capture proc-driver-nvidia-version.txt cat /proc/driver/nvidia/version
capture kmsg-nvidia.txt sh -c "dmesg 2>&1 | grep -iE 'nvrm|nvidia|xid' | tail -n 300"
capture dev-nvidia.txt sh -c 'ls -la /dev/nvidia* /sys/class/infiniband 2>&1'
# Probe cost on real hardware: 5 more full and 5 more light probes.
for i in 1 2 3 4 5; do
  capture "timing-qx-$i" nvidia-smi -q -x
  capture "timing-query-$i" nvidia-smi "--query-gpu=$fields" --format=csv,noheader,nounits
done
rm -f "$cap"/timing-*[0-9]
# Readings under load: a few seconds of bf16 matrix products on GPU 0 while probing.
cat >/tmp/gantry-load.py <<'EOF'
import time, torch
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
end = time.time() + 8
while time.time() < end:
    b = a @ a
torch.cuda.synchronize()
print("load done")
EOF
python3 /tmp/gantry-load.py >"$cap/load.stdout" 2>&1 &
load_pid=$!
sleep 5
capture qx-load.xml nvidia-smi -q -x
capture query-gpu-load.csv nvidia-smi "--query-gpu=$fields" --format=csv,noheader,nounits
wait $load_pid
cat "$cap/INDEX.txt"

# --- 2. the agent's collectors on the real driver ------------------------------------------------
step "gantry agent inventory --json (real nvidia-smi)"
node dist/cli/main.js agent inventory --json --node-name gpu-check \
  --set collectors.amd.enabled=false >"$out/inventory.json" 2>"$out/inventory.stderr" || fail "inventory exited $?"
node -e '
  const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const g of d.gpus) console.log(`gpu ${g.index} ${g.name} ${g.uuid} ${g.pciBusId} ${g.memoryMiB} MiB numa ${g.numaNode} nvlinkDomain "${g.nvlinkDomain}"`);
  console.log("firmware", JSON.stringify(d.firmware));
  console.log("health", JSON.stringify(d.health));
  console.log("collectors", JSON.stringify(d.collectors));
' "$out/inventory.json" || fail "inventory.json unreadable"
gpus=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).gpus.length)' "$out/inventory.json" 2>/dev/null || echo 0)

step "measure-agent (real nvidia-smi, $gpus GPU(s))"
node scripts/measure-agent.mjs --binary nvidia-smi --gpus "$gpus" --cycles 61 >"$out/measure-agent.txt" 2>&1 || echo "measure-agent exit $? (1 = a target missed)"
grep -E '^(RSS|CPU|  light|  full|node flags)' "$out/measure-agent.txt"

# --- 3. a 1-GPU job end to end -------------------------------------------------------------------
step "end to end: nats-server, scheduler, agent on the real GPU, one rank as nobody"
work=$(mktemp -d /tmp/gantry-gpu-check-XXXX)
chmod 755 "$work"
port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
nats_port=$(port); grpc_port=$(port)
nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$work/js" >"$out/nats.log" 2>&1 &
pids="$!"
sleep 1
export GANTRY_SCHEDULER_ADDRESS="127.0.0.1:$grpc_port"
node dist/cli/main.js scheduler --data-dir "$work/sched" --grpc-listen "127.0.0.1:$grpc_port" \
  --metrics-listen 127.0.0.1:0 --nats-url "nats://127.0.0.1:$nats_port" --report-interval-ms 1000 \
  >"$out/scheduler.log" 2>&1 &
pids="$pids $!"
sleep 2
node dist/cli/main.js agent --node-name gpu-check --address 127.0.0.1 --state-dir "$work/agent" \
  --metrics-listen 127.0.0.1:0 --collect-interval-ms 5000 \
  --set runner.allowedUsers=[nobody,root] --set runner.allowRoot=true --set collectors.amd.enabled=false \
  --set topology.leaf=leaf-0 --set topology.spine=spine-0 \
  --nats-url "nats://127.0.0.1:$nats_port" >"$out/agent.log" 2>&1 &
pids="$pids $!"
for _ in $(seq 1 30); do
  node dist/cli/main.js nodes 2>/dev/null | grep -q gpu-check && break
  sleep 1
done
node dist/cli/main.js nodes | tee "$out/nodes.txt"
cat >"$work/cuda-check.py" <<'EOF'
import os, sys
vis = os.environ.get("CUDA_VISIBLE_DEVICES", "")
print("RANK", os.environ.get("RANK"), "WORLD_SIZE", os.environ.get("WORLD_SIZE"), "CUDA_VISIBLE_DEVICES", vis)
print("MASTER_ADDR", os.environ.get("MASTER_ADDR"), "MASTER_PORT", os.environ.get("MASTER_PORT"), "GANTRY_TOPOLOGY_ADDR", os.environ.get("GANTRY_TOPOLOGY_ADDR"))
import torch
n = torch.cuda.device_count()
print("torch", torch.__version__, "device_count", n)
if n != 1 or not vis.startswith("GPU-"):
    sys.exit(3)
p = torch.cuda.get_device_properties(0)
print("device", p.name, "uuid", "GPU-" + str(p.uuid), "memory", p.total_memory)
if ("GPU-" + str(p.uuid)) != vis:
    print("UUID MISMATCH"); sys.exit(4)
a = torch.randn(4096, 4096, device="cuda", dtype=torch.bfloat16)
torch.cuda.synchronize()
b = a @ a
torch.cuda.synchronize()
print("matmul ok", float(b.float().abs().mean()))
EOF
chmod 644 "$work/cuda-check.py"
py=$(command -v python3 || echo python3)
# run_job NAME RUNAS: submits the check as a 1-rank job, waits for it to end, keeps its view and log.
run_job() {
  local name=$1 runas=$2 job state submit_out
  cat >"$work/$name.yaml" <<EOF
kind: Training
name: $name
ranks: 1
gpusPerRank: 1
runAs: $runas
command: [$py, $work/cuda-check.py]
env:
  HOME: /tmp
workdir: /tmp
maxRetries: 0
timeLimit: 10m
EOF
  submit_out=$(node dist/cli/main.js submit "$work/$name.yaml" --json 2>&1) || { fail "submit $name: $submit_out"; return 1; }
  job=$(node -e 'try{console.log(JSON.parse(process.argv[1]).id)}catch{console.log("")}' "$submit_out")
  for _ in $(seq 1 90); do
    state=$(node dist/cli/main.js job "$job" --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).state)}catch{console.log("")}})')
    case "$state" in succeeded | failed | cancelled) break ;; esac
    sleep 1
  done
  node dist/cli/main.js job "$job" | tee "$out/$name-job.txt"
  node dist/cli/main.js logs "$job" --rank 0 | tee "$out/$name-rank0.log"
  [ "$state" = succeeded ]
}
if ! run_job gpu-check-nobody nobody; then
  fail "the job as nobody did not succeed"
  # python3 (and torch) may live where nobody cannot read: try as root to tell the two apart.
  run_job gpu-check-root root || fail "the job as root did not succeed"
fi
node dist/cli/main.js topology | tee "$out/topology.txt"
kill $pids 2>/dev/null
sleep 1
kill -9 $pids 2>/dev/null
pkill -f "$work" 2>/dev/null

tar -C "$out" -czf "$out/captures.tar.gz" captures && rm -rf "$cap"
step "done: failed=$failed"
exit $failed
