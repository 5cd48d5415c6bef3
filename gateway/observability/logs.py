"""Log lines as JSON objects, one per line, each carrying the id of the request that logged it.

``GATEWAY_LOG_FORMAT``: ``json`` (timestamp, level, logger, message, request_id inside a request, exception and
stack when there is one, and any ``extra={...}`` fields), ``text`` (one readable line, the request id in
brackets), or ``auto`` (the default): text under ``GATEWAY_ENV=development``, JSON otherwise. ``gateway serve``
hands ``log_config()`` to uvicorn, whose own loggers (errors and the access log) then go through the same handler;
``gateway relay`` uses ``configure()``.
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

import orjson

from gateway.config import Settings
from gateway.observability.request import request_id

# Attributes every LogRecord has: anything else on a record came from ``extra=`` and is logged as a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's coloured copy of the message
}
NO_REQUEST = "-"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] [%(process)d] %(message)s"  # which worker said it


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on the record as ``request_id`` ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id() or NO_REQUEST
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        if (rid := getattr(record, "request_id", None) or request_id()) not in (None, NO_REQUEST):
            entry["request_id"] = rid
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        return orjson.dumps(entry, default=str).decode()


def log_format(settings: Settings) -> str:
    if settings.log_format == "auto":
        return "text" if settings.env == "development" else "json"
    return settings.log_format


def log_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the process: one stderr handler in the chosen format on the root logger,
    uvicorn's loggers propagating to it (importable names only, so uvicorn can hand it to worker processes)."""
    level = settings.log_level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "gateway.observability.logs.RequestIdFilter"}},
        "formatters": {
            "json": {"()": "gateway.observability.logs.JsonFormatter"},
            "text": {"format": TEXT_FORMAT},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": log_format(settings),
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure(settings: Settings) -> None:
    logging.config.dictConfig(log_config(settings))
