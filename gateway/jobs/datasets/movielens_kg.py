"""Helpers for movielens.py: parsing RecBole's atomic files (users, items, ratings) and joining the KG to items.

RecBole's files are tab separated with a header whose column names carry a type suffix (``item_id:token``,
``rating:float``, ``class:token_seq``); the suffixes are stripped. A row that cannot be read is reported as a
:class:`Problem` with its 1-based line number (the header is line 1), never silently dropped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Container, Iterator

from gateway.jobs.datasets.rows import Problem

_TITLE_YEAR = re.compile(r"\((\d{4})\)\s*$")

# The knowledge-graph relations kept as product attributes (relation -> attribute name), chosen from the data:
# the relations whose head is a linked movie, ranked by how many of the 1,682 movies they cover (country 1593,
# directed_by 1590, language 1588, actor 1565, produced_by 1367, written_by 1336). ``film.film.genre`` (1596) is
# left out: the item file's genres already give every movie its genres, by name. Freebase tails have no names in
# the data, so the values are the tail entity ids (``m.…``), sorted.
KG_RELATIONS: dict[str, str] = {
    "film.film.country": "country",
    "film.film.directed_by": "directed_by",
    "film.film.language": "language",
    "film.film.actor": "actor",
    "film.film.produced_by": "produced_by",
    "film.film.written_by": "written_by",
}


def column_name(header_field: str) -> str:
    """``item_id:token`` -> ``item_id``."""
    return header_field.split(":", 1)[0].strip()


def read_table(
    name: str, text: str, required: tuple[str, ...], problems: list[Problem]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_number, {column: value})`` for each well-formed row of one atomic file.

    A missing required column makes the whole file unusable (one problem on line 1); a row with the wrong
    number of columns is reported and skipped. Blank lines are not rows.
    """
    lines = text.splitlines()
    if not lines:
        problems.append(Problem(name, 1, "empty file: no header"))
        return
    columns = [column_name(field) for field in lines[0].split("\t")]
    missing = [column for column in required if column not in columns]
    if missing:
        problems.append(Problem(name, 1, f"header lacks column(s) {', '.join(missing)}"))
        return
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(columns):
            problems.append(Problem(name, number, f"expected {len(columns)} columns, got {len(fields)}"))
            continue
        yield number, dict(zip(columns, fields, strict=True))


def parse_id(value: str) -> int | None:
    """A positive integer id, or None."""
    text = value.strip()
    if not text.isdigit():  # also rejects signs, decimals and non-ASCII digits
        return None
    number = int(text)
    return number if number > 0 else None


def parse_whole(value: str) -> int | None:
    """An integral number written as ``3`` or ``3.0`` (RecBole's ``:float`` columns), or None."""
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if not number.is_integer():
        return None
    return int(number)


def _year(raw: str, title: str) -> int | None:
    text = raw.strip()
    match = _TITLE_YEAR.search(title)
    year = int(text) if text.isdigit() else int(match.group(1)) if match else None
    return year if year is not None and 1800 <= year <= 2100 else None


def read_users(text: str, problems: list[Problem]) -> dict[int, dict[str, str]]:
    name, users = "ml-100k.user", {}
    for number, row in read_table(name, text, ("user_id", "age", "gender", "occupation", "zip_code"), problems):
        user_id, age = parse_id(row["user_id"]), row["age"].strip()
        if user_id is None:
            problems.append(Problem(name, number, f"user_id {row['user_id']!r} is not a positive integer"))
        elif user_id in users:
            problems.append(Problem(name, number, f"duplicate user {user_id}"))
        elif age and not age.isdigit():
            problems.append(Problem(name, number, f"age {age!r} is not an integer"))
        else:
            users[user_id] = row
    return users


def read_items(text: str, problems: list[Problem]) -> dict[int, tuple[str, int | None, list[str]]]:
    """item id -> (title, year, genres as written)."""
    name, items = "ml-100k.item", {}
    for number, row in read_table(name, text, ("item_id", "movie_title", "release_year", "class"), problems):
        item_id, title = parse_id(row["item_id"]), row["movie_title"].strip()
        if item_id is None:
            problems.append(Problem(name, number, f"item_id {row['item_id']!r} is not a positive integer"))
        elif item_id in items:
            problems.append(Problem(name, number, f"duplicate item {item_id}"))
        elif not title:
            problems.append(Problem(name, number, "empty movie_title"))
        else:
            genres = sorted(set(row["class"].split()))
            items[item_id] = (title, _year(row["release_year"], title), genres)
    return items


def _rating(
    row: dict[str, str], users: Container[int], items: Container[int], seen: set[tuple[int, int]]
) -> tuple[int, int, int, int] | str:
    """``(user, timestamp, item, rating)`` from one ml-100k.inter row, or why it cannot be loaded."""
    user_id, item_id = parse_id(row["user_id"]), parse_id(row["item_id"])
    rating, timestamp = parse_whole(row["rating"]), parse_whole(row["timestamp"])
    if user_id is None or item_id is None:
        return f"ids {row['user_id']!r}, {row['item_id']!r} are not positive integers"
    if rating is None or not 1 <= rating <= 5:
        return f"rating {row['rating']!r} is not an integer in 1..5"
    if timestamp is None or timestamp < 0:
        return f"timestamp {row['timestamp']!r} is not a unix time"
    if user_id not in users:
        return f"rating by unknown user {user_id}"
    if item_id not in items:
        return f"rating of unknown item {item_id}"
    if (user_id, item_id) in seen:
        return f"duplicate rating of item {item_id} by user {user_id}"
    return user_id, timestamp, item_id, rating


def read_ratings(
    text: str, users: Container[int], items: Container[int], problems: list[Problem]
) -> list[tuple[int, int, int, int]]:
    """(user, timestamp, item, rating), sorted: by user, then time, then item id."""
    name, seen, ratings = "ml-100k.inter", set[tuple[int, int]](), []
    for number, row in read_table(name, text, ("user_id", "item_id", "rating", "timestamp"), problems):
        parsed = _rating(row, users, items, seen)
        if isinstance(parsed, str):
            problems.append(Problem(name, number, parsed))
            continue
        seen.add((parsed[0], parsed[2]))
        ratings.append(parsed)
    ratings.sort()
    return ratings


def read_links(text: str, items: set[int], problems: list[Problem]) -> dict[str, int]:
    """ml-100k.link: entity id -> item id, for known items; unknown items and duplicates are problems."""
    name = "ml-100k.link"
    entities: dict[str, int] = {}
    linked: set[int] = set()
    for number, row in read_table(name, text, ("item_id", "entity_id"), problems):
        item_id = parse_id(row["item_id"])
        entity = row["entity_id"].strip()
        if item_id is None:
            problems.append(Problem(name, number, f"item_id {row['item_id']!r} is not a positive integer"))
        elif item_id not in items:
            problems.append(Problem(name, number, f"link for unknown item {item_id}"))
        elif not entity:
            problems.append(Problem(name, number, "empty entity_id"))
        elif item_id in linked or entity in entities:
            problems.append(Problem(name, number, f"duplicate link for item {item_id} / entity {entity}"))
        else:
            entities[entity] = item_id
            linked.add(item_id)
    return entities


def kg_attributes(
    kg_text: str, link_text: str, items: set[int], problems: list[Problem]
) -> dict[int, dict[str, list[str]]]:
    """item id -> {attribute name: sorted tail entity ids} for the relations in :data:`KG_RELATIONS`.

    Triples whose head is not a linked movie, or whose relation is not kept, are ordinary data, not problems.
    """
    entities = read_links(link_text, items, problems)
    facts: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for _number, row in read_table("ml-100k.kg", kg_text, ("head_id", "relation_id", "tail_id"), problems):
        attribute = KG_RELATIONS.get(row["relation_id"].strip())
        item_id = entities.get(row["head_id"].strip())
        tail = row["tail_id"].strip()
        if attribute is not None and item_id is not None and tail:
            facts[item_id][attribute].add(tail)
    return {
        item_id: {attribute: sorted(values) for attribute, values in sorted(by_attribute.items())}
        for item_id, by_attribute in sorted(facts.items())
    }
