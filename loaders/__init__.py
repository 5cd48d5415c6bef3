"""Loaders, built fresh for every request: one per (source, key), each batch one request per store."""

from __future__ import annotations

from loaders.registry import Loaders

__all__ = ["Loaders"]
