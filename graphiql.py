"""GraphiQL served whole by this app: Strawberry's page, loading its scripts and styles from the copies of
their npm packages that scripts/graphiql.sh keeps (under MOUNT) instead of unpkg.com, which many machines
cannot reach."""

import re
from pathlib import Path

from starlette.responses import HTMLResponse, PlainTextResponse, Response
from strawberry.http.ides import get_graphql_ide_html

MOUNT = "/graphiql-assets"
UNPKG = "https://unpkg.com/"
# Every file Strawberry's page loads, as <package>@<version>/<path> on unpkg.com and under the assets
# folder alike. The page's integrity attributes stay: they hash these very files, so the browser checks
# the local copies as it would unpkg's. When a new Strawberry names other files, update FILES, the packages
# in scripts/graphiql.sh and the folder's name (settings.py, scripts/env.sh).
FILES = (
    "react@18.2.0/umd/react.production.min.js",
    "react-dom@18.2.0/umd/react-dom.production.min.js",
    "js-cookie@3.0.5/dist/js.cookie.min.js",
    "graphiql@3.8.3/graphiql.min.css",
    "@graphiql/plugin-explorer@1.0.2/dist/style.css",
    "graphiql@3.8.3/graphiql.min.js",
    "@graphiql/plugin-explorer@1.0.2/dist/index.umd.js",
)


def local_page(html: str) -> str:
    """The page with each of FILES taken from MOUNT. Raises when the page no longer names one of them, or
    names anything else to fetch from another host (a new Strawberry): never a silent fall-back to unpkg."""
    for file in FILES:
        url = f'"{UNPKG}{file}"'
        if url not in html:
            raise RuntimeError(f"Strawberry's GraphiQL page no longer loads {url}: see graphiql.py")
        html = html.replace(url, f'"{MOUNT}/{file}"')
    remote = re.findall(r'(?:src|href)\s*=\s*"((?:https?:)?//[^"]*)"', html)
    if remote or UNPKG in html:
        raise RuntimeError(f"Strawberry's GraphiQL page loads files from elsewhere: {remote or UNPKG}; see graphiql.py")
    return html


# Built at import, so that a Strawberry whose page changed stops the app at start-up.
PAGE = local_page(get_graphql_ide_html("graphiql"))


def page(assets_dir: Path) -> Response:
    """The page, or a 503 that says what to run while the files it loads are not there."""
    missing = [file for file in FILES if not (assets_dir / file).is_file()]
    if missing:
        message = f"GraphiQL's files are missing from {assets_dir} ({missing[0]}, ...): run scripts/graphiql.sh\n"
        return PlainTextResponse(message, status_code=503)
    return HTMLResponse(PAGE)
