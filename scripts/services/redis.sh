# Redis 7 from Debian's redis-server package, configured by scripts/redis.conf.
REDIS_PIDFILE=$CHIRP_STATE/run/redis.pid
REDIS_LOG=$CHIRP_STATE/logs/redis.log

redis_install() { command -v redis-server >/dev/null || apt_install redis-server; }

redis_answers() {
  command -v redis-cli >/dev/null || return 1
  [[ $(REDISCLI_AUTH=$REDIS_PASSWORD timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

redis_start() {
  before_start redis "$REDIS_HOST" "$REDIS_PORT" redis_answers || return 0
  redis_install
  mkdir -p "$CHIRP_STATE/redis"
  log "starting Redis on $REDIS_HOST:$REDIS_PORT (log: $REDIS_LOG)"
  local auth=()
  [[ -z $REDIS_PASSWORD ]] || auth=(--requirepass "$REDIS_PASSWORD")
  redis-server "$CHIRP_ROOT/scripts/redis.conf" --bind "$REDIS_HOST" --port "$REDIS_PORT" \
    --dir "$CHIRP_STATE/redis" --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" "${auth[@]}"
  wait_for 30 Redis redis_answers || die "Redis did not answer within 30 s; see $REDIS_LOG"
}

redis_stop() { stop_pid "$REDIS_PIDFILE" Redis; }

redis_status() {
  if redis_answers; then echo "redis: up on $REDIS_HOST:$REDIS_PORT"; else echo "redis: down"; return 1; fi
}
