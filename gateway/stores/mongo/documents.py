"""Typed models of every MongoDB document, checked before each write, whatever the server (the local
one enforces no $jsonSchema validator; docs/mongodb.md).

A document that does not validate is refused whole with a BadUserInput naming the field; nothing is written.
Product attributes are also checked against the attribute registry: a product may carry only the attributes
registered for one of its categories (the union over its categories), each with its registered type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
)

from gateway.domain.attributes import AttributeType, AttributeValue
from gateway.errors import BadUserInput

# An attribute name is never a Mongo operator ($...) or a dotted path: it may end up in a filter key.
AttributeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def to_mongo(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True)


class ProductAttributes(_Document):
    id: StrictInt = Field(alias="_id", gt=0)
    attributes: dict[AttributeName, StrictInt | StrictFloat | StrictStr | StrictBool | list[StrictStr]]
    description: StrictStr | None = Field(default=None, max_length=20_000)
    tags: list[StrictStr] = Field(default_factory=list, max_length=100)
    images: list[StrictStr] = Field(default_factory=list, max_length=50)


class ProductMetrics(_Document):
    id: StrictInt = Field(alias="_id", gt=0)
    rating_avg: float | None = Field(ge=1, le=5)
    rating_count: StrictInt = Field(ge=0)
    rating_std: float | None = Field(ge=0)
    popularity: StrictInt = Field(ge=0, description="units purchased")
    updated_at: datetime


class UserProfile(_Document):
    id: StrictInt = Field(alias="_id", gt=0)
    preferences: dict[str, list[StrictStr]] = Field(default_factory=dict)
    stats: dict[str, StrictInt | StrictFloat] = Field(default_factory=dict)


EventType = Literal["view", "click", "search", "add_to_cart", "remove_from_cart", "purchase", "rate"]


class Event(_Document):
    """A behaviour event (``events``, append-only; docs/analytics.md). Its ``_id`` is set apart: an ObjectId for
    the events the gateway records, ``outbox:<id>:<product>`` for those the relay derives from the outbox."""

    user_id: StrictInt | None = Field(default=None, gt=0)
    session_id: StrictStr | None = Field(default=None, max_length=128)
    device: StrictStr | None = Field(default=None, max_length=32)
    type: EventType
    product_id: StrictInt | None = Field(default=None, gt=0)
    terms: StrictStr | None = Field(default=None, max_length=200, description="a search's text")
    results: StrictInt | None = Field(default=None, ge=0, description="products a search matched")
    quantity: StrictInt | None = Field(default=None, gt=0, description="units added to or removed from a cart")
    rating: StrictInt | None = Field(default=None, ge=1, le=5)
    ts: datetime


class RegistryEntry(_Document):
    """attribute_registry document: what a product in this category may carry."""

    id: StrictInt = Field(alias="_id", gt=0)
    attributes: dict[AttributeName, Literal["int", "float", "str", "bool", "list[str]"]]


_PYTHON_TYPES: dict[AttributeType, tuple[type, ...]] = {
    "int": (int,),
    "float": (float, int),
    "str": (str,),
    "bool": (bool,),
    "list[str]": (list,),
}


def _has_type(value: AttributeValue, kind: AttributeType) -> bool:
    if isinstance(value, bool) and kind != "bool":
        return False
    if kind == "list[str]":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return isinstance(value, _PYTHON_TYPES[kind])


def allowed_attributes(
    registry: Mapping[int, Mapping[str, AttributeType]], category_ids: Iterable[int]
) -> dict[str, AttributeType]:
    """The union of the attributes registered for these categories (a name registered twice keeps one type)."""
    allowed: dict[str, AttributeType] = {}
    for category_id in category_ids:
        allowed.update(registry.get(category_id, {}))
    return allowed


def validate_attributes(attributes: Mapping[str, AttributeValue], allowed: Mapping[str, AttributeType]) -> None:
    problems = []
    for name, value in attributes.items():
        kind = allowed.get(name)
        if kind is None:
            problems.append(f"{name!r} is not registered for the product's categories")
        elif not _has_type(value, kind):
            problems.append(f"{name!r} must be {kind}, got {type(value).__name__}")
    if problems:
        raise BadUserInput("invalid product attributes: " + "; ".join(problems))


M = TypeVar("M", bound=_Document)


def parse(model: type[M], data: Mapping[str, Any]) -> M:
    """Validate ``data`` as ``model``; a failure is a BadUserInput that names each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(document)'}: {e['msg']}" for e in exc.errors())
        raise BadUserInput(f"invalid {model.__name__} document: {fields}") from exc
