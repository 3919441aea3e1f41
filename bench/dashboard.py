"""The dashboard's first page (`status`) at 100,000 open onboardings, against the same page
read with one hand-written SQL query (the page's rows and the three counts), in turns
(`dashboard_100000_vs_one_query`).

Run: .venv/bin/python -m bench.dashboard [--quick] [--database sqlite|postgresql]
"""

from __future__ import annotations

import statistics

from sqlalchemy import text

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

ONE_QUERY = text(
    "SELECT o.*, "
    "(SELECT count(*) FROM onboardings WHERE lifecycle = 'open' "
    " AND overall_status = 'Active') AS active, "
    "(SELECT count(*) FROM onboardings WHERE lifecycle = 'open' "
    " AND overall_status = 'Failed') AS failed, "
    "(SELECT count(*) FROM onboardings WHERE lifecycle = 'open' "
    " AND overall_status = 'Completed') AS completed "
    "FROM onboardings o WHERE o.lifecycle = 'open' "
    "ORDER BY o.listed_at DESC, o.bulk_row NULLS FIRST, o.id DESC LIMIT 10"  # the lists' order
)


def main() -> None:
    args = arguments(__doc__ or "")
    quiet_logs()
    count = 10_000 if args.quick else 100_000
    repeats, calls = (3, 10) if args.quick else (7, 30)
    figures = []
    for dialect in args.databases:
        with database(dialect) as url:
            service, engine = service_for(url)
            populate(service, count)
            if dialect == "postgresql":
                with engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE onboardings")
            assert len(service.customers.dashboard(limit=10).rows) == 10

            def page() -> float:
                return statistics.median(
                    timed(lambda: service.customers.dashboard(limit=10)) for _ in range(calls)
                )

            def by_hand() -> float:
                def read() -> None:
                    with engine.connect() as conn:
                        assert len(conn.execute(ONE_QUERY).all()) == 10

                return statistics.median(timed(read) for _ in range(calls))

            pages, hands = [], []
            for _ in range(repeats):
                hands.append(by_hand())
                pages.append(page())
            value, baseline = median_turn(pages, hands)
            figures.append(
                Figure(f"dashboard_{count}_vs_one_query", value, baseline, 1.5, "s", dialect)
            )
            engine.dispose()
    record(figures)


if __name__ == "__main__":
    main()
