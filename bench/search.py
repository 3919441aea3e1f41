"""`search` costs what it finds: the same 20 matches among 100,000 onboardings and among
10,000 (`search_100000_vs_10000`), through the service as a chat command reaches it.

Run: .venv/bin/python -m bench.search [--quick] [--database sqlite|postgresql]
"""

from __future__ import annotations

import statistics

from bench.common import (
    Figure,
    arguments,
    database,
    median_turn,
    populate,
    quiet_logs,
    record,
    service_for,
    timed,
)

MATCHES = 20


def main() -> None:
    args = arguments(__doc__ or "")
    quiet_logs()
    small, big = (1_000, 10_000) if args.quick else (10_000, 100_000)
    repeats, calls = (3, 20) if args.quick else (7, 50)
    figures = []
    for dialect in args.databases:
        with database(dialect) as small_url, database(dialect) as big_url:
            stores = []
            for url, count in ((small_url, small), (big_url, big)):
                service, engine = service_for(url)
                populate(service, count, needles=MATCHES)
                if dialect == "postgresql":
                    with engine.begin() as conn:
                        conn.exec_driver_sql("ANALYZE onboardings")
                page = service.customers.dashboard(search="needle cust", limit=10)
                assert page.total == MATCHES, page.total
                stores.append((service, engine))

            def search(service: object) -> float:
                times = [
                    timed(
                        lambda: service.customers.dashboard(  # type: ignore[attr-defined]
                            search="needle cust", limit=10
                        )
                    )
                    for _ in range(calls)
                ]
                return statistics.median(times)

            bigs, smalls = [], []
            for _ in range(repeats):
                smalls.append(search(stores[0][0]))
                bigs.append(search(stores[1][0]))
            value, baseline = median_turn(bigs, smalls)
            figures.append(Figure(f"search_{big}_vs_{small}", value, baseline, 1.5, "s", dialect))

            def query(service: object) -> float:
                """The store's search alone, without the page's status counts."""

                def page() -> None:
                    with service.store.transaction() as uow:  # type: ignore[attr-defined]
                        assert (
                            uow.onboardings.page(None, "needle cust", 0, 10, lifecycle=None)[1]
                            == MATCHES
                        )

                return statistics.median(timed(page) for _ in range(calls))

            bigs, smalls = [], []
            for _ in range(repeats):
                smalls.append(query(stores[0][0]))
                bigs.append(query(stores[1][0]))
            value, baseline = median_turn(bigs, smalls)
            figures.append(
                Figure(f"search_query_{big}_vs_{small}", value, baseline, 1.5, "s", dialect)
            )
            for _, engine in stores:
                engine.dispose()
    record(figures)


if __name__ == "__main__":
    main()
