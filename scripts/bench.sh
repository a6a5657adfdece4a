#!/usr/bin/env bash
# The benchmark suite: its own Neo4j, Redis and MinIO (own ports and data, so the development
# data stays apart), the data set generated once, then every measurement. Arguments go to
# `python -m bench` (--help lists them). Results: a table on stdout, JSON under bench/results/.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export CHIRP_ENV=development  # its own services, with the development secrets
export CHIRP_STATE=$CHIRP_STATE/bench
export NEO4J_PORT=${BENCH_NEO4J_PORT:-17687} REDIS_PORT=${BENCH_REDIS_PORT:-16379} MINIO_PORT=${BENCH_MINIO_PORT:-19000}
export NEO4J_HEAP=${BENCH_NEO4J_HEAP:-4g} NEO4J_PAGECACHE_MB=${BENCH_NEO4J_PAGECACHE_MB:-4096}
mkdir -p "$CHIRP_STATE/logs" "$CHIRP_STATE/run"
# Not the CDN edge: nothing here reads media, and the edge's port is the development one.
"$CHIRP_ROOT/scripts/services.sh" start neo4j redis minio
command -v wrk >/dev/null || apt_install wrk
# vegeta, the open-loop client of the latency figures (bench/load.py), built from the Go module proxy.
export VEGETA=$CHIRP_CACHE/vegeta-12.13.0/vegeta
if [[ ! -x $VEGETA ]]; then
  command -v go >/dev/null || die "the benchmark needs Go to build vegeta (https://go.dev/dl/)"
  log "building vegeta 12.13.0"
  GOBIN=$(dirname "$VEGETA") go install github.com/tsenart/vegeta/v12@v12.13.0
fi
ensure_uv
cd "$CHIRP_ROOT"
"${UV[@]}" sync --locked --quiet
exec "${UV[@]}" run --locked python -m bench "$@"
