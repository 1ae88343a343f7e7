# Machine mode: a swarm node on this machine (docs/swarm.md "Machine mode").
#
# A POSIX sh library of functions only (sourcing it runs nothing). The
# machine-manager.sh.tmpl and machine-worker.sh.tmpl init scripts include it
# and call machine_main; spec/functional/docker_support.lua sources it for
# machine_import_busybox. Keep it free of double braces: templates include
# it verbatim.
#
# A node is one dockerd of its own, everything under NODE=$IK_SWARM_ROOT/ADDR:
#   owner        "PID STARTTIME" of the script holding the address (the lock)
#   role         manager | worker
#   daemon.json  key path (own engine ID), labels (INFRAKIT_LABELS), shutdown timeout
#   data/ exec/  --data-root, --exec-root (containerd lives under exec/)
#   docker.sock docker.pid dockerd.log node.id
# listening for the swarm on its own loopback address ADDR (127.0.0.N:2377).
#
# Addresses. A manager's address is its logical ID. A worker claims the
# first free 127.0.0.N, N in IK_SWARM_WORKER_RANGE (default 21-254): the
# claim is `mkdir NODE` (atomic: one winner), then the owner file. A node
# directory whose owner is dead (pid gone, or reused: the start time in
# /proc/PID/stat differs) is stale: under a second lock (mkdir NODE.reclaim)
# the claimer re-checks, reaps it (kills its dockerd, shims and container
# processes, unmounts, removes it) and claims the address again.
#
# Life: claim -> daemon.json -> dockerd -> API up -> import bb:1 (before
# joining: every engine has its own image store) -> swarm init / join ->
# wait on dockerd. When dockerd dies (a crash, SIGKILL) or the instance is
# destroyed (SIGTERM to the process group), the script asks a live manager
# to `node rm --force` its node (so a dead node does not linger as Down),
# reaps what dockerd left and removes NODE; the instance then exits, and
# the group controller replaces it.

machine_log() { echo "machine $MACHINE_ADDR: $*"; }

# The start time (clock ticks since boot) of pid $1, empty when it is gone.
machine_starttime() {
  sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20
}

# Whether the owner recorded in node dir $1 is dead (the directory is stale).
# A directory without an owner file yet (claimed a moment ago) is stale only
# when older than 30 s.
machine_stale() {
  if [ ! -f "$1/owner" ]; then
    [ -d "$1" ] || return 1
    [ $(($(date +%s) - $(stat -c %Y "$1" 2>/dev/null || date +%s))) -gt 30 ]
    return
  fi
  set -- "$1" $(cat "$1/owner" 2>/dev/null)
  [ -n "$2" ] || return 0
  [ "$(machine_starttime "$2")" != "$3" ]
}

# Kill what a node directory $1 still runs - its dockerd, the container
# processes (found by their cgroup, named by the container IDs under
# DIR/data/containers: their root and command line say nothing of DIR), then
# containerd and the shims (their command lines name DIR/exec) - remove the
# containers' cgroups, unmount what is mounted below DIR (deepest first) and
# remove it. Never this script itself.
machine_reap() {
  _d=$1
  [ -n "$_d" ] && [ -d "$_d" ] || return 0
  if [ -f "$_d/docker.pid" ]; then kill -KILL "$(cat "$_d/docker.pid")" 2>/dev/null; fi
  _ids=$(ls "$_d/data/containers" 2>/dev/null)
  for _id in $_ids; do
    for _p in $(grep -l "$_id" /proc/[0-9]*/cgroup 2>/dev/null); do
      _p=${_p#/proc/}
      kill -KILL "${_p%/cgroup}" 2>/dev/null
    done
  done
  for _p in $(pgrep -f "$_d/exec/" 2>/dev/null) $(pgrep -f "$_d/data" 2>/dev/null); do
    [ "$_p" = "$$" ] || kill -KILL "$_p" 2>/dev/null
  done
  for _id in $_ids; do
    for _g in /sys/fs/cgroup/*/docker/"$_id" /sys/fs/cgroup/docker/"$_id"; do
      [ -d "$_g" ] || continue
      _i=0
      until rmdir "$_g" 2>/dev/null || [ $_i -ge 20 ]; do sleep 0.1; _i=$((_i + 1)); done
    done
  done
  grep -F " $_d/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r _m; do
    umount -l "$_m" 2>/dev/null
  done
  rm -rf "$_d"
}

# Claim address $1 under root $2: 0 when this script now holds it.
machine_claim() {
  _node="$2/$1"
  if mkdir "$_node" 2>/dev/null; then
    echo "$$ $(machine_starttime $$)" >"$_node/owner"
    return 0
  fi
  machine_stale "$_node" || return 1
  # Stale: one claimer reaps it, under NODE.reclaim (itself stale after 30 s).
  if ! mkdir "$_node.reclaim" 2>/dev/null; then
    if [ $(($(date +%s) - $(stat -c %Y "$_node.reclaim" 2>/dev/null || date +%s))) -gt 30 ]; then
      rmdir "$_node.reclaim" 2>/dev/null
    fi
    return 1
  fi
  if machine_stale "$_node"; then
    echo "machine: reaping stale $_node (owner $(cat "$_node/owner" 2>/dev/null || echo none) is gone)"
    machine_reap "$_node"
  fi
  rmdir "$_node.reclaim"
  if mkdir "$_node" 2>/dev/null; then
    echo "$$ $(machine_starttime $$)" >"$_node/owner"
    return 0
  fi
  return 1
}

# A worker's address: the first free 127.0.0.N with N in "$IK_SWARM_WORKER_RANGE".
machine_claim_worker() {
  _range=${IK_SWARM_WORKER_RANGE:-21-254}
  _n=${_range%-*}
  while [ "$_n" -le "${_range#*-}" ]; do
    if machine_claim "127.0.0.$_n" "$1"; then
      MACHINE_ADDR="127.0.0.$_n"
      return 0
    fi
    _n=$((_n + 1))
  done
  return 1
}

# Import busybox-static's binary and its applet links as image $2 (default
# bb:1, PATH=/bin) into the engine at $1 (a -H value), building the rootfs
# in $3 (default a temporary directory, removed after): an image without a
# registry. Each engine has its own image store.
machine_import_busybox() {
  _root=${3:-$(mktemp -d)}/bb-rootfs
  rm -rf "$_root" && mkdir -p "$_root/bin" && cp "$(command -v busybox)" "$_root/bin/busybox" || return 1
  for _a in $("$_root/bin/busybox" --list); do
    [ "$_a" = busybox ] || ln -s busybox "$_root/bin/$_a"
  done
  tar -C "$_root" -c . | docker -H "$1" import -c 'ENV PATH=/bin' - "${2:-bb:1}" >/dev/null
  _rc=$?
  rm -rf "$_root"
  return $_rc
}

# The engine of this node: docker -H unix://NODE/docker.sock ARGS.
machine_docker() { docker -H "unix://$NODE/docker.sock" "$@"; }

# Remove this node from the swarm through any live manager (not itself):
# a node that is gone must not linger as Down. Bounded: a manager without
# quorum would block.
machine_leave_swarm() {
  [ -s "$NODE/node.id" ] || return 0
  for _m in "$IK_SWARM_ROOT"/*/role; do
    [ "$(cat "$_m" 2>/dev/null)" = manager ] || continue
    _h="unix://${_m%/role}/docker.sock"
    [ "${_m%/role}" = "$NODE" ] && continue
    [ -S "${_m%/role}/docker.sock" ] || continue
    if timeout 5 docker -H "$_h" node rm --force "$(cat "$NODE/node.id")" >/dev/null 2>&1; then
      machine_log "removed node $(cat "$NODE/node.id") through ${_m%/role}"
      return 0
    fi
  done
}

# At exit, whatever the cause: stop dockerd (TERM, then KILL after 20 s),
# leave the swarm, reap and remove NODE (which releases the address).
machine_exit() {
  trap - TERM INT HUP EXIT
  if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
    kill -TERM "$DOCKERD_PID" 2>/dev/null
    _i=0
    while kill -0 "$DOCKERD_PID" 2>/dev/null && [ $_i -lt 200 ]; do sleep 0.1; _i=$((_i + 1)); done
  fi
  machine_leave_swarm
  [ -n "$NODE" ] && machine_reap "$NODE"
  machine_log "cleaned up"
}

machine_die() {
  machine_log "error: $*"
  [ -f "$NODE/dockerd.log" ] && tail -5 "$NODE/dockerd.log"
  machine_exit
  exit 1
}

# The whole life of a node. The including template sets:
#   MACHINE_ROLE       manager | worker
#   MACHINE_ADDR       a manager's address (its logical ID); empty for workers
#   MACHINE_INIT       true to `swarm init` (the bootstrap manager), else join
#   MACHINE_JOIN_ADDR  a manager's swarm address (SWARM_MANAGER_ADDR)
#   MACHINE_TOKEN      the join token for this role
#   MACHINE_LABELS     the engine labels, a JSON list of "k=v"
# and the instance's environment: IK_SWARM_ROOT (required),
# IK_SWARM_WORKER_RANGE, IK_SWARM_IMAGE (default bb:1).
machine_main() {
  [ -n "$IK_SWARM_ROOT" ] || { echo "machine: IK_SWARM_ROOT is not set (the instance's Env)"; exit 1; }
  mkdir -p "$IK_SWARM_ROOT" || exit 1
  NODE= DOCKERD_PID=
  trap 'machine_exit; exit 0' TERM INT HUP
  if [ "$MACHINE_ROLE" = manager ]; then
    case "$MACHINE_ADDR" in
      127.*) ;;
      *) echo "machine: manager logical ID \"$MACHINE_ADDR\" is not a loopback address 127.x.y.z"; exit 1 ;;
    esac
    # A previous instance of this pet may still be cleaning up: wait a little.
    _i=0
    until machine_claim "$MACHINE_ADDR" "$IK_SWARM_ROOT"; do
      _i=$((_i + 1))
      [ $_i -lt 100 ] || { echo "machine: $MACHINE_ADDR is held by $(cat "$IK_SWARM_ROOT/$MACHINE_ADDR/owner")"; exit 1; }
      sleep 0.2
    done
  else
    machine_claim_worker "$IK_SWARM_ROOT" || { echo "machine: no free address in ${IK_SWARM_WORKER_RANGE:-21-254}"; exit 1; }
  fi
  NODE="$IK_SWARM_ROOT/$MACHINE_ADDR"
  echo "$MACHINE_ROLE" >"$NODE/role"
  machine_log "claimed $NODE ($MACHINE_ROLE)"

  # Engine labels: the flavor's (INFRAKIT_LABELS: EngineLabels and the
  # infrakit_link the flavor's Healthy looks for) and the node's address.
  _labels=$(printf '%s' "${MACHINE_LABELS:-[]}" | tr -d '\n')
  if [ "$(printf '%s' "$_labels" | tr -d ' \t')" = "[]" ]; then
    _labels="[\"infrakit_machine=$MACHINE_ADDR\"]"
  else
    _labels="[\"infrakit_machine=$MACHINE_ADDR\", ${_labels#*[}"
  fi
  printf '{"deprecated-key-path": "%s", "shutdown-timeout": 2, "labels": %s}\n' \
    "$NODE/key.json" "$_labels" >"$NODE/daemon.json"
  dockerd --config-file "$NODE/daemon.json" --data-root "$NODE/data" --exec-root "$NODE/exec" \
    -H "unix://$NODE/docker.sock" --pidfile "$NODE/docker.pid" --iptables=false --bridge=none \
    >>"$NODE/dockerd.log" 2>&1 </dev/null &
  DOCKERD_PID=$!
  _i=0
  until machine_docker version >/dev/null 2>&1; do
    kill -0 "$DOCKERD_PID" 2>/dev/null || machine_die "dockerd exited"
    _i=$((_i + 1))
    [ $_i -lt 300 ] || machine_die "dockerd did not answer within 30 s"
    sleep 0.1
  done
  machine_import_busybox "unix://$NODE/docker.sock" "${IK_SWARM_IMAGE:-bb:1}" "$NODE" ||
    machine_die "importing busybox failed"

  if [ "$MACHINE_INIT" = true ]; then
    machine_docker swarm init --advertise-addr "$MACHINE_ADDR" --listen-addr "$MACHINE_ADDR:2377" >/dev/null ||
      machine_die "swarm init failed"
    # A dead node is seen Down in ~3 s instead of ~10 s.
    machine_docker swarm update --dispatcher-heartbeat 1s >/dev/null || machine_die "swarm update failed"
    machine_log "initialised the swarm"
  else
    [ -n "$MACHINE_TOKEN" ] && [ -n "$MACHINE_JOIN_ADDR" ] || machine_die "no swarm to join (not initialised yet)"
    machine_docker swarm join --token "$MACHINE_TOKEN" --advertise-addr "$MACHINE_ADDR" \
      --listen-addr "$MACHINE_ADDR:2377" "$MACHINE_JOIN_ADDR" >/dev/null || machine_die "swarm join $MACHINE_JOIN_ADDR failed"
    machine_log "joined $MACHINE_JOIN_ADDR as a $MACHINE_ROLE"
  fi
  machine_docker info 2>/dev/null | sed -n 's/^ *NodeID: *//p' >"$NODE/node.id"

  # Live as long as dockerd: a signal interrupts wait (the trap cleans up).
  wait "$DOCKERD_PID"
  machine_log "dockerd exited"
  machine_exit
  exit 1
}
