"""Background jobs and data tooling, beside the request path: the outbox relay and the order events it publishes,
schema migrations of every store, seeding, reconcile and repair, and the datasets they load."""
