"""MovieLens-100K read out of the recbole wheel: counts, the order split, the registry, problems on bad rows."""

from __future__ import annotations

import math
import subprocess
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.domain.attributes import AttributeValue
from gateway.jobs.datasets.movielens import ensure_wheel, load, load_from_texts, price_cents
from gateway.jobs.datasets.movielens_kg import KG_RELATIONS
from gateway.jobs.datasets.rows import Dataset, Problem

CACHE_DIR = Path.home() / ".cache" / "polyglot-gateway"
EXPECTED_ORDERS = 21_184


@pytest.fixture(scope="session")
def wheel() -> Path:
    return ensure_wheel(CACHE_DIR)


@pytest.fixture(scope="session")
def movielens(wheel: Path) -> Dataset:
    return load(wheel)


def test_ensure_wheel_reports_pip_failures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_run(command: list[str], **_kwargs: object) -> subprocess.CompletedProcess[str]:
        assert command[1:4] == ["-m", "pip", "download"]
        assert command[-2:] == ["-d", str(tmp_path / "wheels")]
        return subprocess.CompletedProcess(command, 1, "", "ERROR: no network")

    monkeypatch.setattr(subprocess, "run", failing_run)
    with pytest.raises(RuntimeError, match="no network"):
        ensure_wheel(tmp_path)


def test_cached_wheel_is_reused(wheel: Path) -> None:
    assert ensure_wheel(CACHE_DIR) == wheel
    assert wheel.name == "recbole-1.2.1-py3-none-any.whl"


def has_type(value: AttributeValue, kind: str) -> bool:
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, float)
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def expected_order_lines(dataset: Dataset) -> list[tuple[int, list[int]]]:
    """Independently: per user, ratings by (time, item id), a new order per UTC day or after 5 lines."""
    by_user: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for rating in dataset.ratings:
        by_user[rating.user_id].append((rating.created_at, rating.product_id))
    result: list[tuple[int, list[int]]] = []
    for user_id in sorted(by_user):
        by_day: dict[object, list[int]] = defaultdict(list)
        for created_at, product_id in sorted(by_user[user_id]):
            by_day[created_at.astimezone(UTC).date()].append(product_id)
        for _day, products in sorted(by_day.items()):
            result += [(user_id, products[start : start + 5]) for start in range(0, len(products), 5)]
    return result


def test_counts_and_no_problems(movielens: Dataset) -> None:
    assert len(movielens.users) == 943
    assert len(movielens.products) == 1_682
    assert len(movielens.ratings) == 100_000
    assert movielens.problems == []
    assert len(movielens.categories) == 20  # the root and 19 genres, "unknown" included
    assert len(movielens.product_documents) == 1_682
    assert len(movielens.profiles) == 943


def test_order_count_matches_an_independent_count(movielens: Dataset) -> None:
    per_day = Counter((rating.user_id, rating.created_at.astimezone(UTC).date()) for rating in movielens.ratings)
    assert sum(math.ceil(count / 5) for count in per_day.values()) == len(movielens.orders) == EXPECTED_ORDERS


def test_orders_are_split_per_day_in_time_order(movielens: Dataset) -> None:
    prices = {product.id: product.price_cents for product in movielens.products}
    rated_at = {(rating.user_id, rating.product_id): rating.created_at for rating in movielens.ratings}
    expected = expected_order_lines(movielens)
    assert [(order.user_id, [item.product_id for item in order.items]) for order in movielens.orders] == expected
    sequence: Counter[int] = Counter()
    for number, order in enumerate(movielens.orders, start=1):
        sequence[order.user_id] += 1
        assert order.id == number
        assert order.idempotency_key == f"ml100k:{order.user_id}:{sequence[order.user_id]}"
        assert order.status == "delivered"
        assert order.created_at == rated_at[(order.user_id, order.items[0].product_id)]
        assert 1 <= len(order.items) <= 5
        assert len({item.product_id for item in order.items}) == len(order.items)
        assert all(item.quantity == 1 and item.unit_price_cents == prices[item.product_id] for item in order.items)
    keys = [(order.user_id, order.created_at, order.items[0].product_id) for order in movielens.orders]
    assert keys == sorted(keys)


def test_timestamp_ties_are_broken_by_item_id(movielens: Dataset) -> None:
    rated_at = {(rating.user_id, rating.product_id): rating.created_at for rating in movielens.ratings}
    ties = 0
    for order in movielens.orders:
        for before, after in zip(order.items, order.items[1:], strict=False):
            first = rated_at[(order.user_id, before.product_id)]
            second = rated_at[(order.user_id, after.product_id)]
            assert first <= second
            if first == second:
                ties += 1
                assert before.product_id < after.product_id
    assert ties > 1_000  # the data is full of same-second ratings: the check above is not vacuous


def test_loading_is_deterministic(wheel: Path, movielens: Dataset) -> None:
    again = load(wheel)
    assert again == movielens
    assert [product.price_cents for product in again.products] == [price_cents(p.id) for p in movielens.products]
    assert len({product.sku for product in movielens.products}) == 1_682


def test_users_products_and_categories(movielens: Dataset) -> None:
    first_rating: dict[int, datetime] = {}
    for rating in movielens.ratings:
        assert rating.created_at.tzinfo is not None
        assert 1 <= rating.rating <= 5
        first_rating[rating.user_id] = min(rating.created_at, first_rating.get(rating.user_id, rating.created_at))
    user = movielens.users[0]
    assert (user.id, user.age, user.gender, user.occupation, user.zip_code) == (1, 24, "M", "technician", "85711")
    assert all(user.created_at == first_rating[user.id] for user in movielens.users)
    assert movielens.categories[0].parent_id is None
    assert all(category.parent_id == 1 for category in movielens.categories[1:])
    names = [category.name for category in movielens.categories[1:]]
    assert names == sorted(names)
    by_name = {category.name: category.id for category in movielens.categories}
    toy_story = movielens.products[0]
    assert toy_story.title == "Toy Story"
    assert toy_story.release_year == 1995
    assert toy_story.created_at == datetime(1995, 1, 1, tzinfo=UTC)
    assert toy_story.category_ids == tuple(sorted(by_name[name] for name in ("Animation", "Children's", "Comedy")))
    assert all(product.category_ids == tuple(sorted(product.category_ids)) for product in movielens.products)


def test_documents_only_carry_registered_attributes(movielens: Dataset) -> None:
    registry: dict[int, dict[str, str]] = defaultdict(dict)
    for spec in movielens.registry:
        registry[spec.category_id][spec.name] = spec.type
    assert set(registry) == {category.id for category in movielens.categories}
    categories = {product.id: product.category_ids for product in movielens.products}
    for document in movielens.product_documents:
        for name, value in document.attributes.items():
            kinds = [registry[category_id].get(name) for category_id in categories[document.product_id]]
            assert any(kind is not None and has_type(value, kind) for kind in kinds), (document.product_id, name)
    toy_story = movielens.product_documents[0]
    assert toy_story.description == "Toy Story (1995)"
    assert toy_story.tags == ("animation", "children's", "comedy")
    assert toy_story.attributes["genres"] == ["Animation", "Children's", "Comedy"]
    assert set(KG_RELATIONS.values()) <= set(toy_story.attributes)
    with_director = sum("directed_by" in document.attributes for document in movielens.product_documents)
    assert with_director > 1_500


def test_profiles(movielens: Dataset) -> None:
    genres = {document.product_id: document.attributes["genres"] for document in movielens.product_documents}
    liked: Counter[str] = Counter()
    stars = [rating.rating for rating in movielens.ratings if rating.user_id == 1]
    for rating in movielens.ratings:
        if rating.user_id == 1 and rating.rating >= 4:
            value = genres[rating.product_id]
            assert isinstance(value, list)
            liked.update(value)
    top = [name for name, _count in sorted(liked.items(), key=lambda pair: (-pair[1], pair[0]))[:3]]
    profile = movielens.profiles[0]
    assert profile.user_id == 1
    assert profile.preferences == {"genres": top}
    assert profile.stats == {"ratings": len(stars), "rating_avg": round(sum(stars) / len(stars), 3)}


USERS = "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
ITEMS = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
INTER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"


def test_bad_rows_are_reported_with_their_line_and_not_loaded() -> None:
    texts = {
        "ml-100k.user": USERS
        + "1\t24\tM\ttechnician\t85711\n"  # 2
        + "2\t53\tF\tother\t94043\n"  # 3
        + "x\t20\tM\tother\t12345\n"  # 4: non-integer id
        + "3\t30\tF\tother\n"  # 5: wrong column count
        + "1\t40\tF\twriter\t00000\n"  # 6: duplicate user
        + "4\tforty\tF\twriter\t00000\n",  # 7: non-integer age
        "ml-100k.item": ITEMS
        + "1\tToy Story\t1995\tAnimation Comedy\n"  # 2
        + "2\tGoldenEye\t1995\tAction\n"  # 3
        + "2.5\tHalf\t1990\tDrama\n"  # 4: non-integer id
        + "3\tNo Year\tunknown\tDrama\textra\n",  # 5: wrong column count
        "ml-100k.inter": INTER
        + "1\t1\t4\t881250949\n"  # 2
        + "1\t2\t6\t881250950\n"  # 3: rating out of range
        + "2\t1\t0\t881250951\n"  # 4: rating out of range
        + "9\t1\t3\t881250952\n"  # 5: unknown user
        + "1\t9\t3\t881250953\n"  # 6: unknown item
        + "1\t1\t5\t881250954\n"  # 7: duplicate (user, item)
        + "a\t2\t3\t881250955\n"  # 8: non-integer id
        + "2\t2\t3\n"  # 9: wrong column count
        + "2\t2\t3.5\t881250956\n"  # 10: not an integer rating
        + "3\t2\t3\t881250957\n"  # 11: user 3's line was bad: unknown user
        + "2\t2\t5\t881250958\n",  # 12
        "ml-100k.link": "item_id:token\tentity_id:token\n1\tm.toy\n7\tm.none\n",  # 3: unknown item
        "ml-100k.kg": "head_id:token\trelation_id:token\ttail_id:token\nm.toy\tfilm.film.directed_by\tm.lasseter\n",
    }
    dataset = load_from_texts(texts)
    assert {(problem.source, problem.line) for problem in dataset.problems} == {
        ("ml-100k.user", 4),
        ("ml-100k.user", 5),
        ("ml-100k.user", 6),
        ("ml-100k.user", 7),
        ("ml-100k.item", 4),
        ("ml-100k.item", 5),
        *(("ml-100k.inter", line) for line in (3, 4, 5, 6, 7, 8, 9, 10, 11)),
        ("ml-100k.link", 3),
    }
    assert len(dataset.problems) == 16
    assert all(isinstance(problem, Problem) and problem.reason for problem in dataset.problems)
    assert [(user.id, user.occupation) for user in dataset.users] == [(1, "technician"), (2, "other")]
    assert [product.id for product in dataset.products] == [1, 2]
    assert [(r.user_id, r.product_id, r.rating) for r in dataset.ratings] == [(1, 1, 4), (2, 2, 5)]
    assert dataset.product_documents[0].attributes["directed_by"] == ["m.lasseter"]
    assert [order.idempotency_key for order in dataset.orders] == ["ml100k:1:1", "ml100k:2:1"]


def test_header_only_problem_when_a_column_is_missing() -> None:
    dataset = load_from_texts({"ml-100k.user": USERS, "ml-100k.item": "item_id:token\n1\n", "ml-100k.inter": INTER})
    assert dataset.problems == [Problem("ml-100k.item", 1, "header lacks column(s) movie_title, release_year, class")]


def test_day_split_ties_and_missing_genres() -> None:
    day = 86_400 * 10_000  # midnight UTC
    lines = [(item, day + 5) for item in (7, 3, 5, 1, 6, 2)] + [(4, day + 86_399), (8, day + 86_400)]
    texts = {
        "ml-100k.user": USERS + "1\t\t\t\t\n",
        "ml-100k.item": ITEMS
        + "".join(f"{item}\tMovie {item}\t1990\tDrama\n" for item in range(1, 8))
        + "8\tNo Genre (1977)\tV\t\n",
        "ml-100k.inter": INTER + "".join(f"1\t{item}\t4\t{ts}\n" for item, ts in lines),
    }
    dataset = load_from_texts(texts)
    assert dataset.problems == []
    assert [[item.product_id for item in order.items] for order in dataset.orders] == [[1, 2, 3, 5, 6], [7, 4], [8]]
    assert [order.created_at for order in dataset.orders] == [
        datetime.fromtimestamp(day + 5, UTC),
        datetime.fromtimestamp(day + 5, UTC),
        datetime.fromtimestamp(day + 86_400, UTC),
    ]
    user = dataset.users[0]
    assert (user.age, user.gender, user.occupation, user.zip_code) == (None, None, None, None)
    no_genre = dataset.products[-1]
    assert no_genre.category_ids == (1,)  # no "unknown" genre in this data: the root only
    assert no_genre.release_year == 1977  # the year field is broken, the title carries it
    with_unknown = load_from_texts({**texts, "ml-100k.item": texts["ml-100k.item"] + "9\tOther\t1990\tunknown\n"})
    assert with_unknown.products[7].category_ids == (with_unknown.categories[-1].id,)
    assert with_unknown.categories[-1].name == "unknown"
