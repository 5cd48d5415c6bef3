"""ASGI entry point for uvicorn and other servers: ``gateway.http.asgi:app`` (settings from GATEWAY_*)."""

from gateway.http.app import create_app

app = create_app()
