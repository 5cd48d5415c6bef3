"""The gateway's own errors, each with a stable ``extensions.code``.

    GatewayError                      INTERNAL_SERVER_ERROR (base; never shown to clients as is)
    ├── BadUserInput                  BAD_USER_INPUT
    ├── NotFound                      NOT_FOUND
    ├── Forbidden                     FORBIDDEN
    ├── Unauthenticated               UNAUTHENTICATED
    ├── Conflict                      CONFLICT             (idempotency key reused, impossible transition)
    ├── OutOfStock                    OUT_OF_STOCK         (carries the product ids short of stock)
    └── SourceError                   (a backing store failed; carries the store's name)
        ├── SourceUnavailable         SOURCE_UNAVAILABLE   (refused, reset, ...)
        │   └── SourceAuthFailed      SOURCE_UNAVAILABLE   (credentials refused: retrying will not help)
        └── SourceTimeout             TIMEOUT              (no answer within the source timeout)

Store modules translate driver exceptions into ``SourceError`` with ``raise ... from exc``; nothing else
ever sees a driver exception. Anything that is not a ``GatewayError`` is masked before it reaches a client.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GatewayError(Exception):
    code: ClassVar[str] = "INTERNAL_SERVER_ERROR"

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code}


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"


class NotFound(GatewayError):
    code = "NOT_FOUND"


class Forbidden(GatewayError):
    code = "FORBIDDEN"


class Unauthenticated(GatewayError):
    code = "UNAUTHENTICATED"


class Conflict(GatewayError):
    code = "CONFLICT"


class OutOfStock(GatewayError):
    code = "OUT_OF_STOCK"

    def __init__(self, product_ids: list[int]) -> None:
        super().__init__(f"not enough stock for products {', '.join(map(str, product_ids))}: nothing was ordered")
        self.product_ids = product_ids

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "productIds": [str(p) for p in self.product_ids]}


class SourceError(GatewayError):
    """The message names the store only; ``detail`` (the driver's words) is for logs, never for clients."""

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(f"{source} is unavailable")
        self.source = source
        self.detail = detail

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "source": self.source}


class SourceUnavailable(SourceError):
    code = "SOURCE_UNAVAILABLE"


class SourceAuthFailed(SourceUnavailable):
    pass


class SourceTimeout(SourceError):
    code = "TIMEOUT"

    def __init__(self, source: str, seconds: float) -> None:
        super().__init__(source, f"no answer within {seconds:g}s")
        self.args = (f"{source} did not answer within {seconds:g}s",)
        self.seconds = seconds
