"""The per-request set of DataLoaders (``info.context.loaders``)."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from gateway.config import Settings, SourceName
from gateway.sources import Sources
from loaders.backends import BackendStatus, load_backend_status


class Loaders:
    def __init__(self, *, sources: Sources, settings: Settings) -> None:
        self.backend_status: DataLoader[SourceName, BackendStatus] = DataLoader(
            load_fn=lambda names: load_backend_status(sources, names)
        )
