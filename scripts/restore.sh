#!/usr/bin/env bash
# Usage: scripts/restore.sh DIR   (a directory written by scripts/backup.sh)
# Puts Chirp back as it was when the backup was taken (docs/operations.md, "Backups"). Stop the API
# processes and the fan-out workers first, and start them again after.
#
# Nothing is touched until the whole backup matches its manifest (every SHA-256). Then: the media
# objects the bucket lacks are put back (first, so that every Media node has its object as soon as
# Neo4j answers); the Neo4j this clone started is stopped (Community loads a dump into a stopped
# DBMS only; one this clone did not start is refused), the dump replaces its database, and it starts
# again; last, Redis forgets what it held, which described the graph of before (feeds/reset.py).
# Running it again redoes the same and ends in the same state, so a failed restore is re-run.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$CHIRP_ROOT/scripts/services/neo4j.sh"

(($# == 1)) || die "usage: scripts/restore.sh DIR"
dir=$(realpath -m "$1")
[[ -f $dir/manifest.json ]] || die "$dir is not a Chirp backup: it has no manifest.json"

# What restoring needs from manifest.json: format, time of the backup, the dump's size and SHA-256.
fields=$(python3 -c 'import json, sys
manifest = json.load(open(sys.argv[1]))
dump = manifest["neo4j"]
print(manifest["format"], manifest["takenAt"], dump["bytes"], dump["sha256"], manifest["versions"]["neo4j"])' \
  "$dir/manifest.json" 2>/dev/null) || die "$dir/manifest.json is not a Chirp backup manifest"
read -r format taken_at dump_bytes dump_sha256 dump_neo4j <<<"$fields"
[[ $format == 1 ]] || die "$dir/manifest.json is in format $format, which this clone does not read"
dump=$dir/neo4j.dump
[[ -f $dump ]] || die "$dir is missing its Neo4j dump, neo4j.dump"
[[ $(stat -c %s "$dump") == "$dump_bytes" && $(sha256sum "$dump" | cut -d' ' -f1) == "$dump_sha256" ]] ||
  die "$dump does not match its size and SHA-256 in the manifest; nothing was restored"
ensure_uv
cd "$CHIRP_ROOT"
"${UV[@]}" sync --locked --quiet
"${UV[@]}" run --locked python -m media.backup check "$dir" || die "$dir does not match its manifest; nothing was restored"
neo4j_refuse_strangers
log "restoring the backup of $taken_at (dumped by Neo4j $dump_neo4j; this clone runs $NEO4J_VERSION)"

"$CHIRP_ROOT/scripts/services.sh" start minio redis
"${UV[@]}" run --locked python -m media.backup restore "$dir" ||
  die "the media bucket is not fully restored; Neo4j and Redis are untouched: run this again"
if pid_alive "$NEO4J_PIDFILE"; then
  log "stopping Neo4j to load the dump"
  neo4j_stop
fi
neo4j_admin database load neo4j --from-path="$dir" --overwrite-destination=true ||
  die "neo4j-admin could not load the dump (see $NEO4J_ADMIN_LOG); Neo4j is left stopped: run this again"
neo4j_start
"${UV[@]}" run --locked python -m feeds.reset ||
  die "Redis still holds what it held before the restore, which no longer matches Neo4j: run this again"
log "restored the backup of $taken_at from $dir; start the API and the fan-out workers"
