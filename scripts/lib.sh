# Sourced by the scripts: small helpers shared by every service.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
mkdir -p "$CHIRP_STATE/logs" "$CHIRP_STATE/run" "$CHIRP_CACHE"

log() { printf '[chirp] %s\n' "$*" >&2; }
die() { printf '[chirp] error: %s\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on host:port.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Who listens on a port, for error messages ("unknown" when ss cannot tell).
port_holder() {
  local who
  who=$(ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n1)
  printf '%s' "${who:-unknown}"
}

# wait_for SECONDS WHAT COMMAND...: retry COMMAND every half second until it succeeds.
wait_for() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
  log "$what answers"
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid PIDFILE NAME: TERM, wait up to 60 s for a clean shutdown, then KILL.
stop_pid() {
  local pidfile=$1 name=$2 pid
  if ! pid_alive "$pidfile"; then
    log "$name is not running from this clone"
    rm -f "$pidfile"
    return 0
  fi
  pid=$(cat "$pidfile")
  kill -TERM "$pid"
  for _ in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop in 60 s; killing it"
    kill -KILL "$pid"
  fi
  rm -f "$pidfile"
  log "$name stopped"
}

# spawn PIDFILE LOGFILE COMMAND...: start a detached process that outlives this script.
spawn() {
  local pidfile=$1 logfile=$2; shift 2
  setsid nohup "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

# before_start NAME HOST PORT ANSWERS_FN [PORT_VARIABLE]: 0 = start ours, 1 = already served;
# dies if a stranger holds the port (PORT_VARIABLE, NAME_PORT by default, is the one to change).
before_start() {
  local name=$1 host=$2 port=$3 answers=$4 variable=${5:-${1^^}_PORT}
  if "$answers"; then
    if pid_alive "$CHIRP_STATE/run/$name.pid"; then
      log "$name already running from this clone on $host:$port"
    else
      log "$name already answers on $host:$port; using it as it is"
    fi
    return 1
  fi
  if port_open "$host" "$port"; then
    die "port $port ($name) is held by another program ($(port_holder "$port")), which does not answer as $name; stop it or set $variable"
  fi
  return 0
}

apt_install() {
  local sudo=""
  ((EUID == 0)) || sudo=sudo
  log "installing Debian packages: $*"
  $sudo apt-get install -y -qq "$@" >/dev/null 2>&1 || {
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "$@" >/dev/null
  }
}

# Sets UV to a command that runs uv, installing uv with pip when it is missing.
ensure_uv() {
  if command -v uv >/dev/null; then
    UV=(uv)
    return
  fi
  # The interpreter behind python3: inside the project's venv (a script a test runs), python3 is the
  # venv's, which has neither uv nor pip.
  local python
  python=$(python3 -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')
  if ! "$python" -m uv --version >/dev/null 2>&1; then
    log "installing uv with pip"
    "$python" -m pip install --quiet --user uv 2>/dev/null || "$python" -m pip install --quiet uv
  fi
  UV=("$python" -m uv)
}
