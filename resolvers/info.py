"""The type of ``info`` every resolver receives.

``Info`` is strawberry's, for the fields of ``schema/types``. The functions of this package only read
``info.context``, so they take anything that has one (``Resolving``): strawberry's Info, or the request the plan
executor runs (engine/).
"""

from __future__ import annotations

from typing import Protocol, TypeAlias

import strawberry

from gateway.context import Context

Info: TypeAlias = strawberry.Info[Context, None]


class Resolving(Protocol):
    @property
    def context(self) -> Context: ...
