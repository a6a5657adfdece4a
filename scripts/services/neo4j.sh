# Neo4j Community (LTS) from its Maven Central jars, run by scripts/neo4j/ChirpNeo4j.java.
NEO4J_DIST=$CHIRP_CACHE/neo4j-$NEO4J_VERSION
NEO4J_SRC=$CHIRP_ROOT/scripts/neo4j
NEO4J_PIDFILE=$CHIRP_STATE/run/neo4j.pid
NEO4J_LOG=$CHIRP_STATE/logs/neo4j.log

neo4j_launcher_dir() { echo "$NEO4J_DIST/launcher-$(sha256sum "$NEO4J_SRC/ChirpNeo4j.java" | cut -c1-12)"; }

neo4j_install() {
  command -v java >/dev/null || die "Neo4j needs a JDK 17 (java and javac on PATH)"
  command -v mvn >/dev/null || apt_install maven
  if [[ ! -f $NEO4J_DIST/lib/.complete ]]; then
    log "fetching Neo4j $NEO4J_VERSION jars from Maven Central into $NEO4J_DIST/lib"
    rm -rf "$NEO4J_DIST/lib"
    mvn -q -B -f "$NEO4J_SRC/pom.xml" -Dneo4j.version="$NEO4J_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$NEO4J_DIST/lib" >&2
    touch "$NEO4J_DIST/lib/.complete"
  fi
  local launcher
  launcher=$(neo4j_launcher_dir)
  if [[ ! -f $launcher/ChirpNeo4j.class ]]; then
    log "compiling the Neo4j launcher"
    mkdir -p "$launcher"
    javac -cp "$NEO4J_DIST/lib/*" -d "$launcher" "$NEO4J_SRC/ChirpNeo4j.java"
  fi
}

# A Bolt handshake: the server must answer with the protocol version it picked.
neo4j_answers() {
  local reply
  reply=$(
    { exec 3<>"/dev/tcp/$NEO4J_HOST/$NEO4J_PORT"; } 2>/dev/null || exit 1
    printf '\x60\x60\xb0\x17\x00\x00\x06\x05\x00\x00\x04\x04\x00\x00\x00\x00\x00\x00\x00\x00' >&3
    timeout 3 head -c 4 <&3 | od -An -tx1 | tr -d ' \n'
  ) || return 1
  [[ -n $reply && $reply != 00000000 ]]
}

neo4j_ready() {
  pid_alive "$NEO4J_PIDFILE" || die "Neo4j exited during start-up; see $NEO4J_LOG"
  neo4j_answers && grep -q 'Neo4j ready' "$NEO4J_LOG"
}

neo4j_start() {
  before_start neo4j "$NEO4J_HOST" "$NEO4J_PORT" neo4j_answers || return 0
  neo4j_install
  mkdir -p "$CHIRP_STATE/neo4j"
  : >"$NEO4J_LOG"
  log "starting Neo4j $NEO4J_VERSION on $NEO4J_HOST:$NEO4J_PORT (log: $NEO4J_LOG)"
  spawn "$NEO4J_PIDFILE" "$NEO4J_LOG" java -Xms256m "-Xmx$NEO4J_HEAP" -XX:+UseG1GC \
    -cp "$(neo4j_launcher_dir):$NEO4J_DIST/lib/*" ChirpNeo4j "$CHIRP_STATE/neo4j" "$NEO4J_HOST" "$NEO4J_PORT"
  wait_for 180 Neo4j neo4j_ready || die "Neo4j did not answer within 180 s; see $NEO4J_LOG"
}

neo4j_stop() { stop_pid "$NEO4J_PIDFILE" Neo4j; }

neo4j_status() {
  if neo4j_answers; then echo "neo4j: up on $NEO4J_HOST:$NEO4J_PORT"; else echo "neo4j: down"; return 1; fi
}

# neo4j-admin (database dump, load, ...) from the same jars, on this clone's Neo4j home, which must
# be stopped: Community's dump and load work on an offline DBMS only. Its output goes to its own log.
NEO4J_ADMIN_LOG=$CHIRP_STATE/logs/neo4j-admin.log
neo4j_admin() {
  neo4j_install
  mkdir -p "$CHIRP_STATE/neo4j"
  printf '\n== %s neo4j-admin %s\n' "$(date -u +%FT%TZ)" "$*" >>"$NEO4J_ADMIN_LOG"
  NEO4J_HOME=$CHIRP_STATE/neo4j NEO4J_CONF=$CHIRP_STATE/neo4j/conf java "-Xmx$NEO4J_HEAP" \
    -cp "$NEO4J_DIST/lib/*" org.neo4j.cli.AdminTool "$@" >>"$NEO4J_ADMIN_LOG" 2>&1
}

# Dies unless the Neo4j on the configured port, if any, is the one this clone started: the backup
# and the restore stop it, and someone else's Neo4j is not ours to stop.
neo4j_refuse_strangers() {
  if neo4j_answers && ! pid_alive "$NEO4J_PIDFILE"; then
    die "the Neo4j on $NEO4J_HOST:$NEO4J_PORT was not started by this clone (no live pid in $NEO4J_PIDFILE): it is not ours to stop"
  fi
}
