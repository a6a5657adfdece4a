"""Schemathesis fuzzes a real app process over HTTP, against the real services: queries and
mutations generated from the schema the app introspects, valid and invalid, sent anonymously, with
a viewer's bearer token, and with a token the viewer logged out, asking for application/json or
application/graphql-response+json. About half their ids name real objects, the viewer's and another
user's, and their strings are often handles or tweets, so that mutations get past NOT_FOUND and
BAD_USER_INPUT; the rest are made up or any text.

No answer may be a 5xx or an INTERNAL_SERVER_ERROR, use a code outside the contract's, or carry
anything internal in an error; the app logs no traceback or warning. FUZZ_OPERATIONS raises how
many operations are sent (1,000 at least), and the test checks that they were.
"""

import asyncio
import json
import os
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from graphql import ValueNode
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode, Response
from schemathesis.core.result import Ok
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.scalars import CUSTOM_SCALARS
from schemathesis.specs.graphql.schemas import GraphQLSchema

from schema.errors import CONTRACT_CODES
from settings import Budget, Settings
from tests.conftest import Account, Api, forget_prefix, isolated_settings, leaks
from tests.owned import Owned
from tests.processes import app_process
from tests.test_mutations import RETWEET, global_id, mutate
from tests.test_tokens import LOG_OUT, log_in

FUZZ_OPERATIONS = max(1000, int(os.environ.get("FUZZ_OPERATIONS", "1000")))  # raised, never lowered
PLENTY = Budget(10**6, 60)
# Clients written before GraphQL over HTTP, and those that ask for its status codes.
ACCEPT = ["application/json", "application/graphql-response+json"]
# They revoke the token they are sent with (or might): the fuzzer's viewer logs in again after each.
REVOKING = {"Mutation.logOut", "Mutation.changePassword"}


@pytest.fixture
def fuzz_settings() -> Iterator[Settings]:
    """Budgets the fuzzer cannot spend, so that it probes the API rather than the rate limits
    (tests/test_rate_limits.py checks those)."""
    test_settings = isolated_settings(
        budget_viewer=PLENTY,
        budget_anonymous=PLENTY,
        budget_tweets=PLENTY,
        budget_follows=PLENTY,
        budget_likes=PLENTY,
        budget_uploads=PLENTY,
        budget_upload_tickets=PLENTY,
        budget_failed_logins=PLENTY,
        budget_failed_logins_ip=PLENTY,
        max_open_upload_tickets=10**6,
    )
    yield test_settings
    asyncio.run(forget_prefix(test_settings))


async def real_ids(owned: Owned, viewer: Account, other: Account) -> list[str]:
    """An object of each type for the viewer and for the other user, and a retweet and a reply across them."""
    ids = [await owned.make(type_name, owner) for type_name in owned.makers for owner in (viewer, other)]
    theirs = await owned.make("Tweet", other)
    ids.append(mutate(owned.api, RETWEET, {"id": theirs}, viewer.token)["id"])
    ids.append(owned.api.tweet(other, "a reply", inReplyToId=await owned.make("Tweet", viewer)))
    return ids


def id_values(real: list[str], type_names: list[str]) -> st.SearchStrategy[ValueNode]:
    """A real id about half the time, each as likely (drawn outside Hypothesis, which favours the
    first of a list); else a made-up one (a type with any number, in range or not) or any text."""
    picker = random.Random()
    made_up = st.builds(global_id, st.sampled_from([*type_names, "Cursor", ""]), st.integers(-(2**64), 2**64))
    return st.one_of(st.builds(lambda: picker.choice(real)), made_up | st.text(max_size=30)).map(nodes.String)


def string_values(viewer: Account, other: Account) -> st.SearchStrategy[ValueNode]:
    """A user's handle, a fresh one, a tweet with a hashtag and a mention, or any text. Never the
    viewer's password: a changed one would lock the fuzzer out."""
    handles = st.sampled_from([viewer.handle, other.handle])
    fresh = st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True)
    tweets = st.builds("{} #{} @{}".format, st.text(max_size=40), fresh, handles)
    return st.one_of(handles, fresh, tweets, st.text()).map(nodes.String)


@dataclass
class Tally:
    """What the fuzzer sent and what came back."""

    sent: int = 0
    operations: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)  # answered without an error
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def record(self, case: Case[Any], response: Response, credentials: str, accept: str) -> None:
        self.sent += 1
        self.operations[case.operation.label] += 1
        self.statuses[response.status_code] += 1
        query = case.body if isinstance(case.body, str) else repr(case.body)
        request = f"{credentials}, accepting {accept}: {query}"
        if response.status_code >= 500:
            self.problems.append(f"HTTP {response.status_code} {request} -> {response.text}")
        try:
            body = response.json()
        except ValueError:  # refused at the door, in plain text
            self.codes["(no JSON)"] += 1
            self.check_leaks(request, response.text)
            if response.status_code < 400:
                self.problems.append(f"HTTP {response.status_code} but no JSON: {request} -> {response.text}")
            return
        if not isinstance(body, dict):
            self.problems.append(f"not a GraphQL response: {request} -> {response.text}")
            return
        if not body.get("errors"):
            self.accepted[case.operation.label] += 1
        for error in body.get("errors") or []:
            code = str((error.get("extensions") or {}).get("code"))
            self.codes[code] += 1
            if code not in CONTRACT_CODES or code == "INTERNAL_SERVER_ERROR":
                self.problems.append(f"{code}: {request} -> {error}")
            self.check_leaks(request, json.dumps(error, ensure_ascii=False))

    def check_leaks(self, request: str, shown: str) -> None:
        """What looks internal, unless it is the client's own text sent back (an unknown field, say)."""
        leaked = [word for word in leaks(shown) if word.lower() not in request.lower()]
        if leaked:
            self.problems.append(f"leaked {leaked}: {request} -> {shown}")


class Fuzzer:
    def __init__(self, schema: GraphQLSchema, api: Api, viewer: Account, url: str) -> None:
        self.schema = schema
        self.api = api
        self.viewer = viewer
        self.url = url
        self.tokens = {"valid token": viewer.token, "revoked token": log_in(api, viewer)}
        api.data(LOG_OUT, token=self.tokens["revoked token"])
        self.tally = Tally()

    def run(self, operations: int) -> Tally:
        cases = st.one_of(
            self.schema.as_strategy(GenerationMode.POSITIVE), self.schema.as_strategy(GenerationMode.NEGATIVE)
        )

        # Generation only: nothing is raised inside, so there is nothing to shrink or replay.
        @settings(
            max_examples=operations,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        # Hypothesis favours the first of each list: the valid token, which mutations need.
        @given(case=cases, credentials=st.sampled_from([*self.tokens, "anonymous"]), accept=st.sampled_from(ACCEPT))
        def send(case: Case[Any], credentials: str, accept: str) -> None:
            token = self.tokens.get(credentials)
            headers = {"Accept": accept} | ({"Authorization": f"Bearer {token}"} if token else {})
            self.tally.record(case, case.call(base_url=self.url, headers=headers), credentials, accept)
            if credentials == "valid token" and case.operation.label in REVOKING:
                self.tokens[credentials] = log_in(self.api, self.viewer)

        send()
        return self.tally


def test_fuzzing_finds_no_server_error_and_no_leak(
    fuzz_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "app.log"
    with app_process(fuzz_settings, log) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        api = Api(client)  # type: ignore[arg-type]
        viewer, other = api.sign_up(), api.sign_up()
        owned = Owned(api, fuzz_settings)
        real = asyncio.run(real_ids(owned, viewer, other))
        # Schemathesis' scalar strategies (schemathesis.graphql.scalar), for this test only. Files go up
        # in multipart requests (tests/test_media.py); here an Upload is a string, which is bad input.
        monkeypatch.setitem(CUSTOM_SCALARS, "ID", id_values(real, list(owned.makers)))
        monkeypatch.setitem(CUSTOM_SCALARS, "String", string_values(viewer, other))
        monkeypatch.setitem(CUSTOM_SCALARS, "Upload", st.text(max_size=20).map(nodes.String))
        schema = schemathesis.graphql.from_url(f"{base_url}/graphql")
        labels = {operation.ok().label for operation in schema.get_all_operations() if isinstance(operation, Ok)}
        tally = Fuzzer(schema, api, viewer, f"{base_url}/graphql").run(FUZZ_OPERATIONS)

    print(f"\n{tally.sent} operations; HTTP statuses {dict(tally.statuses)}; error codes {dict(tally.codes)}")
    print(f"sent {dict(tally.operations)}\nanswered without an error {dict(tally.accepted)}")
    assert tally.sent >= FUZZ_OPERATIONS
    assert set(tally.operations) == labels  # every query and mutation, none dropped by the generator
    assert any(label.startswith("Mutation.") for label in tally.accepted)  # some went through
    assert tally.problems == []
    app_log = log.read_text(errors="replace")
    assert app_log.count('"POST /graphql HTTP/1.1"') >= FUZZ_OPERATIONS  # the app answered them all
    assert [line for line in app_log.splitlines() if re.search(r"Traceback|Warning\b", line)] == []
