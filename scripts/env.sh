# Sourced by the scripts: every setting they read, with the same defaults as settings.py.
# Override any of them in the environment (docker-compose.yml uses the same names).
CHIRP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CHIRP_STATE=${CHIRP_STATE:-$CHIRP_ROOT/.chirp}                    # data, logs, pids (git-ignored)
export CHIRP_CACHE=${CHIRP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chirp}  # downloads and builds, per user
export GRAPHIQL_ASSETS_DIR=${GRAPHIQL_ASSETS_DIR:-$CHIRP_CACHE/graphiql-3.8.3}   # GraphiQL's files (scripts/graphiql.sh)

export NEO4J_HOST=${NEO4J_HOST:-127.0.0.1}
export NEO4J_PORT=${NEO4J_PORT:-7687}
export NEO4J_USER=${NEO4J_USER:-neo4j}
export NEO4J_PASSWORD=${NEO4J_PASSWORD:-chirp-dev-password}
export NEO4J_HEAP=${NEO4J_HEAP:-1g}
export NEO4J_PAGECACHE_MB=${NEO4J_PAGECACHE_MB:-512}

export REDIS_HOST=${REDIS_HOST:-127.0.0.1}
export REDIS_PORT=${REDIS_PORT:-6379}
export REDIS_PASSWORD=${REDIS_PASSWORD:-}

export MINIO_HOST=${MINIO_HOST:-127.0.0.1}
export MINIO_PORT=${MINIO_PORT:-9000}
export MINIO_ROOT_USER=${MINIO_ROOT_USER:-chirp}
export MINIO_ROOT_PASSWORD=${MINIO_ROOT_PASSWORD:-chirp-dev-secret}
export MEDIA_BUCKET=${MEDIA_BUCKET:-chirp-media}

export CDN_HOST=${CDN_HOST:-127.0.0.1}  # the caching edge (nginx) in front of MinIO
export CDN_PORT=${CDN_PORT:-8080}

export API_HOST=${API_HOST:-127.0.0.1}
export API_PORT=${API_PORT:-8000}

# Pinned versions: changing one makes the scripts fetch or build it once more.
NEO4J_VERSION=5.26.30
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

# uv uses the machine's Python: these machines reach no Python download host.
export UV_PYTHON_DOWNLOADS=${UV_PYTHON_DOWNLOADS:-never}
