"""Resolvers: they read ``info.context.loaders`` and never touch a driver (ruff TID251 enforces it)."""
