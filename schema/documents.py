"""Query documents, prepared once per text: parsed within the length and token limits, then
measured, validated and costed per operation, each once.

Clients send the same few documents over and over, so each step's outcome is kept with the text
(at most CACHED documents: unique texts cannot grow memory without limit). A new text is parsed
and validated in a worker thread: both are pure Python whose time grows with the document, and
the event loop must keep serving meanwhile.
"""

import asyncio
import re
from collections import OrderedDict
from dataclasses import dataclass, field

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    get_operation_ast,
    parse,
    validate,
)

from errors import QueryTooComplex
from schema.cost import FieldCost, Plan, plan_operation
from schema.shape import Shape, measure_operation

CACHED = 256
INLINE_PARSE_LENGTH = 2_000  # shorter texts parse in well under a millisecond: no thread needed
TOO_MANY_TOKENS = re.compile(r"more than \d+ tokens")


@dataclass(frozen=True)
class ParseLimits:
    length: int | None
    tokens: int | None


@dataclass(eq=False)
class Prepared:
    document: DocumentNode
    shapes: dict[tuple[str | None, int], Shape] = field(default_factory=dict)
    validated: dict[tuple[type[ASTValidationRule], ...], list[GraphQLError]] = field(default_factory=dict)
    plans: dict[str | None, Plan] = field(default_factory=dict)

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        return get_operation_ast(self.document, name)

    def shape(self, operation: OperationDefinitionNode, fields_cap: int) -> Shape:
        key = (operation.name.value if operation.name else None, fields_cap)
        if key not in self.shapes:
            self.shapes[key] = measure_operation(self.document, operation, fields_cap)
        return self.shapes[key]

    async def validate(self, schema: GraphQLSchema, rules: tuple[type[ASTValidationRule], ...]) -> list[GraphQLError]:
        if rules not in self.validated:
            self.validated[rules] = await asyncio.to_thread(validate, schema, self.document, rules)
        return self.validated[rules]

    def plan(
        self, costs: dict[str, dict[str, FieldCost]], schema: GraphQLSchema, operation: OperationDefinitionNode
    ) -> Plan:
        """The cost plan of a valid operation."""
        key = operation.name.value if operation.name else None
        if key not in self.plans:
            self.plans[key] = plan_operation(costs, schema, self.document, operation)
        return self.plans[key]


_prepared: OrderedDict[tuple[str, ParseLimits], Prepared] = OrderedDict()


async def prepare(text: str, limits: ParseLimits) -> Prepared:
    """The parsed document; QueryTooComplex past a limit, GraphQLSyntaxError when it does not parse."""
    key = (text, limits)
    found = _prepared.get(key)
    if found is not None:
        _prepared.move_to_end(key)
        return found
    if limits.length is not None and len(text) > limits.length:
        raise QueryTooComplex(
            f"the query is {len(text)} characters long, more than {limits.length}; "
            "send a persisted query's hash instead",
            length=len(text),
            maxLength=limits.length,
        )
    try:
        document = (
            parse(text, max_tokens=limits.tokens)
            if len(text) <= INLINE_PARSE_LENGTH
            else (await asyncio.to_thread(parse, text, max_tokens=limits.tokens))
        )
    except GraphQLSyntaxError as error:
        if TOO_MANY_TOKENS.search(error.message):
            raise QueryTooComplex(f"the query has more than {limits.tokens} tokens", maxTokens=limits.tokens) from None
        raise
    prepared = _prepared[key] = Prepared(document)
    while len(_prepared) > CACHED:
        _prepared.popitem(last=False)
    return prepared
