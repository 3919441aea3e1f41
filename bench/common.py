"""What every benchmark shares: throw-away databases, a service wired as `app.py` wires it,
interleaved timing, and the rows of `bench/results.json`.

Every figure is a ratio to a baseline measured in the same run, and the two are measured in
turns (baseline, subject, baseline, subject, ...), medians reported: on a shared machine a
burst of someone else's work then spoils both sides alike, not one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
QUICK_RESULTS = ROOT / "bench" / "results-quick.json"  # a smoke check's: not the budget figures
DATABASES = ("sqlite", "postgresql")


@dataclass
class Figure:
    """One row of `bench/results.json`. A relative budget compares `ratio` (value over
    baseline); an absolute one (memory) compares `value` itself, and `ratio` is None."""

    name: str
    value: float
    baseline: float | None
    budget: float
    unit: str
    database: str | None = None

    @property
    def ratio(self) -> float | None:
        return None if self.baseline is None else self.value / self.baseline

    @property
    def ok(self) -> bool:
        measured = self.value if self.ratio is None else self.ratio
        return measured <= self.budget

    def row(self) -> dict[str, Any]:
        row = asdict(self)
        ratio = self.ratio
        row.update(ratio=None if ratio is None else round(ratio, 3), ok=self.ok)
        row["value"] = round(self.value, 6)
        if self.baseline is not None:
            row["baseline"] = round(self.baseline, 6)
        return {
            k: row[k]
            for k in ("name", "value", "baseline", "ratio", "budget", "ok", "unit", "database")
        }


def arguments(description: str, **extra: Any) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a smoke check: small and once")
    parser.add_argument(
        "--database",
        choices=DATABASES,
        action="append",
        help="only this database (repeatable); both by default",
    )
    for flag, kwargs in extra.items():
        parser.add_argument(f"--{flag.replace('_', '-')}", **kwargs)
    args = parser.parse_args()
    args.databases = tuple(args.database or DATABASES)
    return args


@contextmanager
def database(dialect: str) -> Iterator[str]:
    """An empty database: a SQLite file, or a private schema on the PostgreSQL server of the
    tests (`TEST_POSTGRES_URL`), dropped afterwards."""
    from tests.dbs import database_url

    with tempfile.TemporaryDirectory() as tmp, database_url(dialect, Path(tmp)) as url:
        yield url


def service_for(url: str, *, partner: str = "Fabrikam", clock: Any = None) -> Any:
    """The store migrated and the service over it with the embedded backends, as `app.py`
    builds it with no settings but DATABASE_URL (returns the service and its engine);
    `clock`: the system clock unless given (the tick bench holds time still)."""
    from adapters.clock import SystemClock
    from storage.database import create_engine_for
    from storage.migrate import upgrade
    from tests.services import sandboxed_service

    engine = create_engine_for(url)
    upgrade(engine)
    service = sandboxed_service(
        engine,
        clock or SystemClock(),
        partner_id="00000000-0000-4000-8000-00000000c0de",
        partner_name=partner,
    )
    return service, engine


async def served(app: web.Application, path: str = "") -> tuple[web.AppRunner, str]:
    """`app` served on a free loopback port, as the bot serves itself; its URL + `path`."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}{path}"


def interleaved(
    baseline: Callable[[], float], subject: Callable[[], float], repeats: int
) -> tuple[float, float, list[float], list[float]]:
    """Medians of `repeats` turns of each, taken alternately; each callable returns what it
    measured (seconds, usually)."""
    base: list[float] = []
    measured: list[float] = []
    for _ in range(repeats):
        base.append(baseline())
        measured.append(subject())
    return statistics.median(base), statistics.median(measured), base, measured


def median_turn(subjects: list[float], baselines: list[float]) -> tuple[float, float]:
    """The (subject, baseline) of the turn whose ratio is the median: the two sides of a
    turn ran a moment apart, so their ratio is what a burst of load spoils least."""
    turns = sorted(zip(subjects, baselines, strict=True), key=lambda t: t[0] / t[1])
    return turns[(len(turns) - 1) // 2]


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def record(figures: list[Figure], *, quick: bool = False) -> None:
    """Prints the figures and merges them into `bench/results.json` (by name and database),
    so each script can run alone and `make bench` collects them all."""
    path = QUICK_RESULTS if quick or "--quick" in sys.argv else RESULTS
    rows: list[dict[str, Any]] = []
    if path.exists():
        rows = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    fresh = {(f.name, f.database) for f in figures}
    rows = [r for r in rows if (r["name"], r["database"]) not in fresh]
    rows += [f.row() for f in figures]
    rows.sort(key=lambda r: (r["name"], r["database"] or ""))
    document = {
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "results": rows,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    for figure in figures:
        print(line(figure.row()), flush=True)


def line(row: dict[str, Any]) -> str:
    ratio = "" if row["ratio"] is None else f"{row['ratio']:.2f}x"
    base = "" if row["baseline"] is None else f"{row['baseline']:.4g}"
    return (
        f"{row['name']:<40} {row['database'] or '-':<10} {row['value']:>10.4g} {base:>10} "
        f"{ratio:>7} <= {row['budget']:<6g} {'ok' if row['ok'] else 'MISSED':<6} {row['unit']}"
    )


def header() -> str:
    return (
        f"{'figure':<40} {'database':<10} {'value':>10} {'baseline':>10} {'ratio':>7}    "
        f"{'budget':<6} {'ok':<6} unit"
    )


def quiet_logs() -> None:
    import logging

    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING"))


def populate(service: Any, count: int, *, needles: int = 0, prefix: str = "p") -> None:
    """`count` open onboardings written straight through the store (as a bulk import
    writes them, without the mail), `needles` of them named "Needle Customer N"."""
    from bot.domain import new_onboarding
    from bot.rules import CustomerDetails

    now = service.clock.now()
    actor = _bench_actor()
    step = 5_000
    for start in range(0, count, step):
        obs = []
        activities = []
        for i in range(start, min(start + step, count)):
            name = f"Needle Customer {i}" if i < needles else f"Customer {prefix}{i:06d} Ltd"
            details = CustomerDetails(
                name, f"it@{prefix}{i}.example.com", f"{prefix}{i}.example.com", "US"
            )
            ob, activity = new_onboarding(details, now, actor)
            obs.append(ob)
            activities.append(activity)
        with service.store.transaction() as uow:
            uow.onboardings.add_new(obs)
            uow.activities.append_all(activities)


def _bench_actor() -> Any:
    from bot.domain import Actor

    return Actor("bench", "bench", "console")
