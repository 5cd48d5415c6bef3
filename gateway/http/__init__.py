"""The HTTP edge, the top of the stack: the ASGI app and its lifespan (app.py; asgi.py for uvicorn), GraphQL over
HTTP and WebSocket, GraphiQL, health and readiness, /metrics, persisted queries and their manifests."""
