# MinIO community edition, built from its Go module (the way MinIO ships it), with the media bucket.
MINIO_BIN=$CHIRP_CACHE/minio-$MINIO_VERSION/minio
MINIO_PIDFILE=$CHIRP_STATE/run/minio.pid
MINIO_LOG=$CHIRP_STATE/logs/minio.log

minio_install() {
  [[ -x $MINIO_BIN ]] && return 0
  command -v go >/dev/null || die "building MinIO needs Go 1.24 or newer on PATH"
  log "building MinIO $MINIO_VERSION with go install (a few minutes, once per user)"
  GOBIN=$(dirname "$MINIO_BIN") GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$MINIO_VERSION"
}

minio_answers() { curl -sf -m 3 -o /dev/null "http://$MINIO_HOST:$MINIO_PORT/minio/health/ready"; }

# Creates the media bucket over the S3 API; an existing bucket is left as it is.
minio_bucket() {
  local url="http://$MINIO_HOST:$MINIO_PORT/$MEDIA_BUCKET" auth=(--user "$MINIO_ROOT_USER:$MINIO_ROOT_PASSWORD" --aws-sigv4 "aws:amz:us-east-1:s3")
  curl -sf -m 10 -o /dev/null -I "${auth[@]}" "$url" && return 0
  curl -sf -m 10 -o /dev/null -X PUT "${auth[@]}" "$url" || die "could not create bucket $MEDIA_BUCKET in MinIO"
  log "bucket $MEDIA_BUCKET created"
}

minio_start() {
  if before_start minio "$MINIO_HOST" "$MINIO_PORT" minio_answers; then
    minio_install
    mkdir -p "$CHIRP_STATE/minio"
    log "starting MinIO on $MINIO_HOST:$MINIO_PORT (log: $MINIO_LOG)"
    MINIO_BROWSER=off spawn "$MINIO_PIDFILE" "$MINIO_LOG" "$MINIO_BIN" server --quiet \
      --address "$MINIO_HOST:$MINIO_PORT" "$CHIRP_STATE/minio"
    wait_for 60 MinIO minio_answers || die "MinIO did not answer within 60 s; see $MINIO_LOG"
  fi
  minio_bucket
}

minio_stop() { stop_pid "$MINIO_PIDFILE" MinIO; }

minio_status() {
  if minio_answers; then echo "minio: up on $MINIO_HOST:$MINIO_PORT"; else echo "minio: down"; return 1; fi
}
