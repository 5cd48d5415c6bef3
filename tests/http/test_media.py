"""Accept and Content-Type parsing: which media type a GraphQL response is sent as."""

from __future__ import annotations

import pytest

from gateway.http.media import GRAPHQL_RESPONSE, JSON, accepts_html, negotiate, parse_accept, parse_media_type


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        ("text/plain", JSON),  # nothing acceptable: JSON all the same
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        ("Application/GraphQL-Response+JSON", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}; charset=utf-8", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}; charset=latin-1", JSON),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),  # equal: the new type
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", JSON),
        (f"application/json;q=0.5, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0, */*", JSON),
        (f"application/json;q=0, {GRAPHQL_RESPONSE};q=0.1", GRAPHQL_RESPONSE),
        ("application/json;q=0.4, */*;q=0.8", GRAPHQL_RESPONSE),  # the wildcard gives it the higher quality
        ("application/json, */*", JSON),
        (f"{GRAPHQL_RESPONSE};q=abc, application/json", JSON),  # an invalid q drops its range
        (f"{GRAPHQL_RESPONSE};q=2", JSON),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", JSON),  # a browser
    ],
)
def test_negotiate(accept: str | None, expected: str) -> None:
    assert negotiate(accept) == expected


def test_parse_accept_keeps_params_apart_from_quality() -> None:
    (json, anything, garbage) = ("application/json; charset=UTF-8; q=0.5", "*/*;q=0.1", "nonsense")
    ranges = parse_accept(f"{json}, {anything}, {garbage}, */json")
    assert [(r.type, r.subtype, r.params, r.q) for r in ranges] == [
        ("application", "json", {"charset": "UTF-8"}, 0.5),
        ("*", "*", {}, 0.1),
    ]


def test_parse_media_type() -> None:
    assert parse_media_type('Application/JSON; Charset="utf-8"') == ("application/json", {"charset": "utf-8"})
    assert parse_media_type("") == ("", {})


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/html,application/xhtml+xml,*/*;q=0.8", True),
        ("text/html;q=0, */*", False),
        ("*/*", False),  # curl
        ("text/*", False),
        (None, False),
    ],
)
def test_accepts_html_only_when_named(accept: str | None, expected: bool) -> None:
    assert accepts_html(accept) is expected
