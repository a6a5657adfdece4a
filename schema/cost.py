"""The requested cost of an operation, GitHub- and Shopify-style, read off the schema's @cost and
@listSize directives (schema/directives.py): each object costs 1 and each scalar nothing, unless
@cost says otherwise; a list costs its size times an item, and a connection's edges number its
`first` (or that argument's default). Introspection costs nothing (graphql-core's
MaxIntrospectionDepthRule bounds it).

An operation is compiled once into a plan; only the sizes taken from variables are looked up for
each request.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    is_composite_type,
)

from schema.directives import Cost, ListSize


@dataclass(frozen=True)
class FieldCost:
    type_name: str | None  # the named type it returns when composite; None for scalars and enums
    weight: int
    is_list: bool
    assumed_size: int | None
    slicing_argument: str | None
    slicing_default: int
    sized_fields: tuple[str, ...]


def field_costs(schema: GraphQLSchema) -> dict[str, dict[str, FieldCost]]:
    """For every object and interface type, what each of its fields costs."""
    costs: dict[str, dict[str, FieldCost]] = {}
    for type_name, graphql_type in schema.type_map.items():
        if type_name.startswith("__") or not is_composite_type(graphql_type) or not hasattr(graphql_type, "fields"):
            continue
        costs[type_name] = {}
        for field_name, definition in graphql_type.fields.items():
            strawberry_field = (definition.extensions or {}).get("strawberry-definition")
            directives = getattr(strawberry_field, "directives", ()) or ()
            weights = [int(directive.weight) for directive in directives if isinstance(directive, Cost)]
            sizes = [directive for directive in directives if isinstance(directive, ListSize)]
            size = sizes[0] if sizes else ListSize()
            named, is_list = definition.type, False
            while isinstance(named, GraphQLNonNull | GraphQLList):
                is_list = is_list or isinstance(named, GraphQLList)
                named = named.of_type
            composite = is_composite_type(named)
            slicing = size.slicing_arguments[0] if size.slicing_arguments else None
            default = definition.args[slicing].default_value if slicing in definition.args else None
            costs[type_name][field_name] = FieldCost(
                type_name=named.name if composite else None,
                weight=weights[0] if weights else int(composite),
                is_list=is_list,
                assumed_size=size.assumed_size,
                slicing_argument=slicing,
                slicing_default=default if isinstance(default, int) else 0,
                sized_fields=tuple(size.sized_fields or ()),
            )
    return costs


# A list's size: a number, or (variable name, the size when the variable is not given).
Size = int | tuple[str, int]


@dataclass(eq=False)
class Plan:
    """cost = constant + the sum of size * the item plan, over the lists and objects selected."""

    constant: int = 0
    parts: list[tuple[Size, "Plan"]] = field(default_factory=list)

    def cost(self, variables: Mapping[str, Any], largest: int, memo: dict[int, int] | None = None) -> int:
        """The cost with these variables; no list counts as longer than `largest` (the largest page:
        a longer `first` is refused as bad input before it fetches anything)."""
        memo = {} if memo is None else memo
        if id(self) not in memo:
            memo[id(self)] = self.constant + sum(
                min(size_of(size, variables), largest) * part.cost(variables, largest, memo)
                for size, part in self.parts
            )
        return memo[id(self)]


def size_of(size: Size, variables: Mapping[str, Any]) -> int:
    if isinstance(size, int):
        return size
    name, default = size
    value = variables.get(name)
    return max(0, value) if isinstance(value, int) and not isinstance(value, bool) else default


class Planner:
    def __init__(
        self, costs: dict[str, dict[str, FieldCost]], document: DocumentNode, operation: OperationDefinitionNode
    ):
        self.costs = costs
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.variable_defaults = {
            definition.variable.name.value: int(definition.default_value.value)
            for definition in operation.variable_definitions or ()
            if isinstance(definition.default_value, IntValueNode)
        }
        self.planned: dict[tuple[str, tuple[tuple[str, Size], ...]], Plan] = {}
        self.visiting: set[str] = set()

    def selection_set(
        self, selection_set: SelectionSetNode | None, type_name: str, sized: Mapping[str, Size], plan: Plan
    ) -> None:
        """Adds what the selections cost to `plan`; `sized` gives the sizes a parent's @listSize
        sets on fields of this type (a connection's edges)."""
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, type_name, sized, plan)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else type_name
                self.selection_set(selection.selection_set, condition, sized, plan)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragment(selection.name.value, sized)
                if fragment is not None:
                    plan.parts.append((1, fragment))

    def fragment(self, name: str, sized: Mapping[str, Size]) -> Plan | None:
        """Planned once per set of sizes. Validation has refused unknown and cyclic fragments before
        any plan is made; they cost nothing here all the same."""
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return None
        key = (name, tuple(sorted(sized.items(), key=lambda item: item[0])))
        if key not in self.planned:
            plan = Plan()
            self.visiting.add(name)
            self.selection_set(definition.selection_set, definition.type_condition.name.value, sized, plan)
            self.visiting.discard(name)
            self.planned[key] = plan
        return self.planned[key]

    def field(self, node: FieldNode, type_name: str, sized: Mapping[str, Size], plan: Plan) -> None:
        cost = self.costs.get(type_name, {}).get(node.name.value)
        if cost is None:  # introspection, or a field validation refuses
            return
        if cost.type_name is None:
            plan.constant += cost.weight
            return
        slicing = self.slicing_size(node, cost)
        item = Plan(constant=cost.weight)
        inner_sized = dict.fromkeys(cost.sized_fields, slicing) if slicing is not None else {}
        self.selection_set(node.selection_set, cost.type_name, inner_sized, item)
        if node.name.value in sized:
            size: Size = sized[node.name.value]
        elif cost.is_list and slicing is not None and not cost.sized_fields:
            size = slicing
        elif cost.is_list and cost.assumed_size is not None:
            size = cost.assumed_size
        else:
            size = 1
        plan.parts.append((size, item))

    def slicing_size(self, node: FieldNode, cost: FieldCost) -> Size | None:
        if cost.slicing_argument is None:
            return None
        for argument in node.arguments or ():
            if argument.name.value != cost.slicing_argument:
                continue
            if isinstance(argument.value, IntValueNode):
                return max(0, int(argument.value.value))
            if isinstance(argument.value, VariableNode):
                name = argument.value.name.value
                return (name, self.variable_defaults.get(name, cost.slicing_default))
        return cost.slicing_default


def plan_operation(
    costs: dict[str, dict[str, FieldCost]],
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
) -> Plan:
    root: GraphQLObjectType | None = schema.get_root_type(operation.operation)
    plan = Plan()
    if root is not None:
        Planner(costs, document, operation).selection_set(operation.selection_set, root.name, {}, plan)
    return plan
