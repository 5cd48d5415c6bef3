"""Users and catalogue: registerUser (anyone), and the admin's product mutations."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from resolvers import catalog, lookup
from resolvers.info import Info
from schema.scalars import Money
from schema.types.products import Product
from schema.types.users import User


@strawberry.input
class RegisterUserInput:
    email: str
    name: str
    age: int | None = None
    gender: str | None = None
    occupation: str | None = None
    zip_code: str | None = None
    favorite_genres: list[str] | None = None


@strawberry.input(description="Only the fields given change.")
class UpdateProductInput:
    title: str | None = None
    price: Money | None = None
    release_year: int | None = None
    category_ids: list[strawberry.ID] | None = None


@strawberry.input(description="A new product: its MySQL row, categories and stock, and its MongoDB attributes.")
class CreateProductInput:
    sku: str
    title: str
    price: Money
    category_ids: list[strawberry.ID]
    release_year: int | None = None
    stock: int = 0
    attributes: JSON | None = strawberry.field(
        default=None, description="Checked against the attribute registry of the product's categories."
    )
    description: str | None = None


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(
        description="Admin: create a product, all or nothing: the MySQL row, categories and stock commit only once "
        "MongoDB holds its attributes document, so a store that fails leaves no product anyone can see (the error "
        "names the store); the Neo4j node follows through the outbox. A known sku is a CONFLICT."
    )
    async def create_product(self, info: Info, input: CreateProductInput) -> Product:
        values = {
            "sku": input.sku,
            "title": input.title,
            "price_cents": input.price,
            "release_year": input.release_year,
        }
        key = await catalog.create_product(
            info, values, [str(c) for c in input.category_ids], input.stock, input.attributes, input.description
        )
        return Product.from_record(await lookup.product(info, str(key)))

    @strawberry.mutation(
        description="Create a user (MySQL); the graph node and the MongoDB profile follow through the outbox. "
        "An email already registered is a CONFLICT."
    )
    async def register_user(self, info: Info, input: RegisterUserInput) -> User:
        fields = {
            "email": input.email,
            "name": input.name,
            "age": input.age,
            "gender": input.gender,
            "occupation": input.occupation,
            "zip_code": input.zip_code,
        }
        user_id = await catalog.register_user(info, fields, list(input.favorite_genres or []))
        return User.from_record(await lookup.user(info, str(user_id)))

    @strawberry.mutation(
        description="Admin: forget a user (the right to be forgotten). MySQL anonymises the row at once (orders "
        "keep their totals; ratings and the cart snapshot go), and no read finds the user afterwards; the Neo4j "
        "node, the MongoDB profile and events, and the user's Redis carts and cache entries follow through the "
        "outbox. Forgetting a forgotten user again answers the same id; an unknown id is NOT_FOUND."
    )
    async def delete_user(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(str(await catalog.delete_user(info, id)))

    @strawberry.mutation(description="Admin: change a product (MySQL); Neo4j follows through the outbox.")
    async def update_product(self, info: Info, id: strawberry.ID, input: UpdateProductInput) -> Product:
        values = {"title": input.title, "price_cents": input.price, "release_year": input.release_year}
        categories = None if input.category_ids is None else [str(c) for c in input.category_ids]
        key = await catalog.update_product(info, id, values, categories)
        return Product.from_record(await lookup.product(info, str(key)))

    @strawberry.mutation(description="Admin: delete a product that no order holds; every store follows.")
    async def delete_product(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(str(await catalog.delete_product(info, id)))

    @strawberry.mutation(
        description="Admin: set attributes (null removes one) and the description, in MongoDB, each attribute "
        "checked against the registry of the product's categories."
    )
    async def update_product_attributes(
        self, info: Info, id: strawberry.ID, attributes: JSON, description: str | None = None
    ) -> Product:
        key = await catalog.update_attributes(info, id, attributes, description)
        return Product.from_record(await lookup.product(info, str(key)))
