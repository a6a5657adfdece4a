"""Limits on the query itself, all checked before any resolver runs.

Parsing stops at max_query_length characters and max_query_tokens tokens. Then, on the syntax
tree alone (schema/shape.py): depth, aliases, fields, root fields, fields repeated under one
name, and at most one password operation. Then validation, and the requested cost
(schema/cost.py) against max_query_cost. A refusal is QUERY_TOO_COMPLEX, with extensions naming
what was over and its maximum (cost and maxCost, depth and maxDepth, ...).
"""

from collections.abc import AsyncIterator
from functools import cache

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    NameNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    specified_rules,
)
from graphql.validation import MaxIntrospectionDepthRule
from strawberry.extensions import SchemaExtension

from errors import QueryTooComplex
from resolvers.context import Context
from schema.cost import FieldCost, field_costs
from schema.documents import ParseLimits, Prepared, prepare
from schema.errors import with_code
from schema.shape import Shape
from settings import Settings

RULES = tuple(dict.fromkeys((*specified_rules, MaxIntrospectionDepthRule)))  # graphql-core may list it already
RULES_WITHOUT_INTROSPECTION = (*RULES, NoSchemaIntrospectionCustomRule)


def placeholder(operation_name: str | None) -> DocumentNode:
    """Stands in for a document refused at parsing, so that Strawberry carries on to validation,
    where the refusal is reported as any validation error is (no data, the same on every transport)."""
    return DocumentNode(
        definitions=(
            OperationDefinitionNode(
                operation=OperationType.QUERY,
                name=None if operation_name is None else NameNode(value=operation_name),
                variable_definitions=(),
                directives=(),
                selection_set=SelectionSetNode(selections=(FieldNode(name=NameNode(value="__typename")),)),
            ),
        )
    )


def refusal(error: QueryTooComplex) -> GraphQLError:
    return GraphQLError(str(error), extensions={"code": error.code, **error.extensions})


def shape_refusal(shape: Shape, settings: Settings) -> QueryTooComplex | None:
    """The first limit the operation's shape is over, if any."""
    over = [
        ("depth", shape.depth, settings.max_query_depth, "is nested {} deep; at most {}"),
        ("aliases", shape.aliases, settings.max_query_aliases, "has {} aliases; at most {}"),
        ("fields", shape.fields, settings.max_query_fields, "selects {} fields; at most {}"),
    ]
    if shape.details is not None:
        over += [
            ("rootFields", shape.details.root_fields, settings.max_root_fields, "has {} root fields; at most {}"),
            (
                "repeatedFields",
                shape.details.repeated,
                settings.max_repeated_fields,
                "repeats a field {} times; at most {}",
            ),
            ("passwordOperations", shape.details.password_operations, 1, "has {} password operations; at most {}"),
        ]
    for name, value, limit, message in over:
        if value > limit:
            maximum = "max" + name[0].upper() + name[1:]
            return QueryTooComplex(f"the operation {message.format(value, limit)}", **{name: value, maximum: limit})
    return None


def more_values_than(variables: object, limit: int) -> bool:
    """Whether the variables hold more than `limit` values (lists and objects count with what
    they hold); stops counting past the limit, so a huge list costs no more than a small one."""
    count, stack = 0, [variables]
    while stack:
        value = stack.pop()
        count += 1
        if count > limit + 1:  # the variables object itself is not a value
            return True
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


@cache
def costs_of(schema: GraphQLSchema) -> dict[str, dict[str, FieldCost]]:
    return field_costs(schema)


class QueryLimits(SchemaExtension):
    """Parses through the prepared-documents cache, checks every limit on the query, validates,
    and leaves the requested cost on the context (context.query_cost) for admission."""

    prepared: Prepared | None = None
    refused: GraphQLError | None = None

    async def on_parse(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context: Context = execution.context
        settings = context.clients.settings
        if execution.query is not None:
            limits = ParseLimits(settings.max_query_length, settings.max_query_tokens)
            try:
                self.prepared = await prepare(
                    execution.query, limits if settings.query_limits else ParseLimits(None, None)
                )
                execution.graphql_document = self.prepared.document
            except QueryTooComplex as error:
                self.refused = refusal(error)
            except GraphQLSyntaxError as error:
                self.refused = with_code(error, "BAD_USER_INPUT")
            if self.refused is not None:
                execution.graphql_document = placeholder(execution.operation_name)
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        execution = self.execution_context
        execution.pre_execution_errors = await self.errors()
        yield

    async def errors(self) -> list[GraphQLError]:
        if self.refused is not None or self.prepared is None:
            return [] if self.refused is None else [self.refused]
        execution = self.execution_context
        context: Context = execution.context
        settings = context.clients.settings
        operation = self.prepared.operation(execution.operation_name)
        if operation is None:  # Strawberry refuses a missing operation before validation
            return []
        shape = self.prepared.shape(operation, settings.max_query_fields)
        context.root_fields = shape.details.root_keys if shape.details is not None else frozenset()
        if settings.query_limits:
            over = shape_refusal(shape, settings)
            if over is None and more_values_than(execution.variables, settings.max_variable_values):
                over = QueryTooComplex(
                    f"the variables hold more than {settings.max_variable_values} values",
                    maxVariableValues=settings.max_variable_values,
                )
            if over is not None:
                return [refusal(over)]
        schema = execution.schema._schema
        errors = await self.prepared.validate(schema, RULES if settings.introspection else RULES_WITHOUT_INTROSPECTION)
        if errors:
            return errors
        context.query_cost = self.prepared.plan(costs_of(schema), schema, operation).cost(
            execution.variables or {}, settings.max_page_size
        )
        if settings.query_limits and context.query_cost > settings.max_query_cost:
            return [
                refusal(
                    QueryTooComplex(
                        f"the query would cost {context.query_cost}; at most {settings.max_query_cost} "
                        "(each object 1, each connection's edges times its `first`)",
                        cost=context.query_cost,
                        maxCost=settings.max_query_cost,
                    )
                )
            ]
        return []
