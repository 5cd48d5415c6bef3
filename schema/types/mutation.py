"""The root Mutation type, merged from one type per area. Writes act as the viewer: MySQL first, in one
transaction with its outbox event; Neo4j and MongoDB follow through the relay (Mongo-only data is written
directly)."""

from __future__ import annotations

from strawberry.tools import merge_types

from schema.types.cart_mutations import CartMutations
from schema.types.catalog_mutations import CatalogMutations
from schema.types.order_mutations import OrderMutations
from schema.types.profile_mutations import ProfileMutations
from schema.types.sync import SyncMutations

Mutation = merge_types("Mutation", (OrderMutations, CatalogMutations, ProfileMutations, CartMutations, SyncMutations))
