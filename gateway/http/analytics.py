"""What a GraphQL request over HTTP tells the analytics (docs/analytics.md): the client's device, and the products
it marks as viewed.

A client marks a read as a product view with a header, ``X-Gateway-View: 50`` (or ``50,51``, at most
``MAX_VIEWS`` ids), on the request that reads the product page. The views are recorded here, before the answer is
looked up, so they count whatever serves the answer (the plan, strawberry's executor, the response cache in memory
or in Redis) and nothing about them can fail or slow the read: recording is an append to the process's buffer
(gateway/stores/mongo/recorder.py), a malformed header is ignored, and the ids are not looked up (an id that is no
product stays an event that no report joins). A mutation would have cost the client a second request; a field
argument would have changed the document, and so the plan and the response cache's key.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.requests import Request

from gateway.auth import Viewer, session_from
from gateway.config import Settings
from gateway.stores import Sources
from gateway.stores.mongo.recorder import EventRecorder

VIEW_HEADER = "x-gateway-view"
MAX_VIEWS = 20
_VIEWS = re.compile(r"^\s*[1-9][0-9]{0,17}(\s*,\s*[1-9][0-9]{0,17}){0,19}\s*$")
_DEVICE = re.compile(r"^[a-z0-9_-]{1,32}$")


def device_of(headers: Headers) -> str | None:
    """``X-Device`` when the client says (``ios``, ``android``, ``web``…: 1 to 32 of a-z, 0-9, _ and -), else
    ``tablet``, ``mobile`` or ``web`` from the User-Agent; None without either."""
    said = headers.get("x-device")
    if said is not None and _DEVICE.match(said := said.strip().lower()):
        return said
    agent = headers.get("user-agent")
    if agent is None:
        return None
    if "iPad" in agent or "Tablet" in agent:
        return "tablet"
    if "Mobile" in agent or "Android" in agent or "iPhone" in agent:
        return "mobile"
    return "web"


def viewed_ids(header: str | None) -> list[int]:
    """The product ids of an ``X-Gateway-View`` header; none when it is absent or malformed."""
    if header is None or not _VIEWS.match(header):
        return []
    return [int(part) for part in header.split(",")]


def observe(sources: Sources, request: Request, settings: Settings, viewer: Viewer | None) -> None:
    """What every GraphQL request over HTTP records: its session's activity (gateway/stores/redis/sessions.py)
    and the views its ``X-Gateway-View`` names. Both only remember in memory: never a wait, never an error."""
    headers = request.headers
    session_id = session_from(headers.get("x-session-id"), request.cookies.get(settings.session_cookie))
    header = headers.get(VIEW_HEADER)
    if session_id is None and header is None:
        return
    device = device_of(headers)
    if session_id is not None:
        sources.redis.sessions.touch(session_id, device)
    if header is not None:
        record_views(sources.mongodb.events, header, viewer, session_id, device)


def record_views(
    recorder: EventRecorder, header: str, viewer: Viewer | None, session_id: str | None, device: str | None
) -> None:
    """A view event per product the ``X-Gateway-View`` header names, by the viewer or the session."""
    user_id = None if viewer is None else viewer.user_id
    for product_id in viewed_ids(header):
        recorder.record("view", user_id=user_id, session_id=session_id, device=device, product_id=product_id)
