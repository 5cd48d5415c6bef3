"""Media types: reading ``Content-Type`` and ``Accept`` (RFC 9110 §12.5.1), and picking the response's type.

GraphQL over HTTP answers ``application/graphql-response+json`` to clients that ask for it and
``application/json`` to everyone else (no Accept, ``*/*``, or only ``application/json``): clients that predate
the new type get what they expect, and the status codes that differ between the two stay opt-in.
Quoted parameter values containing ``,`` or ``;`` are not supported (no client sends them in these headers).
"""

from __future__ import annotations

from dataclasses import dataclass

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
HTML = "text/html"

# How specifically a media range names a media type: the most specific matching range decides its quality.
_ANY, _TYPE, _EXACT, _EXACT_WITH_PARAMS = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class MediaRange:
    type: str
    subtype: str
    params: dict[str, str]
    q: float


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """``'Application/JSON; charset="UTF-8"'`` -> ``('application/json', {'charset': 'UTF-8'})``."""
    media_type, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        name, sep, param_value = part.partition("=")
        if sep and name.strip():
            params[name.strip().lower()] = param_value.strip().strip('"')
    return media_type.strip().lower(), params


def parse_accept(header: str) -> list[MediaRange]:
    """The media ranges of an Accept header; malformed ranges and invalid q values are skipped."""
    ranges = []
    for item in header.split(","):
        media_type, params = parse_media_type(item)
        kind, sep, subtype = media_type.partition("/")
        if not sep or not kind or not subtype or (kind == "*" and subtype != "*"):
            continue
        q = _quality(params.pop("q", "1"))
        if q is not None:
            ranges.append(MediaRange(kind, subtype, params, q))
    return ranges


def _quality(value: str) -> float | None:
    try:
        q = float(value)
    except ValueError:
        return None
    return q if 0 <= q <= 1 else None  # also rejects nan and inf


def _match(ranges: list[MediaRange], media_type: str) -> tuple[float, int]:
    """(quality, specificity) of ``media_type`` (sent with charset=utf-8) under the most specific matching range."""
    kind, _, subtype = media_type.partition("/")
    best: tuple[float, int] = (0.0, -1)
    for r in ranges:
        if r.type == kind and r.subtype == subtype:
            if r.params and {k: v.lower() for k, v in r.params.items()} != {"charset": "utf-8"}:
                continue  # a range with parameters matches only a type with exactly those
            specificity = _EXACT_WITH_PARAMS if r.params else _EXACT
        elif r.type == kind and r.subtype == "*":
            specificity = _TYPE
        elif r.type == "*":
            specificity = _ANY
        else:
            continue
        if specificity > best[1]:
            best = (r.q, specificity)
    return best


def negotiate(accept: str | None) -> str:
    """The response media type for this Accept header: ``GRAPHQL_RESPONSE`` or ``JSON``.

    The higher quality wins. On a tie ``GRAPHQL_RESPONSE`` wins if the client named it, and ``JSON`` wins if both
    were matched by wildcards only (``*/*``, ``application/*``). Nothing acceptable: ``JSON`` all the same.
    """
    if not accept or not accept.strip():
        return JSON
    ranges = parse_accept(accept)
    graphql_q, graphql_specificity = _match(ranges, GRAPHQL_RESPONSE)
    json_q, _ = _match(ranges, JSON)
    if graphql_q <= 0 or graphql_q < json_q:
        return JSON
    if graphql_q > json_q or graphql_specificity >= _EXACT:
        return GRAPHQL_RESPONSE
    return JSON


def accepts_html(accept: str | None) -> bool:
    """The client names text/html (a browser), not merely ``*/*`` (curl, fetch)."""
    q, specificity = _match(parse_accept(accept or ""), HTML)
    return q > 0 and specificity >= _EXACT
