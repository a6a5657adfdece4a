"""Admission, after the query limits and before any resolver: the token's standing and the
request's points (resolvers/admission.py), the IETF RateLimit headers, and extensions.cost.

Over HTTP, extensions.cost follows Shopify's names: requestedQueryCost (schema/cost.py), actualQueryCost
(the objects the answer holds, counted the same way), maximumQueryCost, the points spent and the
budget's throttleStatus.
"""

import math
from collections.abc import AsyncIterator
from typing import Any

from graphql import FieldNode, GraphQLError, get_operation_ast
from strawberry.extensions import SchemaExtension

from errors import RateLimited
from resolvers.admission import admit, points_of
from resolvers.context import Context

REFUSED_POINTS = 1  # what a refused or invalid request spends


def count_objects(data: object) -> int:
    """Objects in an answer's data, the data object itself left out."""
    count, stack = 0, [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            count += 1
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return max(0, count - 1)


class Admission(SchemaExtension):
    async def on_validate(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context: Context = execution.context
        refused = bool(execution.pre_execution_errors)
        admitted = await admit(context, REFUSED_POINTS if refused else points_of(context.query_cost))
        context.admitted = admitted
        if context.response is not None:
            budget, charge = admitted.budget, admitted.charge
            headers = context.response.headers
            headers["RateLimit-Policy"] = f'"{admitted.policy}";q={budget.limit};w={budget.period}'
            headers["RateLimit"] = f'"{admitted.policy}";r={charge.remaining};t={math.ceil(charge.reset_after)}'
            if not charge.allowed:
                headers["Retry-After"] = str(math.ceil(charge.retry_after))
        if not admitted.charge.allowed:
            error = RateLimited(
                f"this request needs {admitted.points} points and the budget has {admitted.charge.remaining}; "
                f"try again in {math.ceil(admitted.charge.retry_after)} s",
                admitted.charge.retry_after,
            )
            execution.pre_execution_errors = [
                GraphQLError(str(error), extensions={"code": error.code, **error.extensions})
            ]
        yield

    def get_results(self) -> dict[str, Any]:
        execution = self.execution_context
        context: Context = execution.context
        admitted = context.admitted
        if admitted is None or context.response is None:  # WebSocket messages go without
            return {}
        return {
            "cost": {
                "requestedQueryCost": context.query_cost,
                "actualQueryCost": self.actual_cost(),
                "maximumQueryCost": context.clients.settings.max_query_cost,
                "points": admitted.points,
                "throttleStatus": {
                    "maximumAvailable": admitted.budget.limit,
                    "currentlyAvailable": admitted.charge.remaining,
                    "restoreRate": admitted.budget.limit / admitted.budget.period,
                },
            }
        }

    def actual_cost(self) -> int:
        """The objects in the answer, introspection's left out (it costs nothing requested either)."""
        execution = self.execution_context
        result = execution.result
        data = getattr(result, "data", None)
        if not isinstance(data, dict) or execution.graphql_document is None:
            return 0
        operation = get_operation_ast(execution.graphql_document, execution.operation_name)
        introspection = {
            (selection.alias or selection.name).value
            for selection in (operation.selection_set.selections if operation else ())
            if isinstance(selection, FieldNode) and selection.name.value.startswith("__")
        }
        return count_objects({key: value for key, value in data.items() if key not in introspection})
