"""The differential corpus: every query document the tests and benches send, and queries generated from the
schema, each with variables and a viewer.

Collected: every string constant of tests/ and bench/ that parses as a document whose operations are all
queries and that validates against the schema. Variables get values from pools by type and name (the seeded
MovieLens ids); each runs as an admin and as a guest.

Generated (a seeded RNG, so the corpus is the same on every run): selections up to ``MAX_DEPTH`` deep from Query,
with aliases, fields repeated under one key, named and inline fragments, ``@include`` / ``@skip`` on literals and
variables, arguments as literals, variables and defaults; ids that exist, that do not, and that are not ids;
limits and page sizes in and out of range; run as a guest, as a user, as another user and as an admin.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    parse,
    validate,
)

ROOT = Path(__file__).resolve().parents[2]
MAX_DEPTH = 5
# Fields whose value differs from one read to the next by nature (a measured latency, the outbox's lag): never
# generated.
UNSTABLE = frozenset({("Backend", "latencyMs"), ("OutboxStatus", "lagSeconds")})
# Fields added after the generated corpus was settled (issue 21: analytics), left out of the random walk so that the
# 300 generated cases stay those every earlier run compared: new fields shift the seeded walk, and the shifted walk
# meets cases where a non-null root field fails at once (a bad cursor, a bad price range) while another field's error
# is still to come, and which of those errors graphql-core reports depends on timing (the plan executor reports
# those before the failure in document order: docs/engine.md). The ADDED cases below cover these fields instead.
NOT_GENERATED = frozenset(
    {
        ("Query", "session"),
        ("Query", "salesReport"),
        ("Query", "funnel"),
        ("Query", "topSearches"),
        ("User", "recentlyViewed"),
    }
)
# Arguments added after the generated corpus was settled (issue 22: a category and the preferences of
# recommendations), left out of the random walk for the same reason; ADDED_QUERIES covers them.
NOT_GENERATED_ARGUMENTS = frozenset(
    {(parent, "recommendations", name) for parent in ("Query", "User") for name in ("categoryId", "usePreferences")}
)
# Viewers: None is a guest; (user id, admin)
VIEWERS: tuple[tuple[int, bool] | None, ...] = (None, (1, False), (5, False), (655, False), (943, True))
USERS = ("1", "5", "655", "943", "999999", "x", "0")
PRODUCTS = ("1", "50", "181", "1682", "888888", "-3", "1e3")
ORDERS = ("100", "15367", "1", "777777777", "abc")
CATEGORIES = ("1", "3", "19", "9999", "nope")
SIZES = (0, 1, 2, 3, 5, 10, -1, 1001)
LIMITS = (1, 2, 3, 5, 10, 0, 101)


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    query: str
    variables: dict[str, Any] = field(default_factory=dict)
    viewer: tuple[int, bool] | None = None


def collected(schema: GraphQLSchema) -> list[Case]:
    """The query documents of the tests and benches, each as an admin and as a guest."""
    cases: list[Case] = []
    seen: set[str] = set()
    for path in sorted([*ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/**/*.py")]):
        for text in _strings(path):
            if text in seen or "{" not in text:
                continue
            seen.add(text)
            try:
                document = parse(text)
            except GraphQLError:
                continue
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if not operations or any(op.operation is not OperationType.QUERY for op in operations):
                continue
            if len(operations) > 1 or validate(schema, document):
                continue
            variables = _variables(schema, operations[0])
            where = f"{path.relative_to(ROOT)}:{len(cases)}"
            cases.append(Case(f"{where} admin", text, variables, (943, True)))
            cases.append(Case(f"{where} guest", text, variables, None))
    return cases + written()


SYNC_STATUS = """query SyncStatus {
  syncStatus {
    mysql { users products edges }
    mongodb { users products edges }
    neo4j { ...Counts }
    outbox { pending lagSeconds parkedCount parked { id eventType aggregateType aggregateId attempts error parkedAt } }
    reconcileRunning
    lastReconcile {
      at durationMs drift error
      comparisons { name store target sourceCount copyCount missing extra missingSample extraSample }
    }
  }
}
fragment Counts on StoreCounts { users products edges __typename }"""


def written() -> list[Case]:
    """Cases written for fields the documents of the tests may not reach in every way: syncStatus (admin only)
    as each viewer, whole and in part, aliased, with the stores each answering alone."""
    viewers: list[tuple[int, bool] | None] = [(943, True), (1, False), None]
    cases = [Case(f"written: syncStatus {viewer}", SYNC_STATUS, {}, viewer) for viewer in viewers]
    cases.append(
        Case(
            "written: syncStatus aliased, in part",
            """query ($withOutbox: Boolean!) { a: syncStatus { neo4j { users } m: mysql { edges } }
            b: syncStatus { outbox @include(if: $withOutbox) { parkedCount } lastReconcile { drift } }
            product(id: "50") { title } }""",
            {"withOutbox": True},
            (943, True),
        )
    )
    cases.append(Case("written: syncStatus and a user", '{ user(id: "1") { id } syncStatus { mongodb { users } } }'))
    return cases


def _strings(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def _variables(schema: GraphQLSchema, operation: OperationDefinitionNode) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        type_name = _type_name(definition.type)
        value = {"ID": "50" if "product" in name.lower() else "5", "Int": 3, "Boolean": True, "String": "x"}.get(
            type_name
        )
        if value is not None:
            values[name] = value
    return values


def _type_name(node: Any) -> str:
    while not hasattr(node, "name"):
        node = node.type
    return str(node.name.value)


# The analytics fields (issue 21): text search, the session, recently viewed products, the admin reports; each case
# as a guest, a user and an admin. A session's last activity moves with each request: the comparison blanks it.
ADDED_QUERIES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("{ session { id device createdAt lastActivityAt expiresAt user { id name } } }", {}),
    (
        "query ($t: String!) { products(filter: {text: $t}, first: 5) { totalCount nodes { id title } "
        "pageInfo { hasNextPage endCursor } } }",
        {"t": "star wars"},
    ),
    (
        '{ products(filter: {text: "love", priceMax: "10.00"}, sort: {field: PRICE, direction: DESC}, first: 3) '
        "{ edges { cursor node { id price rating { average } } } } }",
        {},
    ),
    ('{ products(filter: {text: "love", categoryId: "3"}, sort: {field: RATING}) { totalCount nodes { id } } }', {}),
    ('{ a: products(filter: {text: "the"}) { totalCount } b: products(filter: {text: "zzyzxqq"}) { totalCount } }', {}),
    ("{ products(sort: {field: RELEVANCE}) { totalCount } }", {}),
    ('{ products(filter: {text: "   "}) { totalCount } }', {}),
    ('{ viewer { recentlyViewed(limit: 3) { id title } } user(id: "21") { name recentlyViewed { id } } }', {}),
    ("{ viewer { id recentlyViewed(limit: 0) { id } } }", {}),
    ('{ salesReport(from: "1997-09-20", to: "1998-04-22") { day orders units revenue category { name } } }', {}),
    (
        '{ salesReport(from: "1997-09-20", to: "1998-04-22", groupBy: CATEGORY) { day orders revenue '
        "category { id name parent { name } } } }",
        {},
    ),
    (
        'query ($g: SalesGroupBy!) { salesReport(from: "1998-01-01", to: "1998-01-31", groupBy: $g) '
        "{ day category { name } units } }",
        {"g": "DAY_AND_CATEGORY"},
    ),
    (
        "query ($f: Date!, $t: Date!) { funnel(from: $f, to: $t) { views cartAdds purchases viewToCart "
        "cartToPurchase products(limit: 3) { views cartAdds purchases viewToCart cartToPurchase "
        "product { id title } } } }",
        {"f": "2026-06-01", "t": "2027-05-31"},
    ),
    ('{ funnel(from: "2026-06-01", to: "2026-12-31") { views products(limit: 0) { views } } }', {}),
    ('{ topSearches(from: "2026-06-01", to: "2027-05-31", limit: 5) { terms count zeroResults } }', {}),
    ('{ topSearches(from: "2026-12-31", to: "2026-01-01") { terms } }', {}),
    ('{ funnel(from: "2020-01-01", to: "2026-01-01") { views } product(id: "50") { title } }', {}),
    # Recommendations in a category, weighed by the user's preferences (issue 22).
    (
        '{ viewer { recommendations(limit: 5, categoryId: "9", usePreferences: true) { score reason product { id } } '
        "profile { favoriteGenres } } }",
        {},
    ),
    (
        'query ($c: ID, $p: Boolean!, $s: RecommendationStrategy!) { recommendations(userId: "5", limit: 3, '
        "strategy: $s, categoryId: $c, usePreferences: $p) { score reason product { id title } } }",
        {"c": "3", "p": True, "s": "POPULAR"},
    ),
    (
        'query ($c: ID) { a: recommendations(userId: "1", limit: 4, categoryId: $c) { score product { id } } '
        'user(id: "5") { recommendations(strategy: SIMILAR_USERS, categoryId: "1", usePreferences: true, limit: 2) '
        "{ score reason } } }",
        {"c": "19"},
    ),
    ('{ recommendations(userId: "5", categoryId: "nope") { score } user(id: "1") { name } }', {}),
    ('{ user(id: "655") { recommendations(categoryId: "9999", usePreferences: true) { score } } }', {}),
    ('{ recommendations(userId: "999999", categoryId: "3", usePreferences: true) { product { id } } }', {}),
    ("{ viewer { recommendations(usePreferences: true, limit: 101) { score } name } }", {}),
)


def added() -> list[Case]:
    return [
        Case(f"added {i} as {viewer}", query, variables, viewer)
        for i, (query, variables) in enumerate(ADDED_QUERIES)
        for viewer in (None, (1, False), (943, True))
    ]


def generated(schema: GraphQLSchema, count: int, seed: int = 18) -> list[Case]:
    rng = random.Random(seed)
    return [_Generator(schema, rng).case(f"generated {i}") for i in range(count)]


class _Generator:
    def __init__(self, schema: GraphQLSchema, rng: random.Random) -> None:
        self.schema = schema
        self.rng = rng
        self.variables: dict[str, tuple[str, Any]] = {}  # name → (GraphQL type, value or ... for "use default")
        self.fragments: list[str] = []

    def case(self, name: str) -> Case:
        query_type = self.schema.query_type
        assert query_type is not None
        roots = self.rng.randint(1, 3)
        body = self._selection(query_type, 1, roots)
        definitions = ", ".join(
            f"${n}: {t}" + (" = " + _literal(v) if d else "") for n, (t, v, d) in self._declared().items()
        )
        head = f"query Q({definitions})" if definitions else self.rng.choice(["query", "", "query Generated"])
        text = f"{head} {body}" + "".join(" " + f for f in self.fragments)
        values = {n: v for n, (_, v, d) in self._declared().items() if not d}
        return Case(name, text.strip(), values, self.rng.choice(VIEWERS))

    def _declared(self) -> dict[str, tuple[str, Any, bool]]:
        return {n: (t, v[0], v[1]) for n, (t, v) in self.variables.items()}

    def _selection(self, parent: GraphQLObjectType, depth: int, width: int | None = None) -> str:
        names = [n for n in parent.fields if (parent.name, n) not in UNSTABLE | NOT_GENERATED]
        picks = self.rng.sample(names, min(len(names), width or self.rng.randint(1, 4)))
        parts = []
        used: set[str] = set()
        for name in picks:
            parts.append(self._field(parent, name, depth, used))
            if self.rng.random() < 0.08 and not parent.fields[name].args:  # the same field again, merged
                parts.append(self._field(parent, name, depth, used, alias=False))
        if self.rng.random() < 0.15:
            parts.append("__typename")
        if self.rng.random() < 0.2:
            parts = [self._wrapped(parent, parts)]
        return "{ " + " ".join(parts) + " }"

    def _wrapped(self, parent: GraphQLObjectType, parts: list[str]) -> str:
        """All but the first selection moved into a fragment: named, inline with or without a type condition,
        maybe under a directive."""
        keep, moved = (parts[:1], parts[1:]) if len(parts) > 1 else ([], parts)
        kind = self.rng.random()
        directive = self._directive()
        inner = " ".join(moved)
        if kind < 0.4:
            name = f"F{len(self.fragments)}"
            self.fragments.append(f"fragment {name} on {parent.name} {{ {inner} }}")
            spread = f"...{name}{directive}"
        elif kind < 0.7:
            spread = f"... on {parent.name}{directive} {{ {inner} }}"
        else:
            spread = f"...{directive} {{ {inner} }}"
        return " ".join([*keep, spread])

    def _directive(self) -> str:
        roll = self.rng.random()
        if roll < 0.6:
            return ""
        if roll < 0.75:
            return f" @include(if: {self.rng.choice(['true', 'false'])})"
        if roll < 0.85:
            return f" @skip(if: {self.rng.choice(['true', 'false'])})"
        name = f"v{len(self.variables)}"
        self.variables[name] = ("Boolean!", (self.rng.choice([True, False]), False))
        return f" @{self.rng.choice(['include', 'skip'])}(if: ${name})"

    def _field(self, parent: GraphQLObjectType, name: str, depth: int, used: set[str], *, alias: bool = True) -> str:
        definition = parent.fields[name]
        named = get_named_type(definition.type)
        text = name
        if alias and self.rng.random() < 0.2:
            key = self.rng.choice(
                [k for k in ("a", "b", "x", "alias", name + "2") if k not in used and k not in parent.fields]
            )
            used.add(key)
            text = f"{key}: {name}"
        arguments = [
            self._argument(parent, name, arg, spec.type)
            for arg, spec in definition.args.items()
            if (parent.name, name, arg) not in NOT_GENERATED_ARGUMENTS
        ]
        arguments = [a for a in arguments if a]
        if arguments:
            text += "(" + ", ".join(arguments) + ")"
        if self.rng.random() < 0.1:
            text += self._directive()
        if isinstance(named, GraphQLObjectType):
            if depth >= MAX_DEPTH:
                return "__typename"
            text += " " + self._selection(named, depth + 1)
        return text

    def _argument(self, parent: GraphQLObjectType, field_name: str, name: str, type_: Any) -> str | None:
        required = isinstance(type_, GraphQLNonNull) and name in ("id", "userId")
        if not required and self.rng.random() < 0.5:
            return None  # the default
        value = self._value(parent.name, field_name, name, type_)
        if value is None:
            return None
        if self.rng.random() < 0.35:  # as a variable, sometimes left to its default
            var = f"v{len(self.variables)}"
            declared = _declared_type(type_)
            use_default = not required and self.rng.random() < 0.3
            self.variables[var] = (declared, (value, use_default))
            return f"{name}: ${var}"
        return f"{name}: {_literal(value)}"

    def _value(self, parent: str, field_name: str, name: str, type_: Any) -> Any:
        rng = self.rng
        named = get_named_type(type_)
        if name in ("id", "userId"):
            pool = {"user": USERS, "product": PRODUCTS, "order": ORDERS, "recommendations": USERS}
            return rng.choice(pool.get(field_name, USERS))
        if name == "first":
            return rng.choice(SIZES)
        if name == "limit":
            return rng.choice(LIMITS)
        if name == "after":
            return rng.choice(["bm9wZQ", "b3JkZXI6MTAwOjE", "cHJvZHVjdDo0OmFiYw", None])
        if isinstance(named, GraphQLEnumType):
            return _Enum(rng.choice(list(named.values)))
        if name == "filter":
            return rng.choice(
                [
                    None,
                    {"categoryId": rng.choice(CATEGORIES)},
                    {"priceMin": "5.00", "priceMax": "12.50"},
                    {"yearMin": 1990, "yearMax": 1995},
                    {"priceMin": "9.00", "priceMax": "1.00"},
                    {"attributes": [{"name": "genres", "eq": "Comedy"}]},
                    {"attributes": [{"name": "release_year", "in": [1994, 1995]}]},
                    {"attributes": [{"name": "no_such_attribute", "eq": 1}]},
                    {"attributes": [{"name": "genres", "eq": "Drama", "in": ["Comedy"]}]},
                ]
            )
        if name == "sort":
            return {
                "field": _Enum(rng.choice(["ID", "PRICE", "TITLE", "RATING", "POPULARITY"])),
                "direction": _Enum(rng.choice(["ASC", "DESC"])),
            }
        return None


class _Enum(str):
    """An enum value: written bare in a literal, as its name in variables."""


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, _Enum):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def _declared_type(type_: Any) -> str:
    if isinstance(type_, GraphQLNonNull):
        return _declared_type(type_.of_type) + "!"
    if isinstance(type_, GraphQLList):
        return "[" + _declared_type(type_.of_type) + "]"
    return str(type_.name)
