#!/usr/bin/env bash
# The whole test suite (lint, types, pytest) against the real services, starting them first if needed.
# Arguments go to pytest. pytest exits 5 when it collects no test, so an empty run fails too.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Development mode: the shipped development secrets are accepted (production refuses them; deployment.py).
export CHIRP_ENV=development
"$CHIRP_ROOT/scripts/services.sh" start
"$CHIRP_ROOT/scripts/graphiql.sh"
# The browser test (tests/test_graphiql.py) drives Debian's Chromium with Playwright: no browser download.
command -v chromium >/dev/null || apt_install chromium
# The GraphQL-over-HTTP audits (tests/test_graphql_http.py) are graphql-http's, run by Node at the versions locked there.
command -v npm >/dev/null || apt_install nodejs npm
ensure_uv
cd "$CHIRP_ROOT"
"${UV[@]}" sync --locked --quiet
npm ci --prefix tests/graphql_http --no-audit --no-fund --silent
"${UV[@]}" run --locked ruff check .
"${UV[@]}" run --locked ruff format --check --quiet .
"${UV[@]}" run --locked mypy .
exec "${UV[@]}" run --locked pytest "$@"
