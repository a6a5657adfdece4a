"""GraphiQL as a person uses it: a real headless Chromium (Debian's, driven by Playwright) opens /graphql of a
uvicorn process, runs a query through the editor and shows the server's answer, loading nothing from elsewhere."""

import json
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Request, expect, sync_playwright
from strawberry.http.ides import get_graphql_ide_html

import graphiql
from settings import Settings
from tests.processes import app_process

STRAWBERRY_PAGE = get_graphql_ide_html("graphiql")
QUERY = 'query { user(handle: "%s") { handle displayName } }'


def sign_up(base_url: str, handle: str) -> None:
    mutation = "mutation($input: SignUpInput!) { signUp(input: $input) { token } }"
    variables = {"input": {"handle": handle, "displayName": f"Name {handle}", "password": "correct horse"}}
    response = httpx.post(f"{base_url}/graphql", json={"query": mutation, "variables": variables}, timeout=10)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text


def run_in_graphiql(page: Page, query: str) -> str:
    """Replaces the editor's text with the query, presses the run button; returns the result pane's text."""
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(query)  # as a paste: no bracket auto-closing
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".graphiql-response .CodeMirror")
    expect(result).to_contain_text('"data"', timeout=10_000)
    text: str = result.evaluate("element => element.CodeMirror.getValue()")
    return text


def test_graphiql_runs_a_query_in_chromium(settings: Settings, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is installed by scripts/test.sh"
    handle = f"g{uuid.uuid4().hex[:12]}"
    requests: list[str] = []
    errors: list[str] = []

    def record(request: Request) -> None:
        requests.append(request.url)

    with app_process(settings, tmp_path / "app.log") as base_url, sync_playwright() as playwright:
        sign_up(base_url, handle)
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = browser.new_page()
            page.on("request", record)
            page.on("requestfailed", lambda request: errors.append(f"failed: {request.url}"))
            page.on("pageerror", lambda error: errors.append(f"error: {error}"))
            response = page.goto(f"{base_url}/graphql")
            assert response is not None
            assert response.ok, response.text()
            expect(page.locator(".graphiql-query-editor .CodeMirror")).to_be_visible(timeout=15_000)

            shown = run_in_graphiql(page, QUERY % handle)
        finally:
            browser.close()

    assert json.loads(shown)["data"] == {"user": {"handle": handle, "displayName": f"Name {handle}"}}
    assert errors == []
    hosts = {urlsplit(url).hostname for url in requests if urlsplit(url).scheme in ("http", "https")}
    assert hosts == {"127.0.0.1"}, requests
    loaded = {urlsplit(url).path for url in requests}
    assert {f"{graphiql.MOUNT}/{file}" for file in graphiql.FILES} <= loaded
    assert "/graphql" in loaded


@pytest.mark.parametrize(
    "html",
    [
        STRAWBERRY_PAGE.replace("graphiql@3.8.3", "graphiql@3.9.0"),  # another version of a file
        STRAWBERRY_PAGE.replace("</head>", '<script src="https://cdn.example.org/x.js"></script></head>'),  # one more
    ],
)
def test_a_changed_strawberry_page_stops_the_app(html: str) -> None:
    with pytest.raises(RuntimeError):
        graphiql.local_page(html)


def test_missing_files_say_what_to_run(tmp_path: Path) -> None:
    response = graphiql.page(tmp_path)
    assert response.status_code == 503
    assert b"scripts/graphiql.sh" in response.body
