"""Users and catalogue: registerUser, and the admin's product mutations."""

from __future__ import annotations

import strawberry


@strawberry.type
class CatalogMutations:
    pass
