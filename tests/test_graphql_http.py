"""GraphQL over HTTP as its conformance suite checks it: graphql-http's server audits (the npm
package pinned in tests/graphql_http/, installed by scripts/test.sh) against a real app process,
with no failed MUST (error) and no failed SHOULD (warning)."""

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import forget_prefix, isolated_settings
from tests.processes import ROOT, app_process

NPM_PREFIX = ROOT / "tests" / "graphql_http"
AUDIT_SCRIPT = NPM_PREFIX / "audit.mjs"
AUDIT_COUNT = 61  # in graphql-http 1.23.1: every one of them ran


def test_the_graphql_over_http_audits_pass(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed for the graphql-http audits"
    settings = isolated_settings()
    try:
        with app_process(settings, tmp_path / "app.log") as base_url:
            run = subprocess.run(
                [node, str(AUDIT_SCRIPT), f"{base_url}/graphql"],
                capture_output=True,
                text=True,
                timeout=300,
            )
    finally:
        asyncio.run(forget_prefix(settings))
    assert run.returncode == 0, f"{run.stderr}\n(scripts/test.sh installs its packages: npm ci --prefix {NPM_PREFIX})"
    audits = json.loads(run.stdout)["audits"]
    assert len({audit["id"] for audit in audits}) == AUDIT_COUNT, audits
    failed = [
        f"{audit['status']} {audit['id']} {audit['name']}: {audit['reason']}"
        for audit in audits
        if audit["status"] in ("error", "warn")
    ]
    assert not failed, "\n".join(failed)
