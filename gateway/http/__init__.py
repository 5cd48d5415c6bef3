"""The HTTP edge: GraphQL over HTTP, GraphiQL, health and readiness."""
