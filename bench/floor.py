"""The floor: the same homeTimeline query executed in-process by the bare Strawberry schema over
objects already hydrated, with no I/O at all. No engine can serve the query faster than this.

Each viewer's context is warmed by one real execution, which fills its DataLoaders; later
executions reuse that context, so every load is a cache hit, the page of ids comes from memory
instead of an engine, and admission (the token's standing and the budget, a Redis call) is
what the first execution found.
"""

import time
from unittest import mock

import resolvers.admission
import resolvers.timeline
from bench.load import QUERY
from feeds.budgets import Admitted
from graph.records import Page
from resolvers.clients import Clients
from resolvers.context import Context
from schema import schema


async def floor_rate(clients: Clients, tokens: list[str], seconds: float) -> float:
    """Executions per second over the viewers' warmed contexts, round robin."""
    contexts: list[Context] = []
    pages: dict[int, Page] = {}
    real = resolvers.timeline.home_timeline

    async def remembered(ctx: Context, first: int | None, after: str | None) -> Page:
        if id(ctx) not in pages:
            pages[id(ctx)] = await real(ctx, first, after)
        return pages[id(ctx)]

    admitted: dict[int, Admitted] = {}
    real_admit = resolvers.admission.admit

    async def remembered_admission(ctx: Context, points: int) -> Admitted:
        if id(ctx) not in admitted:
            admitted[id(ctx)] = await real_admit(ctx, points)
        return admitted[id(ctx)]

    with (
        mock.patch.object(resolvers.timeline, "home_timeline", remembered),
        mock.patch("schema.admission.admit", remembered_admission),
    ):
        for token in tokens:
            context = Context(clients=clients, authorization=f"Bearer {token}")
            result = await schema.execute(QUERY, context_value=context)
            assert result.errors is None, result.errors
            contexts.append(context)
        executed = 0
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < deadline:
            result = await schema.execute(QUERY, context_value=contexts[executed % len(contexts)])
            assert result.errors is None, result.errors
            executed += 1
        return executed / (time.perf_counter() - started)
