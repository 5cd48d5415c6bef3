"""ASGI entry point for uvicorn and other servers: ``gateway.asgi:app`` (settings from GATEWAY_*)."""

from gateway.app import create_app

app = create_app()
