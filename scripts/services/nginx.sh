# The CDN edge: Debian's nginx as a caching proxy in front of MinIO, configured by
# scripts/nginx/cdn.conf.template. Everything it writes (config, cache, temp files) stays under
# $CHIRP_STATE, so it runs as any user and never touches /etc/nginx, /var/log/nginx or /run.
NGINX_DIR=$CHIRP_STATE/nginx
NGINX_PIDFILE=$CHIRP_STATE/run/nginx.pid
NGINX_LOG=$CHIRP_STATE/logs/nginx.log
NGINX_ACCESS_LOG=$CHIRP_STATE/logs/nginx-access.log

# Debian puts nginx in /usr/sbin, which is not on a normal user's PATH.
nginx_bin() { PATH=$PATH:/usr/sbin command -v nginx; }

nginx_install() {
  nginx_bin >/dev/null || apt_install nginx
  command -v envsubst >/dev/null || apt_install gettext-base
}

# The health location, from an nginx: the API's /healthz says "ok" too.
nginx_answers() {
  local reply
  reply=$(curl -sfi -m 3 "http://$CDN_HOST:$CDN_PORT/healthz" 2>/dev/null) || return 1
  [[ ${reply,,} == *$'\r\nserver: nginx\r\n'* && $reply == *$'\r\n\r\nok' ]]
}

# nginx.conf around the rendered template: the paths that nginx would otherwise take from its
# build (/var/lib/nginx, /var/log/nginx, /run/nginx.pid) all point into $CHIRP_STATE.
nginx_config() {
  mkdir -p "$NGINX_DIR/tmp" "$NGINX_DIR/cache"
  # Only these names are filled: the template's other $words are nginx's own variables.
  # shellcheck disable=SC2016
  CDN_CACHE_DIR=$NGINX_DIR/cache envsubst '${CDN_HOST} ${CDN_PORT} ${MINIO_HOST} ${MINIO_PORT} ${CDN_CACHE_DIR}' \
    <"$CHIRP_ROOT/scripts/nginx/cdn.conf.template" >"$NGINX_DIR/cdn.conf"
  {
    # Run as root, the workers would switch to nobody and could not write the cache.
    ((EUID != 0)) || echo "user $(id -un) $(id -gn);"
    cat <<CONF
worker_processes 1;
pid "$NGINX_PIDFILE";
error_log "$NGINX_LOG" warn;
events { worker_connections 1024; }
http {
    access_log "$NGINX_ACCESS_LOG";
    client_body_temp_path "$NGINX_DIR/tmp/body";
    proxy_temp_path "$NGINX_DIR/tmp/proxy";
    fastcgi_temp_path "$NGINX_DIR/tmp/fastcgi";
    uwsgi_temp_path "$NGINX_DIR/tmp/uwsgi";
    scgi_temp_path "$NGINX_DIR/tmp/scgi";
    include "$NGINX_DIR/cdn.conf";
}
CONF
  } >"$NGINX_DIR/nginx.conf"
}

nginx_start() {
  before_start nginx "$CDN_HOST" "$CDN_PORT" nginx_answers CDN_PORT || return 0
  nginx_install
  nginx_config
  log "starting nginx on $CDN_HOST:$CDN_PORT, caching MinIO at $MINIO_HOST:$MINIO_PORT (log: $NGINX_LOG)"
  # Daemonizes itself and writes $NGINX_PIDFILE; -e keeps even start-up errors out of /var/log/nginx.
  "$(nginx_bin)" -p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_LOG" ||
    die "nginx did not start; see $NGINX_LOG"
  wait_for 30 nginx nginx_answers || die "nginx did not answer within 30 s; see $NGINX_LOG"
}

nginx_stop() { stop_pid "$NGINX_PIDFILE" nginx; }

nginx_status() {
  if nginx_answers; then echo "nginx: up on $CDN_HOST:$CDN_PORT"; else echo "nginx: down"; return 1; fi
}
