"""Authorization, generated from the running schema: every mutation sent anonymously, and every ID
argument that names someone's object aimed at another user's.

A new mutation, or a new ID argument, joins the matrix without anyone writing a line. One the
generator cannot build arguments for, or whose ID names a type with no maker (tests/owned.py),
fails here with what to teach it; it is never skipped.
"""

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
    is_leaf_type,
    is_required_argument,
    is_required_input_field,
)
from neo4j import AsyncDriver

from schema import schema
from settings import Settings
from tests.conftest import Account, Api, drain
from tests.owned import Owned
from tests.test_media import small_png
from tests.test_mutations import snapshot


def mutation_fields() -> dict[str, GraphQLField]:
    mutation_type = schema._schema.mutation_type
    assert mutation_type is not None
    return dict(mutation_type.fields)


MUTATIONS = mutation_fields()

# What a caller without a token must reach: how a token is had in the first place.
ANONYMOUS_BY_DESIGN = {"signUp", "logIn"}

# What an ID argument names, by its name. A bare `id` names the type the mutation's name ends
# with (editTweet, deleteTweet: a Tweet).
ID_TYPES = {
    "userId": "User",
    "tweetId": "Tweet",
    "inReplyToId": "Tweet",
    "mediaIds": "Media",
    "avatarMediaId": "Media",
    "uploadId": "MediaUpload",
    "upToId": "Notification",
}

# ID arguments meant for another user's object: following someone, liking, retweeting or
# replying to their tweet is the point.
OTHERS_BY_DESIGN = {
    "follow.userId",
    "unfollow.userId",
    "like.tweetId",
    "unlike.tweetId",
    "retweet.tweetId",
    "undoRetweet.tweetId",
    "createTweet.input.inReplyToId",
    "dismissSuggestion.userId",
    "undoDismissSuggestion.userId",
}

# Owner-only ID arguments refused with NOT_FOUND rather than FORBIDDEN: another user's object is
# not even revealed to exist. Every other owner-only one is FORBIDDEN.
NOT_REVEALED = {
    "completeMediaUpload.uploadId": "an upload is looked for under its owner's own prefix: another's is not there",
    "markNotificationsRead.upToId": "only its recipient ever sees a notification (node(id) is null to anyone else)",
}

# Values for the other arguments: any that pass coercion (the checks of who asks come first).
PLAIN = {"String": "x", "Int": 1, "Float": 1.0, "Boolean": True}


@dataclass(frozen=True)
class IdSlot:
    """Where a mutation takes an ID: an argument, or a field of an input object argument."""

    mutation: str
    path: tuple[str, ...]  # the argument, then input fields
    required: bool

    @property
    def name(self) -> str:
        return ".".join((self.mutation, *self.path))

    @property
    def object_type(self) -> str:
        """The type of object it names: by ID_TYPES, or, for a bare `id`, by the mutation's name."""
        argument = self.path[-1]
        found = re.search(r"[A-Z]\w*$", self.mutation) if argument == "id" else None
        type_name = found.group() if found else ID_TYPES.get(argument)
        assert type_name, f"{self.name}: which object type does it name? Add {argument!r} to ID_TYPES"
        return type_name


def id_slots(mutation: str) -> list[IdSlot]:
    def walk(type_: GraphQLInputType, path: tuple[str, ...], required: bool, seen: frozenset[str]) -> Iterator[IdSlot]:
        named = get_named_type(type_)
        if isinstance(named, GraphQLScalarType) and named.name == "ID":
            yield IdSlot(mutation, path, required)
        elif isinstance(named, GraphQLInputObjectType) and named.name not in seen:
            for name, input_field in named.fields.items():
                inner = required and is_required_input_field(input_field)
                yield from walk(input_field.type, (*path, name), inner, seen | {named.name})

    arguments = MUTATIONS[mutation].args.items()
    return [
        slot
        for name, argument in arguments
        for slot in walk(argument.type, (name,), is_required_argument(argument), frozenset())
    ]


SLOTS = [slot for mutation in MUTATIONS for slot in id_slots(mutation)]


class Request:
    """A mutation with a value for each required argument, and the given ids where they go."""

    def __init__(self, mutation: str, ids: dict[tuple[str, ...], str]) -> None:
        self.mutation = mutation
        self.ids = ids
        self.field = MUTATIONS[mutation]
        self.files: dict[str, tuple[str, bytes, str]] = {}  # filled in by value()
        self.arguments = [
            name
            for name, argument in self.field.args.items()
            if is_required_argument(argument) or any(path[0] == name for path in ids)
        ]
        self.variables = {name: self.value(self.field.args[name].type, (name,), name) for name in self.arguments}

    def value(self, type_: GraphQLInputType, path: tuple[str, ...], where: str) -> Any:
        """A valid value at path (argument, then input fields); `where` is its place in the variables."""
        nullable = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if path in self.ids:
            return [self.ids[path]] if isinstance(nullable, GraphQLList) else self.ids[path]
        if isinstance(nullable, GraphQLList):
            return [self.value(nullable.of_type, path, f"{where}.0")]
        if isinstance(nullable, GraphQLInputObjectType):
            return {
                name: self.value(input_field.type, (*path, name), f"{where}.{name}")
                for name, input_field in nullable.fields.items()
                if is_required_input_field(input_field)
                or any(given[: len(path) + 1] == (*path, name) for given in self.ids)
            }
        if isinstance(nullable, GraphQLEnumType):
            return next(iter(nullable.values))
        if isinstance(nullable, GraphQLScalarType) and nullable.name == "Upload":
            self.files[f"variables.{where}"] = ("small.png", small_png(), "image/png")
            return None
        if isinstance(nullable, GraphQLScalarType) and nullable.name in PLAIN:
            return PLAIN[nullable.name]
        raise AssertionError(f"{'.'.join((self.mutation, *path))}: no value for a {nullable}: teach Request.value one")

    @property
    def query(self) -> str:
        definitions = ", ".join(f"${name}: {self.field.args[name].type}" for name in self.arguments)
        call = ", ".join(f"{name}: ${name}" for name in self.arguments)
        selection = "" if is_leaf_type(get_named_type(self.field.type)) else " { __typename }"
        if not self.arguments:
            return f"mutation {{ {self.mutation}{selection} }}"
        return f"mutation({definitions}) {{ {self.mutation}({call}){selection} }}"

    def send(self, api: Api, token: str | None) -> dict[str, Any]:
        body: dict[str, Any] = api.post(self.query, self.variables, token, self.files).json()
        return body


async def request_aimed_at(owned: Owned, slot: IdSlot, owner: Account, viewer: Account) -> Request:
    """The slot's mutation with the owner's object at the slot, and the viewer's own wherever else
    an id is required."""
    others = [other for other in id_slots(slot.mutation) if other.required and other != slot]
    ids = {other.path: await owned.make(other.object_type, viewer) for other in others}
    ids[slot.path] = await owned.make(slot.object_type, owner)
    return Request(slot.mutation, ids)


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


def test_the_allow_lists_name_what_the_schema_has() -> None:
    """An entry left behind by a renamed or removed mutation would silently excuse its successor."""
    assert set(MUTATIONS) >= ANONYMOUS_BY_DESIGN
    names = {slot.name for slot in SLOTS}
    assert names >= OTHERS_BY_DESIGN | set(NOT_REVEALED)
    assert not OTHERS_BY_DESIGN & set(NOT_REVEALED)


@pytest.mark.parametrize("mutation", sorted(set(MUTATIONS) - ANONYMOUS_BY_DESIGN))
async def test_every_mutation_wants_a_viewer(api: Api, settings: Settings, mutation: str) -> None:
    """Its ids name real objects, so that UNAUTHENTICATED is not a NOT_FOUND in disguise."""
    owner, owned = api.sign_up(), Owned(api, settings)
    ids = {slot.path: await owned.make(slot.object_type, owner) for slot in id_slots(mutation) if slot.required}
    body = Request(mutation, ids).send(api, token=None)
    assert error_codes(body) == ["UNAUTHENTICATED"], body


@pytest.mark.parametrize("slot", [slot for slot in SLOTS if slot.name in OTHERS_BY_DESIGN], ids=lambda slot: slot.name)
async def test_what_is_meant_for_another_users_object_takes_it(api: Api, settings: Settings, slot: IdSlot) -> None:
    owner, viewer, owned = api.sign_up(), api.sign_up(), Owned(api, settings)
    body = (await request_aimed_at(owned, slot, owner, viewer)).send(api, viewer.token)
    assert "errors" not in body, body


@pytest.mark.parametrize(
    "slot", [slot for slot in SLOTS if slot.name not in OTHERS_BY_DESIGN], ids=lambda slot: slot.name
)
async def test_another_users_object_is_refused_and_untouched(
    api: Api, settings: Settings, neo4j: AsyncDriver, slot: IdSlot
) -> None:
    owner, intruder, owned = api.sign_up(), api.sign_up(), Owned(api, settings)
    request = await request_aimed_at(owned, slot, owner, intruder)
    target = request.ids[slot.path]

    async def state() -> tuple[Any, list[str]]:
        """The object as its owner reads it, and both users' graph, once the worker is idle."""
        await asyncio.to_thread(drain, settings)
        return owned.read_back(slot.object_type, target, owner), await snapshot(neo4j, owner, intruder)

    before = await state()
    body = request.send(api, intruder.token)
    assert error_codes(body) == ["NOT_FOUND" if slot.name in NOT_REVEALED else "FORBIDDEN"], body
    assert await state() == before
