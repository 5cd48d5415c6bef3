"""What the gateway tells operators about itself: Prometheus metrics (``metrics``), JSON logs carrying the request
id (``logs``), OpenTelemetry spans when configured (``otel``), fed by the request wrapper (``request``) and the
store-call hook in ``guarded()`` (``calls``). Product metrics (ratings, units sold) are
gateway/jobs/product_metrics.py."""
