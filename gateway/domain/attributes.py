"""What a product attribute may be: its registered type, and its value."""

from __future__ import annotations

from typing import Literal

AttributeType = Literal["int", "float", "str", "bool", "list[str]"]
AttributeValue = int | float | str | bool | list[str]
