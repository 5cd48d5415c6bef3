"""registerUser and the admin's product mutations: checked input, then the owning store.

MySQL-owned changes go through one transaction with an outbox event (the relay brings Neo4j and MongoDB along);
product attributes live in MongoDB alone and are written there directly, after the registry check.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from gateway.errors import BadUserInput, Forbidden, NotFound, SourceError
from gateway.stores.mongo import reads as mongo_reads
from gateway.stores.mongo import writes as mongo_writes
from gateway.stores.mongo.documents import ProductAttributes, allowed_attributes, parse, validate_attributes
from gateway.stores.mysql import catalog as mysql_catalog
from resolvers.arguments import parse_id
from resolvers.freshness import forget
from resolvers.info import Resolving
from resolvers.permissions import signed_in

log = logging.getLogger("gateway.resolvers")

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}$")


def _text(value: str | None, what: str, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > limit:
        raise BadUserInput(f"{what} must be 1 to {limit} characters")
    return value


async def register_user(info: Resolving, fields: Mapping[str, Any], genres: list[str]) -> int:
    email = str(fields["email"]).strip().lower()
    if not EMAIL.match(email):
        raise BadUserInput("email is not an email address")
    age = fields.get("age")
    if age is not None and not 1 <= age <= 130:
        raise BadUserInput("age must be 1 to 130")
    if len(genres) > 20 or any(not 0 < len(g) <= 64 for g in genres):
        raise BadUserInput("favoriteGenres: at most 20 names of 1 to 64 characters")
    row = {
        "email": email,
        "name": _text(fields["name"], "name", 255),
        "age": age,
        "gender": _text(fields.get("gender"), "gender", 16),
        "occupation": _text(fields.get("occupation"), "occupation", 64),
        "zip_code": _text(fields.get("zip_code"), "zipCode", 16),
    }
    user_id = await mysql_catalog.register_user(
        info.context.sources.mysql, info.context.settings.write_timeout_s, fields=row, preferences={"genres": genres}
    )
    await forget(info, users=[user_id])  # the id may be cached as unknown
    return user_id


def _admin(info: Resolving) -> None:
    if not signed_in(info).is_admin:
        raise Forbidden("only an admin changes the catalogue")


async def update_product(
    info: Resolving, product_id: str, values: Mapping[str, Any], category_ids: list[str] | None
) -> int:
    _admin(info)
    key = parse_id(product_id, "id")
    row: dict[str, Any] = {}
    if values.get("title") is not None:
        row["title"] = _text(values["title"], "title", 512)
    if values.get("price_cents") is not None:
        row["price_cents"] = values["price_cents"]
    if values.get("release_year") is not None:
        if not 1800 <= values["release_year"] <= 2200:
            raise BadUserInput("releaseYear must be 1800 to 2200")
        row["release_year"] = values["release_year"]
    categories = None
    if category_ids is not None:
        if not 1 <= len(category_ids) <= 20:
            raise BadUserInput("categoryIds: 1 to 20 categories")
        categories = [parse_id(c, "categoryId") for c in category_ids]
    if not row and categories is None:
        raise BadUserInput("nothing to update")
    await mysql_catalog.update_product(
        info.context.sources.mysql,
        info.context.settings.write_timeout_s,
        product_id=key,
        values=row,
        category_ids=categories,
    )
    await forget(info, products=[key])
    return key


async def delete_product(info: Resolving, product_id: str) -> int:
    _admin(info)
    key = parse_id(product_id, "id")
    await mysql_catalog.delete_product(
        info.context.sources.mysql, info.context.settings.write_timeout_s, product_id=key
    )
    await forget(info, products=[key])
    return key


async def delete_user(info: Resolving, user_id: str) -> int:
    """The right to be forgotten: MySQL anonymises the row in one transaction with a ``user.deleted`` event (the
    relay then removes the Neo4j node, the MongoDB profile and events, and the user's Redis keys). From the moment
    this returns, no read finds the user: reads start from the MySQL row, which they leave out once forgotten, and
    the cached entries go now (and again in the relay). Forgetting a forgotten user changes nothing."""
    if not signed_in(info).is_admin:
        raise Forbidden("only an admin deletes users")
    key = parse_id(user_id, "id")
    await mysql_catalog.forget_user(info.context.sources.mysql, info.context.settings.write_timeout_s, user_id=key)
    await forget(info, users=[key])
    return key


async def update_attributes(info: Resolving, product_id: str, changes: Any, description: str | None) -> int:
    """Set (or, with null, remove) attributes; each checked against the registry of the product's categories."""
    _admin(info)
    key = parse_id(product_id, "id")
    if not isinstance(changes, dict):
        raise BadUserInput("attributes must be an object of attribute name to value")
    loaders = info.context.loaders
    if await loaders.products.load(key) is None:
        raise NotFound(f"product {key} not found")
    categories = [c.id for c in await loaders.categories_by_product.load(key)]
    registry = await loaders.attribute_registry.load("all")
    # Read for the write from MongoDB itself, never from a cache.
    (current,) = await mongo_reads.product_documents(info.context.sources.mongodb, [key])
    merged = dict(current.attributes) if current is not None else {}
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    validate_attributes(
        {n: v for n, v in changes.items() if v is not None},
        allowed_attributes({int(k): v for k, v in registry.items()}, categories),  # type: ignore[misc]
    )
    document = parse(
        ProductAttributes,
        {
            "_id": key,
            "attributes": merged,
            "description": description if description is not None else (current.description if current else None),
            "tags": list(current.tags) if current else [],
            "images": list(current.images) if current else [],
        },
    )
    await mongo_writes.replace_product_document(
        info.context.sources.mongodb, info.context.settings.write_timeout_s, document.to_mongo()
    )
    await forget(info, products=[key])  # the answer re-reads the written document
    return key


SKU = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


async def create_product(
    info: Resolving,
    values: Mapping[str, Any],
    category_ids: list[str],
    stock: int,
    attributes: Any,
    description: str | None,
) -> int:
    """A product in MySQL (row, categories, stock) and MongoDB (its attributes document), all or nothing: every
    check runs before any write; the MySQL transaction commits only after MongoDB took the document, so a failure
    of either leaves no product anyone can see; Neo4j follows through the outbox (``product.created``)."""
    _admin(info)
    sku = str(values["sku"]).strip()
    if not SKU.match(sku):
        raise BadUserInput("sku must be 1 to 64 letters, digits, '.', '_' or '-'")
    row: dict[str, Any] = {"sku": sku, "title": _text(values["title"], "title", 512)}
    if values["price_cents"] < 0:
        raise BadUserInput("price must not be negative")
    row["price_cents"] = values["price_cents"]
    if values.get("release_year") is not None:
        if not 1800 <= values["release_year"] <= 2200:
            raise BadUserInput("releaseYear must be 1800 to 2200")
        row["release_year"] = values["release_year"]
    if not 0 <= stock <= 1_000_000:
        raise BadUserInput("stock must be 0 to 1,000,000")
    if not 1 <= len(category_ids) <= 20:
        raise BadUserInput("categoryIds: 1 to 20 categories")
    categories = sorted({parse_id(c, "categoryId") for c in category_ids})
    attributes = {} if attributes is None else attributes
    if not isinstance(attributes, dict) or any(value is None for value in attributes.values()):
        raise BadUserInput("attributes must be an object of attribute name to value")
    registry = await info.context.loaders.attribute_registry.load("all")
    validate_attributes(attributes, allowed_attributes({int(k): v for k, v in registry.items()}, categories))  # type: ignore[misc]
    settings, sources = info.context.settings, info.context.sources
    written: list[int] = []

    async def write_document(product_id: int) -> None:
        document = parse(
            ProductAttributes, {"_id": product_id, "attributes": attributes, "description": description, "tags": []}
        )
        written.append(product_id)
        await mongo_writes.replace_product_document(sources.mongodb, settings.write_timeout_s, document.to_mongo())

    try:
        key = await mysql_catalog.create_product(
            sources.mysql,
            settings.write_timeout_s,
            values=row,
            category_ids=categories,
            stock=stock,
            before_commit=write_document,
        )
    except BaseException:
        await _forget_documents(info, written)  # MySQL never committed: no product has these ids
        raise
    await _forget_documents(info, [w for w in written if w != key])  # a transaction retried under another id
    await forget(info, products=[key])  # the id may be cached as unknown
    return key


async def _forget_documents(info: Resolving, product_ids: list[int]) -> None:
    """Best effort: a document whose MySQL row never committed is invisible (reads start from the row), and its
    id is never given again (auto-increment); removed all the same when MongoDB answers."""
    for product_id in product_ids:
        try:
            await mongo_writes.delete_product_document(
                info.context.sources.mongodb, info.context.settings.write_timeout_s, product_id
            )
        except SourceError as exc:
            log.warning("attributes of uncreated product %s left in MongoDB: %s", product_id, exc.detail)
