"""The shape of an operation, measured on its syntax tree alone, before validation runs.

Validation is itself an attack surface: graphql-core compares every pair of fields that share a
response name, so a few hundred repeated fields cost it seconds. These measures run first, in
time linear in the document (each fragment is measured once, however often it is spread), and
refuse what would be too dear to validate or to run.
"""

from collections import Counter
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

# Root mutations that hash a password (argon2): at most one per request.
PASSWORD_OPERATIONS = frozenset({"signUp", "logIn", "changePassword"})


@dataclass(frozen=True)
class Details:
    """Counted by merging response names through fragments, in time linear in the fields they
    stand for: only for operations whose fields are within a cap."""

    root_fields: int
    root_keys: frozenset[str]  # the response names at the root
    password_operations: int
    repeated: int  # the most fields sharing one response name in one selection set


@dataclass(frozen=True)
class Shape:
    depth: int  # fields nested in fields
    aliases: int  # aliased fields, fragments counted each time they are spread
    fields: int  # every field selected, fragments counted each time they are spread
    details: Details | None  # None when fields is over the cap


@dataclass
class Measure:
    depth: int = 0
    aliases: int = 0
    fields: int = 0
    names: Counter[str] = field(default_factory=Counter)  # response names at this level, fragments flattened


class Measurer:
    def __init__(self, document: DocumentNode, *, names: bool) -> None:
        self.names = names
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.measured: dict[str, Measure] = {}
        self.visiting: set[str] = set()
        self.repeated = 0

    def selection_set(self, selection_set: SelectionSetNode | None) -> Measure:
        measure = Measure()
        if selection_set is None:
            return measure
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                measure.depth = max(measure.depth, 1 + inner.depth)
                measure.aliases += inner.aliases + (selection.alias is not None)
                measure.fields += inner.fields + 1
                if self.names:
                    measure.names[(selection.alias or selection.name).value] += 1
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value)
            else:  # pragma: no cover - graphql-core has no other selection
                continue
            measure.depth = max(measure.depth, inner.depth)
            measure.aliases += inner.aliases
            measure.fields += inner.fields
            if self.names:
                measure.names.update(inner.names)
        self.repeated = max(self.repeated, max(measure.names.values(), default=0))
        return measure

    def fragment(self, name: str) -> Measure:
        """Measured once; an unknown or cyclic fragment measures nothing (validation refuses it)."""
        if name in self.measured:
            return self.measured[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.visiting:
            return Measure()
        self.visiting.add(name)
        measure = self.selection_set(definition.selection_set)
        self.visiting.discard(name)
        self.measured[name] = measure
        return measure


def measure_operation(document: DocumentNode, operation: OperationDefinitionNode, fields_cap: int) -> Shape:
    measurer = Measurer(document, names=False)
    root = measurer.selection_set(operation.selection_set)
    details = None
    if root.fields <= fields_cap:
        measurer = Measurer(document, names=True)
        measurer.selection_set(operation.selection_set)
        root_names = RootNames(measurer.fragments).selection_set(operation.selection_set)
        mutation = operation.operation.value == "mutation"
        details = Details(
            root_fields=sum(root_names.values()),
            root_keys=frozenset(RootNames(measurer.fragments, by_alias=True).selection_set(operation.selection_set)),
            password_operations=sum(root_names[name] for name in PASSWORD_OPERATIONS) if mutation else 0,
            repeated=measurer.repeated,
        )
    return Shape(depth=root.depth, aliases=root.aliases, fields=root.fields, details=details)


class RootNames:
    """How often each field is selected at the root, by its name (or by its response name)."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], *, by_alias: bool = False) -> None:
        self.fragments = fragments
        self.by_alias = by_alias
        self.counted: dict[str, Counter[str]] = {}

    def selection_set(self, selection_set: SelectionSetNode) -> Counter[str]:
        names: Counter[str] = Counter()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                names[(selection.alias if self.by_alias and selection.alias else selection.name).value] += 1
            elif isinstance(selection, InlineFragmentNode):
                names.update(self.selection_set(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                names.update(self.fragment(selection.name.value))
        return names

    def fragment(self, name: str) -> Counter[str]:
        if name not in self.counted:
            self.counted[name] = Counter()  # a cycle counts nothing (validation refuses it)
            definition = self.fragments.get(name)
            if definition is not None:
                self.counted[name] = self.selection_set(definition.selection_set)
        return self.counted[name]
