#!/usr/bin/env bash
# Run a local key/value cluster of dsys kv-server processes in the background, the way a user
# scripts a multi-node run: one data folder, log file and pid file per node under one folder.
#
#   scripts/kv_cluster.sh start [-n NODES] [-p BASE_PORT] [-m MAXRAFTSTATE]
#   scripts/kv_cluster.sh status [--json]
#   scripts/kv_cluster.sh kill ID          # kill -9 one node
#   scripts/kv_cluster.sh restart ID       # kill -9 one node if it runs, then start it again
#   scripts/kv_cluster.sh workload [-k KEYS]
#   scripts/kv_cluster.sh kv get K | put K V | append K V | shell
#   scripts/kv_cluster.sh stop
#
# Every command takes -d DIR (before or right after the command; default $DSYS_CLUSTER_DIR, else ./dsys-cluster). Node i listens on
# 127.0.0.1:(BASE_PORT + i); its files are DIR/node-i/ (data), DIR/node-i.log, DIR/node-i.pid;
# DIR/peers holds the peer list. The program is $DSYS if set, else `deno run -A main.ts`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
read -r -a DSYS_COMMAND <<<"${DSYS:-deno run --allow-all $ROOT/main.ts}"
DIR="${DSYS_CLUSTER_DIR:-./dsys-cluster}"
NODES=3
BASE_PORT=7100
MAXRAFTSTATE=-1
KEYS=5
LISTEN_TIMEOUT_SECONDS=30
STOP_TIMEOUT_SECONDS=10

fail() {
  echo "kv_cluster.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

dsys() {
  "${DSYS_COMMAND[@]}" "$@"
}

peers() {
  [[ -f "$DIR/peers" ]] || fail "no cluster in $DIR (no $DIR/peers): run start first"
  cat "$DIR/peers"
}

node_count() {
  local list
  list="$(peers)"
  echo $(($(tr -cd ',' <<<"$list" | wc -c) + 1))
}

node_address() {
  peers | cut -d, -f$(($1 + 1))
}

node_pid() {
  local file="$DIR/node-$1.pid"
  [[ -f "$file" ]] && cat "$file"
}

is_running() {
  local pid
  pid="$(node_pid "$1")" || return 1
  kill -0 "$pid" 2>/dev/null
}

check_id() {
  [[ "$1" =~ ^[0-9]+$ ]] && (($1 < $(node_count))) || fail "node id '$1' is not in 0..$(($(node_count) - 1))"
}

wait_listening() {
  local id="$1" address host port
  address="$(node_address "$id")"
  host="${address%:*}"
  port="${address##*:}"
  for ((tries = 0; tries < LISTEN_TIMEOUT_SECONDS * 10; tries++)); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    # A node that exited will never listen: say why now (its address was taken, say).
    is_running "$id" || fail "node $id exited: $(tail -n 1 "$DIR/node-$id.log")"
    sleep 0.1
  done
  fail "nothing listens on $address after $LISTEN_TIMEOUT_SECONDS s"
}

start_node() {
  local id="$1"
  if is_running "$id"; then fail "node $id already runs (pid $(node_pid "$id"))"; fi
  mkdir -p "$DIR/node-$id"
  # The program itself runs in the background (not a function or subshell), so $! is its pid.
  "${DSYS_COMMAND[@]}" kv-server --id "$id" --peers "$(peers)" --data "$DIR/node-$id" \
    --maxraftstate "$(cat "$DIR/maxraftstate")" >>"$DIR/node-$id.log" 2>&1 &
  echo $! >"$DIR/node-$id.pid"
}

command_start() {
  while getopts "n:p:m:" option; do
    case "$option" in
    n) NODES="$OPTARG" ;;
    p) BASE_PORT="$OPTARG" ;;
    m) MAXRAFTSTATE="$OPTARG" ;;
    *) usage 1 ;;
    esac
  done
  [[ "$NODES" =~ ^[0-9]+$ ]] && ((NODES >= 1 && NODES <= 16)) || fail "-n $NODES: expected 1 to 16 nodes"
  [[ "$BASE_PORT" =~ ^[0-9]+$ ]] && ((BASE_PORT >= 1 && BASE_PORT + NODES <= 65535)) ||
    fail "-p $BASE_PORT: expected a port number"
  mkdir -p "$DIR"
  for file in "$DIR"/node-*.pid; do
    [[ -f "$file" ]] && kill -0 "$(cat "$file")" 2>/dev/null && fail "a cluster already runs in $DIR: stop it first"
  done
  local list=""
  for ((id = 0; id < NODES; id++)); do
    list+="${list:+,}127.0.0.1:$((BASE_PORT + id))"
  done
  echo "$list" >"$DIR/peers"
  echo "$MAXRAFTSTATE" >"$DIR/maxraftstate"
  for ((id = 0; id < NODES; id++)); do start_node "$id"; done
  for ((id = 0; id < NODES; id++)); do wait_listening "$id"; done
  echo "started $NODES kv-server nodes: $list (data, logs and pids in $DIR)"
}

command_stop() {
  local count
  count="$(node_count)"
  for ((id = 0; id < count; id++)); do
    if is_running "$id"; then kill -TERM "$(node_pid "$id")"; fi
  done
  for ((tries = 0; tries < STOP_TIMEOUT_SECONDS * 10; tries++)); do
    local running=0
    for ((id = 0; id < count; id++)); do
      if is_running "$id"; then running=1; fi
    done
    ((running == 0)) && break
    sleep 0.1
  done
  for ((id = 0; id < count; id++)); do
    if is_running "$id"; then
      echo "node $id ignored SIGTERM for $STOP_TIMEOUT_SECONDS s: killing it" >&2
      kill -KILL "$(node_pid "$id")"
    fi
    rm -f "$DIR/node-$id.pid"
  done
  echo "stopped the cluster in $DIR"
}

command_kill() {
  [[ $# -eq 1 ]] || usage 1
  check_id "$1"
  is_running "$1" || fail "node $1 does not run"
  local pid
  pid="$(node_pid "$1")"
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$DIR/node-$1.pid"
  echo "killed node $1 (pid $pid) with SIGKILL"
}

command_restart() {
  [[ $# -eq 1 ]] || usage 1
  check_id "$1"
  if is_running "$1"; then command_kill "$1"; fi
  start_node "$1"
  wait_listening "$1"
  echo "restarted node $1 (pid $(node_pid "$1")) on its data folder $DIR/node-$1"
}

command_status() {
  dsys status --servers "$(peers)" "$@"
}

# Puts, appends and gets through the kv command, each result checked.
command_workload() {
  while getopts "k:" option; do
    case "$option" in
    k) KEYS="$OPTARG" ;;
    *) usage 1 ;;
    esac
  done
  local servers tag value
  servers="$(peers)"
  tag="$$-$RANDOM"
  for ((key = 0; key < KEYS; key++)); do
    dsys kv --servers "$servers" put "workload-$key" "value $tag $key"
    dsys kv --servers "$servers" append "workload-$key" " +more"
    value="$(dsys kv --servers "$servers" get "workload-$key")"
    [[ "$value" == "value $tag $key +more" ]] ||
      fail "get workload-$key returned '$value', expected 'value $tag $key +more'"
  done
  echo "workload: $KEYS keys put, appended and read back correctly"
}

main() {
  if [[ "${1:-}" == "-d" ]]; then
    [[ $# -ge 2 ]] || usage 1
    DIR="$2"
    shift 2
  fi
  [[ $# -ge 1 ]] || usage 1
  local command="$1"
  shift
  if [[ "${1:-}" == "-d" ]]; then
    [[ $# -ge 2 ]] || usage 1
    DIR="$2"
    shift 2
  fi
  case "$command" in
  start) command_start "$@" ;;
  stop) command_stop "$@" ;;
  kill) command_kill "$@" ;;
  restart) command_restart "$@" ;;
  status) command_status "$@" ;;
  workload) command_workload "$@" ;;
  kv) dsys kv --servers "$(peers)" "$@" ;;
  -h | --help | help) usage 0 ;;
  *) fail "unknown command '$command' (start, stop, kill, restart, status, workload, kv)" ;;
  esac
}

main "$@"
