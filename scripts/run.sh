#!/usr/bin/env bash
# Starts Chirp with everything it needs (services, API, fan-out worker) and prints the GraphiQL URL.
# Ctrl-C stops the API; the services keep running (scripts/services.sh stop ends them).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Development mode: the shipped development secrets are accepted (production refuses them; deployment.py).
export CHIRP_ENV=development
"$CHIRP_ROOT/scripts/services.sh" start
"$CHIRP_ROOT/scripts/graphiql.sh"
ensure_uv
cd "$CHIRP_ROOT"
"${UV[@]}" sync --locked --quiet
if port_open "$API_HOST" "$API_PORT"; then
  die "port $API_PORT (the API) is held by another program ($(port_holder "$API_PORT")); stop it or set API_PORT"
fi

# The API and the worker share their metrics through this folder (see metrics.py).
export PROMETHEUS_MULTIPROC_DIR=$CHIRP_STATE/metrics
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
"${UV[@]}" run --locked python -m feeds.worker &
pids+=($!)
"${UV[@]}" run --locked uvicorn app:app --host "$API_HOST" --port "$API_PORT" &
pids+=($!)
api_answers() { curl -sf -m 2 -o /dev/null "http://$API_HOST:$API_PORT/readyz"; }
wait_for 60 "Chirp API" api_answers || die "the API did not become ready within 60 s"
log "GraphiQL: http://$API_HOST:$API_PORT/graphql"
wait -n "${pids[@]}"
