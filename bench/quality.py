"""Recommendation quality on MovieLens-100K, leave-last-out, asked of the gateway's own GraphQL API.

    .venv/bin/python bench/quality.py [--batch 10] [--keep] [--fresh] [--write]

Each user's last rating (the greatest (timestamp, item id): of ratings in the same second, the higher item id) is
held out; the rest is seeded into a SECOND set of servers of the bench's own (MySQL 3307, Redis 6380, MongoDB
27018, Neo4j 7688, state in .services-eval/), started with scripts/services and stopped at the end (``--keep``
leaves it running; ``--fresh`` wipes its state first). The demo and test data on the usual ports is never touched:
Neo4j Community has one graph per server, so the split needs a server of its own. Another set may run on
3308/6381/27019/7689 (scale runs). ``--services`` and ``--state-dir`` point at another checkout's script and
state (say, the main checkout's, whose .venv the script uses).

Then: the held-out pairs are asserted absent from MySQL (ratings, order lines), MongoDB (events) and Neo4j (any
relationship between the two nodes), and the training pairs present; every user's top 10 is asked of the
in-process app (httpx ASGITransport, an admin token, default limits: ``--batch`` users per request as aliases of
``recommendations(userId, limit: 10, strategy)``), for each strategy; HR@10 and NDCG@10 are computed beside
popularity and item-kNN (cosine) baselines computed here from the same training data (bench/evaluation.py).
Also: the ``graph`` strategy's scoring in matrix form, against which the Cypher's lists are compared, and the
validation split (each user's second-to-last rating, never the last) on which its constants were chosen.

The preference-aware row: each user's preferred genres are derived from their TRAINING ratings only (the 3 genres
most frequent among the films they rated 4 or 5, bench/evaluation.py ``liked_genres``), set through the gateway's
own ``updateProfile`` as that user, and the lists asked with ``usePreferences: true`` (``GRAPH``); the weight
(gateway/domain/preferences.py ``BOOST``) was chosen on the validation split, with preferences derived without the
validation rating either.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import evaluation
import httpx
from markdown import replace_section  # bench/ is sys.path[0] when run as a script
from read_path import counts, expected_counts, machine, serve

from gateway.auth import mint
from gateway.config import Settings
from gateway.domain import preferences as prefs
from gateway.jobs.datasets import holdout, movielens
from gateway.jobs.datasets.rows import Dataset
from gateway.jobs.migrate import ensure_document_and_graph_schema, upgrade_mysql
from gateway.jobs.seeding import Seeder
from gateway.stores import Sources
from gateway.stores.neo4j import recommendations as recs
from loaders.keys import MAX_TOP
from schema.types.strategies import RecommendationStrategy

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Recommendation quality"
TOP = 10
PORTS = {"mysql": 3307, "redis": 6380, "mongodb": 27018, "neo4j": 7688}  # the shared set: 3306/6379/27017/7687
DATABASE = "gateway_eval"
ADMIN_ID = 1  # any seeded user; the role makes the admin
STRATEGIES = {member.name: member.strategy for member in RecommendationStrategy}  # GraphQL enum -> strategy
WARM_UPS = 3  # at most, of the first batch: on a cold page cache it may time out (then it is sent again)
TUNING = {"half_life": (1.0, 2.0, 4.0), "neighbours": (50, 100, 200)}  # validation grid, recent = recs.RECENT
BOOSTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1.0, 2.0)  # validation grid of the preferences' weight
WEIGHED = "graph+preferences"  # the preference-aware list's key among the asked


def eval_settings() -> Settings:
    """The gateway pointed at the bench's own servers. No entity cache: every list is computed in this run."""
    return Settings(
        mysql_url=f"mysql+asyncmy://gateway@127.0.0.1:{PORTS['mysql']}/{DATABASE}",
        mongo_url=f"mongodb://127.0.0.1:{PORTS['mongodb']}/",
        mongo_database=DATABASE,
        neo4j_url=f"bolt://127.0.0.1:{PORTS['neo4j']}",
        redis_url=f"redis://127.0.0.1:{PORTS['redis']}/0",
        entity_cache=False,
        graphiql=False,
    )


def services(script: Path, state: Path, command: str) -> None:
    env = os.environ | {
        "GATEWAY_SERVICES_DIR": str(state),
        "GATEWAY_MYSQL_URL": eval_settings().mysql_url,
        "GATEWAY_MONGO_URL": eval_settings().mongo_url,
        "GATEWAY_NEO4J_URL": eval_settings().neo4j_url,
        "GATEWAY_REDIS_URL": eval_settings().redis_url,
    }
    print(f"$ GATEWAY_SERVICES_DIR={state} … {script} {command}", flush=True)
    subprocess.run([str(script), command], env=env, check=True)


def wipe(script: Path, state: Path) -> None:
    if state.resolve() == (script.resolve().parents[1] / ".services").resolve():
        raise SystemExit(f"refusing to wipe {state}: the shared servers' state")
    services(script, state, "down")
    shutil.rmtree(state, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Data:
    dataset: Dataset  # MovieLens without the held-out ratings: what is seeded
    held_out: dict[int, int]
    train: dict[int, dict[int, float]]  # user -> product -> time of the rating (seconds)
    catalogue: list[int]

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return sorted(self.held_out.items())

    @property
    def genres_of(self) -> dict[int, set[str]]:
        """Each film's genres: the names of its categories, as the gateway matches them."""
        names = {category.id: category.name for category in self.dataset.categories}
        return {p.id: {names[c] for c in p.category_ids} for p in self.dataset.products}

    def liked(self, without: dict[int, int] | None = None) -> dict[int, list[str]]:
        """Each user's preferred genres from their training ratings (less ``without``'s (user, film) pairs)."""
        left = without or {}
        stars = (
            (r.user_id, r.product_id, r.rating) for r in self.dataset.ratings if left.get(r.user_id) != r.product_id
        )
        return evaluation.liked_genres(stars, self.genres_of)


def load_data(settings: Settings) -> Data:
    split = holdout.leave_last_out(movielens.read_texts(movielens.ensure_wheel(settings.cache_dir)))
    dataset = movielens.load_from_texts(split.texts)
    if dataset.problems:
        raise SystemExit(f"the split does not parse: {dataset.problems[:3]}")
    train = holdout.training_times(dataset.ratings)
    return Data(dataset, split.held_out, train, sorted(product.id for product in dataset.products))


async def stores_hold(settings: Settings, data: Data) -> tuple[dict[str, int], dict[str, int]]:
    """(rows per MySQL table and Mongo collection, held-out pairs found per store)."""
    await asyncio.to_thread(upgrade_mysql, settings)
    sources = Sources.create(settings)
    try:
        await ensure_document_and_graph_schema(sources)
        return await counts(sources), await evaluation.held_out_present(sources, data.pairs)
    finally:
        await sources.close()


async def seed(settings: Settings, data: Data) -> list[str]:
    """Seed the split (idempotent), then check: held-out pairs absent everywhere, training pairs present."""
    sources = Sources.create(settings)
    try:
        report = await Seeder(sources, progress=False).seed(data.dataset)
        print(f"seeded the split: {report.writes:,} writes", flush=True)
        found = await evaluation.held_out_present(sources, data.pairs)
        if any(found.values()):
            raise SystemExit(f"held-out pairs are in the stores: {found}")
        # The check can see: each user's latest TRAINING rating (the one before the held-out) is in every place.
        latest = sorted(holdout.latest(data.train).items())
        present = await evaluation.held_out_present(sources, latest)
        where = ("mysql ratings", "mysql order_items", "neo4j RATED", "neo4j PURCHASED")
        if any(present.get(name) != len(latest) for name in where):
            raise SystemExit(f"the check does not find the {len(latest)} latest training pairs: {present}")
        infos = [await source.server_info() for source in (sources.mysql, sources.mongodb, sources.neo4j)]
        return [f"{info.server} {info.version}" for info in infos]
    finally:
        await sources.close()


def document(users: Sequence[int], weigh: bool = False) -> str:
    extra = ", usePreferences: true" if weigh else ""
    fields = " ".join(
        f'u{user}: recommendations(userId: "{user}", limit: {TOP}, strategy: $strategy{extra}) '
        "{ reason product { id } }"
        for user in users
    )
    return f"query Top($strategy: RecommendationStrategy!) {{ {fields} }}"


@dataclass(slots=True)
class Asked:
    lists: dict[int, list[int]] = field(default_factory=dict)
    reasons: dict[int, list[str]] = field(default_factory=dict)
    requests: int = 0
    neo4j_trips: set[int] = field(default_factory=set)
    ms: list[float] = field(default_factory=list)  # per request
    seconds: float = 0.0


async def post(
    http: httpx.AsyncClient, strategy: str, users: Sequence[int], *, check: bool = True, weigh: bool = False
) -> dict[str, Any]:
    body = {"query": document(users, weigh), "variables": {"strategy": strategy}, "extensions": {"explain": True}}
    response = await http.post("/graphql", json=body)
    payload: dict[str, Any] = response.json()
    if check and (response.status_code != 200 or payload.get("errors")):
        raise SystemExit(f"{strategy}: HTTP {response.status_code}, errors: {str(payload.get('errors'))[:1500]}")
    return payload


async def ask(
    http: httpx.AsyncClient, strategy: str, users: Sequence[int], batch: int, *, weigh: bool = False
) -> Asked:
    asked = Asked()
    for _ in range(WARM_UPS):  # not counted: Neo4j plans the query and reads the graph into its page cache
        if not (await post(http, strategy, users[:batch], check=False, weigh=weigh)).get("errors"):
            break
    start = time.perf_counter()
    for first in range(0, len(users), batch):
        chunk = users[first : first + batch]
        sent = time.perf_counter()
        payload = await post(http, strategy, chunk, weigh=weigh)
        asked.ms.append((time.perf_counter() - sent) * 1000)
        for user in chunk:
            answer = payload["data"][f"u{user}"]
            asked.lists[user] = [int(rec["product"]["id"]) for rec in answer if rec["product"] is not None]
            asked.reasons[user] = [rec["reason"] for rec in answer]
        asked.requests += 1
        asked.neo4j_trips.add(payload["extensions"]["explain"]["sources"]["neo4j"]["roundTrips"])
    asked.seconds = time.perf_counter() - start
    return asked


def row(name: str, how: str, quality: evaluation.Quality) -> str:
    return f"| {name} | {how} | {quality.users} | {quality.hits} | {quality.hit_rate:.4f} | {quality.ndcg:.4f} |"


def tuning(data: Data) -> list[str]:
    """The graph scoring on the validation split: train without each user's last two ratings, evaluate on the
    second-to-last."""
    held = holdout.latest(data.train)
    train = {user: {i: at for i, at in items.items() if i != held[user]} for user, items in data.train.items()}
    lines = [
        f"| half-life (ranks) | neighbours | recent | validation HR@{TOP} | validation NDCG@{TOP} |",
        "|---:|---:|---:|---:|---:|",
    ]
    for half_life in TUNING["half_life"]:
        for neighbours in TUNING["neighbours"]:
            scores = evaluation.recency_neighbours(
                train, data.catalogue, recent=recs.RECENT, half_life=half_life, neighbours=neighbours
            )
            q = evaluation.evaluate(scores.top(TOP, held), held, TOP)
            mark = " ← the gateway's" if (half_life, neighbours) == (recs.HALF_LIFE, recs.GRAPH_NEIGHBOURS) else ""
            lines.append(f"| {half_life:g} | {neighbours} | {recs.RECENT} | {q.hit_rate:.4f} | {q.ndcg:.4f}{mark} |")
    return lines


async def run(args: argparse.Namespace) -> tuple[list[str], str]:
    settings = eval_settings()
    data = load_data(settings)
    users = sorted(data.held_out)
    print(f"split: {len(data.dataset.ratings):,} training ratings, {len(users)} held out", flush=True)
    script, state = Path(args.services), Path(args.state_dir)
    if args.fresh:
        wipe(script, state)
    services(script, state, "up")
    try:
        found, present = await stores_hold(settings, data)
        expected = expected_counts(data.dataset)
        if (found != expected and any(found.values())) or any(present.values()):
            print(f"the eval servers hold other data ({found}; held-out pairs {present}): wiping them", flush=True)
            wipe(script, state)
            services(script, state, "up")
            await stores_hold(settings, data)
        versions = await seed(settings, data)
        asked: dict[str, Asked] = {}
        async with serve(settings, token=mint(settings, ADMIN_ID, roles=("admin",), ttl_s=4 * 3600)) as http:
            for name, strategy in STRATEGIES.items():
                asked[strategy] = await ask(http, name, users, args.batch)
                print(f"  {name}: {asked[strategy].seconds:.1f} s", flush=True)
            setting = await set_preferences(http, settings, data.liked())
            print(f"  updateProfile for {len(users)} users: {setting:.1f} s", flush=True)
            asked[WEIGHED] = await ask(http, "GRAPH", users, args.batch, weigh=True)
            print(f"  GRAPH, usePreferences: {asked[WEIGHED].seconds:.1f} s", flush=True)
    finally:
        if not args.keep:
            services(script, state, "down")

    train_sets = {user: set(items) for user, items in data.train.items()}
    popular = evaluation.popularity(train_sets, data.catalogue).top(TOP, users)
    knn = evaluation.item_knn(train_sets, data.catalogue).top(TOP, users)
    model = evaluation.recency_neighbours(
        data.train, data.catalogue, recent=recs.RECENT, half_life=recs.HALF_LIFE, neighbours=recs.GRAPH_NEIGHBOURS
    ).top(TOP, users)
    table = [
        f"| recommender | computed by | users | hits | HR@{TOP} | NDCG@{TOP} |",
        "|---|---|---:|---:|---:|---:|",
        row("popularity (baseline)", "this bench, numpy", evaluation.evaluate(popular, data.held_out, TOP)),
        row("item-kNN, cosine (baseline)", "this bench, numpy", evaluation.evaluate(knn, data.held_out, TOP)),
    ]
    for name, strategy in STRATEGIES.items():
        quality = evaluation.evaluate(asked[strategy].lists, data.held_out, TOP)
        table.append(
            row(f"`{name}`{' (default)' if strategy == recs.DEFAULT_STRATEGY else ''}", "the gateway", quality)
        )
    weighed_quality = evaluation.evaluate(asked[WEIGHED].lists, data.held_out, TOP)
    table.append(row("`GRAPH`, `usePreferences: true`", "the gateway", weighed_quality))
    notes = []
    for name, strategy in [*STRATEGIES.items(), ("GRAPH, usePreferences: true", WEIGHED)]:
        a = asked[strategy]
        short = sum(1 for user in users if len(a.lists[user]) < TOP)
        seen = sum(len(set(a.lists[user]) & train_sets[user]) for user in users)
        fallback = sum(
            1 for user in users if strategy != "popular" and any(r.startswith("Popular") for r in a.reasons[user])
        )
        trips = ", ".join(str(t) for t in sorted(a.neo4j_trips))
        notes.append(
            f"- `{name}`: {a.requests} requests of up to {args.batch} users, Neo4j round trips per request: {trips}; "
            f"{a.seconds:.1f} s in all, per request p50 {statistics.median(a.ms):.0f} ms, max {max(a.ms):.0f} ms "
            f"(after an untimed warm-up with the first batch); lists shorter than {TOP}: {short}; "
            f"already-seen products in them: {seen}; "
            f"users answered by a popularity fallback: {fallback}."
        )
    liked = data.liked()
    full = evaluation.recency_neighbours(
        data.train, data.catalogue, recent=recs.RECENT, half_life=recs.HALF_LIFE, neighbours=recs.GRAPH_NEIGHBOURS
    )
    model_weighed = evaluation.weighed(full, users, liked, data.genres_of, boost=prefs.BOOST, pool=MAX_TOP, n=TOP)
    same_weighed = sum(1 for user in users if asked[WEIGHED].lists[user] == model_weighed[user])
    lifted = sum(1 for user in users if any("matches your preferences" in r for r in asked[WEIGHED].reasons[user]))
    moved = sum(1 for user in users if asked[WEIGHED].lists[user] != asked["graph"].lists[user])
    same_popular = sum(1 for user in users if asked["popular"].lists[user] == popular[user])
    same_graph = sum(1 for user in users if asked["graph"].lists[user] == model[user])
    model_quality = evaluation.evaluate(model, data.held_out, TOP)
    notes += [
        f"- Checks: `POPULAR` through the gateway gives the popularity baseline's list for {same_popular} of "
        f"{len(users)} users (units sold = ratings here: one unit per order line). The `GRAPH` Cypher gives the same "
        f"top {TOP} as its matrix form (bench/evaluation.py `recency_neighbours`) for {same_graph} of {len(users)} "
        f"users; the matrix form scores HR@{TOP} {model_quality.hit_rate:.4f}, NDCG@{TOP} {model_quality.ndcg:.4f}"
        + (
            "."
            if same_graph == len(users)
            else " (lists can differ where floating-point sums in another order break near-ties)."
        ),
        f"- Preferences: each user's 3 genres most frequent among the films they rated 4 or 5 in the training "
        f"ratings ({sum(1 for g in liked.values() if g)} of {len(users)} users have some), set with `updateProfile` as "
        f"that user; weight {prefs.BOOST:g}. The weighed lists differ from `GRAPH`'s for "
        f"{moved} users and hold a film matching the preferences for {lifted}; they equal the matrix form's "
        f"(`recency_neighbours`, then `weighed`) for {same_weighed} of {len(users)} users, which scores HR@{TOP} "
        f"{evaluation.evaluate(model_weighed, data.held_out, TOP).hit_rate:.4f}.",
        verdict(asked, data.held_out),
        f"- Held out: {len(users)} ratings, one per user; seeded: {len(data.dataset.ratings):,} ratings, "
        f"{len(data.dataset.orders):,} orders. Before asking, the held-out pairs were found in no store (MySQL ratings "
        "and order lines, MongoDB events, Neo4j relationships of any type), while the same check found each user's "
        "latest training rating in MySQL's ratings and order lines and as RATED and PURCHASED edges.",
    ]
    body = "\n".join([*table, "", *notes, "", *tuning_block(data)]) + "\n"
    return versions, body


def verdict(asked: dict[str, Asked], held_out: dict[int, int]) -> str:
    """What the weighing did to the held-out films, against the same lists unweighed."""
    plain, weighed = (
        evaluation.evaluate(asked["graph"].lists, held_out, TOP),
        evaluation.evaluate(asked[WEIGHED].lists, held_out, TOP),
    )
    ranks = {
        name: {u: evaluation.rank_of(asked[name].lists[u], item, TOP) for u, item in held_out.items()}
        for name in ("graph", WEIGHED)
    }
    gained = sum(1 for u in held_out if ranks[WEIGHED][u] is not None and ranks["graph"][u] is None)
    lost = sum(1 for u in held_out if ranks[WEIGHED][u] is None and ranks["graph"][u] is not None)
    up = sum(1 for u in held_out if (a := ranks[WEIGHED][u]) is not None and (b := ranks["graph"][u]) and a < b)
    down = sum(1 for u in held_out if (a := ranks[WEIGHED][u]) is not None and (b := ranks["graph"][u]) and a > b)
    if weighed.ndcg > plain.ndcg and weighed.hit_rate >= plain.hit_rate:
        said = "helps"
    elif weighed.ndcg < plain.ndcg and weighed.hit_rate <= plain.hit_rate:
        said = "does not help"
    else:
        said = "is mixed"
    return (
        f"- On the held-out ratings the weighing {said}: HR@{TOP} {weighed.hit_rate:.4f} against `GRAPH`'s "
        f"{plain.hit_rate:.4f}, NDCG@{TOP} {weighed.ndcg:.4f} against {plain.ndcg:.4f}; held-out films brought into "
        f"the top {TOP}: {gained}, pushed out: {lost}; ranked higher: {up}, lower: {down}. The validation split "
        "(below) had favoured the weight chosen."
    )


async def set_preferences(http: httpx.AsyncClient, settings: Settings, liked: dict[int, list[str]]) -> float:
    """Each user's preferred genres through ``updateProfile``, as that user (the mutation is the viewer's own);
    the seconds it took."""
    mutation = "mutation ($g: [String!]) { updateProfile(preferences: {genres: $g}) { id } }"
    start = time.perf_counter()
    for user, genres in sorted(liked.items()):
        token = mint(settings, user, ttl_s=3600)
        response = await http.post(
            "/graphql",
            json={"query": mutation, "variables": {"g": genres}},
            headers={"Authorization": f"Bearer {token}"},
        )
        payload = response.json()
        if response.status_code != 200 or payload.get("errors"):
            raise SystemExit(f"updateProfile of user {user}: HTTP {response.status_code}, {payload.get('errors')}")
    return time.perf_counter() - start


def boost_tuning(data: Data) -> list[str]:
    """The preferences' weight on the validation split: the matrix form of ``graph`` trained without each user's
    last two ratings, its best ``MAX_TOP`` weighed by genres derived without them either, evaluated on the
    second-to-last."""
    held = holdout.latest(data.train)
    train = {user: {i: at for i, at in items.items() if i != held[user]} for user, items in data.train.items()}
    scores = evaluation.recency_neighbours(
        train, data.catalogue, recent=recs.RECENT, half_life=recs.HALF_LIFE, neighbours=recs.GRAPH_NEIGHBOURS
    )
    liked = data.liked(without=held)
    lines = [f"| weight | validation HR@{TOP} | validation NDCG@{TOP} |", "|---:|---:|---:|"]
    for boost in BOOSTS:
        top = evaluation.weighed(scores, held, liked, data.genres_of, boost=boost, pool=MAX_TOP, n=TOP)
        q = evaluation.evaluate(top, held, TOP)
        mark = " ← the gateway's" if boost == prefs.BOOST else (" (unweighed)" if boost == 0 else "")
        lines.append(f"| {boost:g} | {q.hit_rate:.4f} | {q.ndcg:.4f}{mark} |")
    return lines


def tuning_block(data: Data) -> list[str]:
    return [
        "The `GRAPH` constants were chosen on a validation split, never on the held-out ratings: training without each "
        "user's last two ratings, evaluated on the second-to-last, with the matrix form (the same grid, computed by "
        "this run):",
        "",
        *tuning(data),
        "",
        f"{recs.GRAPH_NEIGHBOURS} neighbours rather than 200: 200 scores a little higher on validation NDCG but "
        "doubles the expansion of the neighbours' products, the query's largest step.",
        "",
        f"The preferences' weight (`usePreferences: true`: a film's score times 1 + weight × the share of the user's "
        f"preferred genres it has, over `GRAPH`'s best {MAX_TOP}) on the same validation split, the genres derived "
        "without the validation rating (matrix form):",
        "",
        *boost_tuning(data),
    ]


def write_section(args: argparse.Namespace, versions: list[str], body: str) -> None:
    command = f".venv/bin/python bench/quality.py --batch {args.batch}"
    if Path(args.services) != ROOT / "scripts" / "services":
        command += f" --services {args.services}"
    if Path(args.state_dir) != ROOT / ".services-eval":
        command += f" --state-dir {args.state_dir}"
    command += " --write"
    text = (
        f"`{command}` on {datetime.now(UTC):%Y-%m-%d}, {machine()}; {', '.join(versions)}. "
        "MovieLens-100K (recbole 1.2.1), leave-last-out: each user's last rating by time (ties: the higher item id) "
        "held out, the other 99,057 seeded into a second set of servers started by the bench (ports 3307, 6380, "
        "27018, 7688). Full ranking: every product the user has not interacted with is a candidate. The gateway's "
        f"lists are its answers to `recommendations(userId, limit: {TOP}, strategy)` over GraphQL (in-process app, "
        "httpx ASGITransport, default limits, entity cache off so that every list is computed in this run); the "
        f"preference-aware row's are its answers to `recommendations(userId, limit: {TOP}, strategy: GRAPH, "
        "usePreferences: true)` once `updateProfile` has set each user's preferred genres, derived from their "
        "training ratings only; the baselines are computed by the bench from the same training ratings "
        "(bench/evaluation.py). HR@10: share of users whose held-out product is in their top 10; NDCG@10: mean of "
        "1/log2(rank + 1) (0 when absent).\n\n" + body
    )
    replace_section(ROOT / "BENCHMARKS.md", SECTION, text)  # this section only; the contents regenerated


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=10, help="users per GraphQL request (aliases; at most 30)")
    parser.add_argument("--services", default=str(ROOT / "scripts" / "services"), help="the scripts/services to use")
    parser.add_argument("--state-dir", default=str(ROOT / ".services-eval"), help="the eval servers' data and logs")
    parser.add_argument("--keep", action="store_true", help="leave the eval servers running")
    parser.add_argument("--fresh", action="store_true", help="wipe the eval servers' state first")
    parser.add_argument("--write", action="store_true", help="replace (or add) this bench's section in BENCHMARKS.md")
    args = parser.parse_args()
    versions, body = await run(args)
    print(body)
    if args.write:
        write_section(args, versions, body)
        print("BENCHMARKS.md updated")


if __name__ == "__main__":
    asyncio.run(main())
