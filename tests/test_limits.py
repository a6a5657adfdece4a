"""Limits on what one request may ask, each tried as an attacker would: refused before any
resolver runs (no Neo4j query is sent), with QUERY_TOO_COMPLEX and the limit it was over."""

from typing import Any

import pytest

from tests.conftest import Account, Api, RunCounter

DEEP = "{ viewer { " + "followers(first: 100) { edges { node { " * 12 + "handle" + " } } }" * 12 + " } }"
COSTLY = """{ homeTimeline(first: 100) { edges { node { id
  replies(first: 100) { edges { node { id author { handle } } } } } } } }"""
HOME = "query($first: Int) { homeTimeline(first: $first) { edges { node { id author { handle } } } } }"


def refusal(body: dict[str, Any]) -> dict[str, Any]:
    """The extensions of the one QUERY_TOO_COMPLEX error of a request error (no data)."""
    assert "data" not in body, body
    (error,) = body["errors"]
    extensions: dict[str, Any] = error["extensions"]
    assert extensions["code"] == "QUERY_TOO_COMPLEX", error
    return extensions


@pytest.fixture
def viewer(api: Api) -> Account:
    """A signed-up viewer whose token has been checked once (its standing is then cached, so that
    later requests send nothing to Neo4j before their resolvers run)."""
    account = api.sign_up()
    api.data("{ __typename }", token=account.token)
    return account


def refused_without_neo4j(
    api: Api, bolt_runs: RunCounter, viewer: Account, query: str, **variables: Any
) -> dict[str, Any]:
    bolt_runs.runs = 0
    extensions = refusal(api.execute(query, variables, viewer.token))
    assert bolt_runs.runs == 0
    return extensions


def test_the_deep_query_is_refused_before_any_neo4j_query(api: Api, bolt_runs: RunCounter, viewer: Account) -> None:
    extensions = refused_without_neo4j(api, bolt_runs, viewer, DEEP)
    assert extensions["depth"] == 38  # viewer, 12 times followers, edges and node, then handle
    assert extensions["maxDepth"] == 20


def test_the_wide_query_is_refused_before_any_neo4j_query(api: Api, bolt_runs: RunCounter, viewer: Account) -> None:
    wide = "{ " + " ".join(f"a{index}: viewer {{ handle }}" for index in range(2000)) + " }"
    extensions = refused_without_neo4j(api, bolt_runs, viewer, wide)
    assert extensions["maxLength"] == 20_000  # past the length, it is not even parsed
    narrower = "{ " + " ".join(f"a{index}: viewer {{ handle }}" for index in range(31)) + " }"
    assert refused_without_neo4j(api, bolt_runs, viewer, narrower) | {"code": None} == {
        "code": None,
        "aliases": 31,
        "maxAliases": 30,
    }


def test_the_costly_query_is_refused_before_any_neo4j_query(api: Api, bolt_runs: RunCounter, viewer: Account) -> None:
    extensions = refused_without_neo4j(api, bolt_runs, viewer, COSTLY)
    # 1 for the connection, then 100 edges of an edge, a node, and its replies: 1, then 100
    # edges of an edge, a node and an author.
    assert extensions["cost"] == 1 + 100 * (1 + 1 + 1 + 100 * 3)
    assert extensions["maxCost"] == 10_000


def test_a_page_size_from_a_variable_is_costed(api: Api, bolt_runs: RunCounter, viewer: Account) -> None:
    body = api.execute(HOME, {"first": 10}, viewer.token)
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1 + 10 * 3
    # Past the largest page, `first` is refused as bad input, as the contract says, not as too costly.
    assert api.error_code(HOME, {"first": 101}, viewer.token) == "BAD_USER_INPUT"


def test_the_actual_cost_counts_what_came_back(api: Api, viewer: Account) -> None:
    author = api.sign_up()
    api.follow(viewer, author)
    api.tweet(author, "one")
    cost = api.execute(HOME, {"first": 20}, viewer.token)["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 61
    assert cost["actualQueryCost"] == 1 + 1 * 3  # the connection, one edge, its node and author
    assert cost["points"] == 1


def test_too_many_tokens_are_not_parsed(api: Api, bolt_runs: RunCounter, viewer: Account) -> None:
    many = "{ viewer { " + "a " * 6000 + "} }"  # within the length, over the tokens
    assert refused_without_neo4j(api, bolt_runs, viewer, many)["maxTokens"] == 5_000


def test_repeated_fields_are_refused_before_validation(api: Api, bolt_runs: RunCounter, viewer: Account) -> None:
    """graphql-core compares every pair of same-named fields: 200 of these took it 1.6 s."""
    repeated = "{ viewer { " + "followers { edges { node { handle } } } " * 200 + "} }"
    extensions = refused_without_neo4j(api, bolt_runs, viewer, repeated)
    assert (extensions["fields"], extensions["maxFields"]) == (801, 500)
    fewer = "{ viewer { " + "followers { edges { node { handle } } } " * 11 + "} }"
    assert refused_without_neo4j(api, bolt_runs, viewer, fewer)["repeatedFields"] == 11


def test_repetition_through_fragments_counts_too(api: Api, bolt_runs: RunCounter, viewer: Account) -> None:
    fragments = " ".join(f"fragment F{index} on User {{ handle }}" for index in range(12))
    spread = " ".join(f"...F{index}" for index in range(12))
    extensions = refused_without_neo4j(api, bolt_runs, viewer, f"{{ viewer {{ {spread} }} }} {fragments}")
    assert extensions["repeatedFields"] == 12


def test_fragments_spread_in_fragments_are_counted_without_expanding_them(
    api: Api, bolt_runs: RunCounter, viewer: Account
) -> None:
    """Each fragment spreads the next one twice: 2**40 fields, measured in a few steps."""
    chain = " ".join(f"fragment F{index} on User {{ ...F{index + 1} ...F{index + 1} }}" for index in range(40))
    query = f"{{ viewer {{ ...F0 }} }} {chain} fragment F40 on User {{ handle }}"
    assert refused_without_neo4j(api, bolt_runs, viewer, query)["fields"] == 1 + 2**40


def test_root_fields_are_bounded(api: Api, bolt_runs: RunCounter, viewer: Account) -> None:
    query = "{ " + " ".join(f"a{index}: __typename" for index in range(11)) + " }"
    assert refused_without_neo4j(api, bolt_runs, viewer, query)["rootFields"] == 11


def test_one_password_operation_per_request(api: Api) -> None:
    account = api.sign_up()
    login = f'logIn(input: {{handle: "{account.handle}", password: "correct horse"}}) {{ token }}'
    extensions = refusal(api.execute(f"mutation {{ a: {login} b: {login} }}"))
    assert (extensions["passwordOperations"], extensions["maxPasswordOperations"]) == (2, 1)
    assert api.data(f"mutation {{ {login} }}")["logIn"]["token"]


def test_huge_variables_are_refused_before_they_are_coerced(api: Api, viewer: Account) -> None:
    create = "mutation($input: CreateTweetInput!) { createTweet(input: $input) { id } }"
    body = api.execute(create, {"input": {"text": "hello", "mediaIds": ["x"] * 100_000}}, viewer.token)
    assert refusal(body)["maxVariableValues"] == 1_000


def test_introspection_is_free_and_bounded(api: Api) -> None:
    fields = "name type { name }"
    ok = api.execute(f"{{ __schema {{ types {{ name fields {{ {fields} }} }} }} }}")
    assert ok["extensions"]["cost"]["requestedQueryCost"] == 0
    nested = "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }"
    assert api.error_code(nested) == "BAD_USER_INPUT"  # graphql-core's MaxIntrospectionDepthRule
