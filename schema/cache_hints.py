"""How long a cached response may keep each field (seconds): a response lives as long as its shortest-lived
field allows, and 0 keeps it out of the response cache. Fields not listed allow the settings' default.

Checked from the document alone, before execution (every field of every fragment counts), once per operation.
"""

from __future__ import annotations

from graphql import DocumentNode, FieldNode, GraphQLSchema, TypeInfo, TypeInfoVisitor, Visitor, visit

HINTS: dict[str, float] = {
    "Query.backends": 0,  # each store's live status
    "Query.cart": 0,  # carts change with every addToCart, outside any entity the cache tracks
    "User.cart": 0,
    "Query.salesReport": 0,  # admins only, and changed by every build
    "Query.funnel": 0,
    "Query.topSearches": 0,
    "Query.session": 0,  # its last activity moves with every request
    "User.recentlyViewed": 0,  # changes with every view, outside any entity the cache tracks
    "Product.inventory": 10,  # orders drop it too; short for stock moved by other processes' writes
    "Query.popularProducts": 60,  # derived from everyone's purchases: no single entity to tag
    "Query.products": 60,  # a search: a new or changed product may join or leave it
}


class _Shortest(Visitor):
    def __init__(self, type_info: TypeInfo, default: float) -> None:
        super().__init__()
        self.type_info = type_info
        self.max_age = default

    def enter_field(self, node: FieldNode, *_: object) -> None:
        parent = self.type_info.get_parent_type()
        if parent is not None:
            hint = HINTS.get(f"{parent.name}.{node.name.value}")
            if hint is not None:
                self.max_age = min(self.max_age, hint)


def max_age(schema: GraphQLSchema, document: DocumentNode, default: float) -> float:
    type_info = TypeInfo(schema)
    shortest = _Shortest(type_info, default)
    visit(document, TypeInfoVisitor(type_info, shortest))
    return shortest.max_age
