#!/usr/bin/env python3
"""The SQL side of the side-by-side benchmarks (issue 6): DuckDB and chDB on the same NDJSON.

P1  import: materialise the simulated Segment NDJSON in each engine (durable database files),
    timed per engine, `--p1-runs` times (min and median reported).
P2  evaluation: every definition of `--defs` (bench/eval/kinds.json) written as SQL over the
    loaded events, timed on loaded data (median of `--runs`), and its members compared with
    `audex audience members … --format ids` (the SQL is the oracle: any difference exits 1).

The SQL reads event-level tables derived once from the raw import ("derive", timed separately):
identity resolved to a dense person id, JSON parsed into typed columns, product lines unnested
and enriched from the catalog, price tiers from the catalog. Queries do every per-person
aggregation themselves (latest declaration, last location, spend quartiles, interest shares).
chDB gets the same derived tables (through Parquet), in MergeTree tables, and the same queries
in its dialect.

The meaning each query implements is the doc comment of the predicate in crates/rules/src/ast.rs
(and the kinds table in crates/rules/src/kinds.rs). Identity: anonymousId → userId links from
events carrying both (the simulator never triggers merge protection); a person's primary id is
its userId, else its anonymousId.

Writes one JSON document (`--out`). Exit 0 when every membership matched, 1 on any mismatch,
2 on setup errors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import duckdb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracle"))
# Shared vocabulary with the oracle (read-only for this harness): Segment names → kinds,
# the `activity` kinds, the kinds that mark a season.
from oracle import ACTIVITY, SEASON_KINDS, TRACK_KINDS, sql_list  # noqa: E402

MS_PER_DAY = 86_400_000
EARTH_RADIUS_KM = 6371.0088
PRODUCT_KINDS = ("product_viewed", "product_added", "order_completed")

RAW_COLUMNS = (
    "{type: 'VARCHAR', event: 'VARCHAR', userId: 'VARCHAR', anonymousId: 'VARCHAR', "
    "previousId: 'VARCHAR', messageId: 'VARCHAR', timestamp: 'VARCHAR', "
    "properties: 'JSON', context: 'JSON', traits: 'JSON'}"
)
CH_RAW_SCHEMA = (
    "type Nullable(String), event Nullable(String), userId Nullable(String), "
    "anonymousId Nullable(String), previousId Nullable(String), messageId Nullable(String), "
    "timestamp Nullable(String), properties Nullable(String), context Nullable(String), "
    "traits Nullable(String)"
)


def log(msg: str) -> None:
    print(f"peers: {msg}", file=sys.stderr, flush=True)


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def summary(times: list[float]) -> dict:
    return {"min": min(times), "median": statistics.median(times), "runs": len(times),
            "all": [round(t, 4) for t in times]}


# --------------------------------------------------------------------------------------------
# P1: import
# --------------------------------------------------------------------------------------------


def duckdb_import(events: str, db: str, threads: int | None, memory_limit: str | None) -> float:
    if os.path.exists(db):
        os.remove(db)
    wal = db + ".wal"
    if os.path.exists(wal):
        os.remove(wal)
    con = duckdb.connect(db)
    if threads:
        con.execute(f"SET threads = {threads}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{db}.tmp'")
    t = time.perf_counter()
    con.execute(
        f"""CREATE TABLE raw AS SELECT * FROM read_json(?, format = 'newline_delimited',
            maximum_object_size = 67108864, columns = {RAW_COLUMNS})""",
        [events],
    )
    con.execute("CHECKPOINT")  # durable, like Audex's fsync'd log
    secs = time.perf_counter() - t
    n = con.execute("SELECT count(*) FROM raw").fetchone()[0]
    con.close()
    log(f"duckdb import: {n} rows in {secs:.2f}s")
    return secs


def chdb_import(events: str, path: str) -> tuple[float, int]:
    from chdb import session

    if os.path.exists(path):
        shutil.rmtree(path)
    s = session.Session(path)
    s.query("CREATE DATABASE IF NOT EXISTS b")
    t = time.perf_counter()
    s.query(
        f"""CREATE TABLE b.raw ENGINE = MergeTree ORDER BY tuple() AS
            SELECT * FROM file('{events}', JSONEachRow, '{CH_RAW_SCHEMA}')
            SETTINGS input_format_json_read_objects_as_strings = 1"""
    )
    secs = time.perf_counter() - t
    n = int(s.query("SELECT count() FROM b.raw", "CSV").data().strip())
    s.close()
    log(f"chdb import: {n} rows in {secs:.2f}s")
    return secs, n


# --------------------------------------------------------------------------------------------
# Derive: typed, event-level tables (DuckDB), exported for chDB
# --------------------------------------------------------------------------------------------


def derive(con: duckdb.DuckDBPyConnection, taxonomy: str, catalog: str) -> dict:
    """Event-level tables the P2 queries read. Returns row counts and the time taken."""
    t0 = time.perf_counter()
    con.execute("SET TimeZone = 'UTC'")
    kind_case = "CASE " + " ".join(
        f"WHEN event = '{k}' THEN '{v}'" for k, v in TRACK_KINDS.items()) + " ELSE 'custom' END"

    # Identity: anonymousId → userId from events carrying both.
    con.execute(
        """CREATE OR REPLACE TABLE idmap AS
           SELECT anonymousId AS aid, min(userId) AS uid FROM raw
           WHERE nullif(userId, '') IS NOT NULL AND nullif(anonymousId, '') IS NOT NULL
           GROUP BY anonymousId"""
    )
    con.execute(
        """CREATE OR REPLACE TABLE people AS
           SELECT CAST(row_number() OVER (ORDER BY pid_s) - 1 AS INTEGER) AS pid, pid_s
           FROM (SELECT DISTINCT coalesce(nullif(r.userId, ''), m.uid, nullif(r.anonymousId, ''))
                        AS pid_s
                 FROM raw r LEFT JOIN idmap m ON m.aid = r.anonymousId)
           WHERE pid_s IS NOT NULL"""
    )
    # Every event with its person, kind, channel and time; a view, so each derived table below
    # reads only the JSON column it needs (materialising copies of `raw` does not fit at 1M).
    con.execute(
        f"""CREATE OR REPLACE VIEW ev1 AS
           SELECT p.pid, r.rowid AS line, r.type, r.event, r.properties, r.context, r.traits,
                  epoch_ms(CAST(r.timestamp AS TIMESTAMPTZ)) AS ts,
                  CASE WHEN r.type IN ('page', 'screen') THEN 'visit'
                       WHEN r.type IN ('identify', 'group') THEN 'identify'
                       WHEN r.type = 'alias' THEN 'alias'
                       ELSE {kind_case} END AS kind,
                  CASE WHEN r.type = 'screen' OR (r.context -> '$.app') IS NOT NULL
                       THEN 'app' ELSE 'web' END AS channel
           FROM raw r LEFT JOIN idmap m ON m.aid = r.anonymousId
           JOIN people p
             ON p.pid_s = coalesce(nullif(r.userId, ''), m.uid, nullif(r.anonymousId, ''))"""
    )
    # Events: one row per event.
    con.execute(
        f"""CREATE OR REPLACE TABLE ev AS
           SELECT pid, line, kind, channel,
                  CAST(floor(ts / {MS_PER_DAY}) AS INTEGER) AS day, ts,
                  CASE WHEN kind = 'custom' THEN event END AS name,
                  CASE WHEN kind IN ('ad_impression', 'ad_clicked')
                       THEN properties ->> 'campaign_id' END AS campaign,
                  CASE WHEN kind = 'custom'
                        AND json_type(properties -> 'price') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
                       THEN CAST(properties ->> 'price' AS DOUBLE) END AS cprice
           FROM ev1 ORDER BY kind, day, pid"""
    )

    # Taxonomy (ids, paths, reflexive ancestor relation) and catalog.
    rows = []
    with open(taxonomy, encoding="utf-8") as f:
        for raw_line in f:
            s = raw_line.strip()
            if not s or s.startswith("#") or " - " not in s:
                continue
            i, path = s.split(" - ", 1)
            rows.append((int(i), " > ".join(seg.strip() for seg in path.split(">"))))
    con.execute("CREATE OR REPLACE TABLE tax(id INTEGER, path VARCHAR)")
    con.executemany("INSERT INTO tax VALUES (?, ?)", rows)
    con.execute(
        """CREATE OR REPLACE TABLE tax_anc AS
           SELECT d.id, a.id AS anc, len(string_split(a.path, ' > ')) AS depth
           FROM tax d JOIN tax a ON d.path = a.path OR starts_with(d.path, a.path || ' > ')"""
    )
    con.execute(
        """CREATE OR REPLACE TABLE catalog AS
           SELECT c.id AS product_id, nullif(trim(c.brand), '') AS brand,
                  TRY_CAST(regexp_extract(c.price, '^\\s*([0-9.]+)', 1) AS DOUBLE) AS price,
                  coalesce(t_id.id, t_path.id) AS category
           FROM read_csv(?, delim = '\t', header = true, all_varchar = true, quote = '') c
           LEFT JOIN tax t_id ON t_id.id = TRY_CAST(trim(c.google_product_category) AS INTEGER)
           LEFT JOIN tax t_path ON t_path.path = array_to_string(list_transform(
               string_split(trim(c.google_product_category), '>'), lambda s: trim(s)), ' > ')""",
        [catalog],
    )
    # Price tiers (catalog.rs): terciles ("type 7" quantiles) of the prices in each category's
    # subtree with >= 5 priced products; a category uses its nearest such ancestor, else the
    # whole catalog.
    q = "(CAST(1 AS DOUBLE) / 3)"
    q2 = "(CAST(2 AS DOUBLE) / 3)"

    def bounds(prices: str) -> str:
        def quant(qq: str) -> str:
            h = f"((len({prices}) - 1) * {qq})"
            lo = f"CAST(floor({h}) AS BIGINT)"
            hi = f"least({lo} + 1, len({prices}) - 1)"
            return (f"({prices}[{lo} + 1] + ({h} - {lo}) * "
                    f"({prices}[{hi} + 1] - {prices}[{lo} + 1]))")
        return f"{quant(q)} AS low_below, {quant(q2)} AS high_above"

    con.execute(
        f"""CREATE OR REPLACE TABLE tier_own AS
           SELECT anc AS category, {bounds('ps')} FROM (
             SELECT a.anc, list_sort(list(c.price)) AS ps
             FROM catalog c JOIN tax_anc a ON a.id = c.category
             WHERE c.price IS NOT NULL AND c.price >= 0 GROUP BY a.anc HAVING count(*) >= 5)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TABLE tier_all AS SELECT {bounds('ps')} FROM (
              SELECT list_sort(list(price)) AS ps FROM catalog WHERE price IS NOT NULL AND price >= 0)"""
    )
    con.execute(
        """CREATE OR REPLACE TABLE tier_of AS
           SELECT a.id AS category, arg_max(t.low_below, a.depth) AS low_below,
                  arg_max(t.high_above, a.depth) AS high_above
           FROM tax_anc a JOIN tier_own t ON t.category = a.anc GROUP BY a.id"""
    )

    # Product lines of product events: an event listing `products` is one line per product,
    # else its single product; category from the event (taxonomy path or id), else catalog.
    con.execute(
        f"""CREATE OR REPLACE VIEW lines0 AS
           SELECT pid, line, kind, CAST(floor(ts / {MS_PER_DAY}) AS INTEGER) AS day,
                  unnest(from_json(properties -> 'products', '["JSON"]')) AS p
           FROM ev1 WHERE kind IN {sql_list(PRODUCT_KINDS)}
             AND json_type(properties -> 'products') = 'ARRAY'
           UNION ALL
           SELECT pid, line, kind, CAST(floor(ts / {MS_PER_DAY}) AS INTEGER), properties
           FROM ev1 WHERE kind IN {sql_list(PRODUCT_KINDS)}
             AND coalesce(json_type(properties -> 'products'), 'NULL') <> 'ARRAY'"""
    )
    con.execute(
        """CREATE OR REPLACE TABLE items AS
           WITH l AS (
             SELECT pid, line, kind, day,
                    nullif(coalesce(p ->> 'product_id', p ->> 'id'), '') AS product_id,
                    nullif(trim(p ->> 'category'), '') AS cat_text,
                    p ->> 'brand' AS ev_brand,
                    CASE WHEN json_type(p -> 'price') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
                         THEN CAST(p ->> 'price' AS DOUBLE) END AS ev_price
             FROM lines0),
           r AS (
             SELECT l.pid, l.line, l.kind, l.day,
                    coalesce(t_id.id, t_path.id, c.category) AS category,
                    coalesce(l.ev_brand, c.brand) AS brand,
                    coalesce(l.ev_price, c.price) AS price
             FROM l LEFT JOIN catalog c ON c.product_id = l.product_id
             LEFT JOIN tax t_id ON regexp_full_match(l.cat_text, '[0-9]+')
                                AND t_id.id = TRY_CAST(l.cat_text AS INTEGER)
             LEFT JOIN tax t_path ON t_path.path = array_to_string(
                   list_transform(string_split(l.cat_text, '>'), lambda s: trim(s)), ' > '))
           SELECT r.pid, r.line, r.kind, r.day, r.category, r.brand, r.price,
                  CASE WHEN r.price IS NULL THEN NULL
                       WHEN r.price < coalesce(t.low_below, a.low_below) THEN 'low'
                       WHEN r.price > coalesce(t.high_above, a.high_above) THEN 'high'
                       ELSE 'medium' END AS tier
           FROM r LEFT JOIN tier_of t ON t.category = r.category CROSS JOIN tier_all a
           ORDER BY kind, day, pid"""
    )
    # Publisher page categories: one row per (page view, category).
    con.execute(
        f"""CREATE OR REPLACE TABLE pages AS
           SELECT pid, day, cat FROM (
             SELECT pid, CAST(floor(ts / {MS_PER_DAY}) AS INTEGER) AS day,
                    unnest(from_json(properties -> 'categories', '["VARCHAR"]')) AS cat
             FROM ev1 WHERE kind = 'publisher_page_viewed'
               AND json_type(properties -> 'categories') = 'ARRAY')
           ORDER BY day, pid"""
    )
    # Declared demographics: one row per declaration (traits at the top level for identify,
    # else context.traits), parsed as the model does (event.rs `demographics`).
    con.execute(
        f"""CREATE OR REPLACE TABLE decl AS
           WITH d AS (
             SELECT pid, line, ts,
                    CASE WHEN traits IS NOT NULL AND traits <> '{{}}' THEN traits
                         ELSE context -> 'traits' END AS tr
             FROM ev1 WHERE traits IS NOT NULL OR (context -> 'traits') IS NOT NULL),
           p AS (
             SELECT pid, line, ts,
               CASE WHEN json_type(tr -> 'gender') = 'VARCHAR' THEN
                 CASE WHEN lower(trim(tr ->> 'gender')) IN ('f', 'female', 'woman', 'w') THEN 1
                      WHEN lower(trim(tr ->> 'gender')) IN ('m', 'male', 'man') THEN 2
                      WHEN lower(trim(tr ->> 'gender')) IN ('', 'unknown', 'u') THEN 0
                      ELSE 3 END END AS gender,
               TRY_CAST(left(nullif(tr ->> 'birthday', ''), 10) AS DATE) AS birthday,
               CASE WHEN json_type(tr -> 'age') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
                    THEN CAST(floor(CAST(tr ->> 'age' AS DOUBLE)) AS INTEGER) END AS age,
               CASE
                 WHEN json_type(tr -> 'income') = 'VARCHAR'
                      AND regexp_replace(lower(tr ->> 'income'), '[^a-z0-9]', '', 'g')
                          IN ('low', 'medium', 'mid', 'middle', 'high', 'veryhigh') THEN
                   CASE regexp_replace(lower(tr ->> 'income'), '[^a-z0-9]', '', 'g')
                     WHEN 'low' THEN 1 WHEN 'high' THEN 3 WHEN 'veryhigh' THEN 4 ELSE 2 END
                 WHEN TRY_CAST(trim(tr ->> 'income') AS DOUBLE) IS NOT NULL THEN
                   CASE WHEN CAST(trim(tr ->> 'income') AS DOUBLE) < 30000 THEN 1
                        WHEN CAST(trim(tr ->> 'income') AS DOUBLE) < 75000 THEN 2
                        WHEN CAST(trim(tr ->> 'income') AS DOUBLE) < 150000 THEN 3
                        ELSE 4 END END AS income
             FROM d WHERE json_type(tr) = 'OBJECT')
           SELECT pid, line, ts, row_number() OVER (ORDER BY ts, line) AS ord,
                  CAST(floor(ts / {MS_PER_DAY}) AS INTEGER) AS day, gender,
                  CAST(year(birthday) AS INTEGER) AS b_year,
                  CAST(month(birthday) * 100 + day(birthday) AS INTEGER) AS b_md,
                  age, income
           FROM p WHERE gender IS NOT NULL OR birthday IS NOT NULL OR age IS NOT NULL
                     OR income IS NOT NULL
           ORDER BY pid"""
    )
    # Locations (context.location), rounded to f32 as profiles keep them.
    con.execute(
        """CREATE OR REPLACE TABLE locs AS
           SELECT pid, line, ts,
                  CAST(CAST(context ->> '$.location.latitude' AS DOUBLE) AS FLOAT) AS lat,
                  CAST(CAST(context ->> '$.location.longitude' AS DOUBLE) AS FLOAT) AS lon,
                  row_number() OVER (ORDER BY ts, line) AS ord
           FROM ev1
           WHERE json_type(context -> '$.location.latitude') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
             AND json_type(context -> '$.location.longitude') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
           ORDER BY pid"""
    )
    # Revenue: completed orders (+) and refunds (−): revenue, else total, else Σ price × qty.
    con.execute(
        f"""CREATE OR REPLACE TABLE rev AS
           WITH s AS (
             SELECT line, sum(CAST(p ->> 'price' AS DOUBLE)
                              * coalesce(TRY_CAST(p ->> 'quantity' AS DOUBLE), 1)) AS s
             FROM (SELECT line, unnest(from_json(properties -> 'products', '["JSON"]')) AS p
                   FROM ev1 WHERE kind IN ('order_completed', 'order_refunded')
                     AND json_type(properties -> 'products') = 'ARRAY')
             WHERE json_type(p -> 'price') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
             GROUP BY line)
           SELECT e.pid, e.line, CAST(floor(e.ts / {MS_PER_DAY}) AS INTEGER) AS day,
                  (CASE WHEN e.kind = 'order_completed' THEN 1 ELSE -1 END) * coalesce(
                    CASE WHEN json_type(e.properties -> 'revenue') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
                         THEN CAST(e.properties ->> 'revenue' AS DOUBLE) END,
                    CASE WHEN json_type(e.properties -> 'total') IN ('UBIGINT', 'BIGINT', 'DOUBLE')
                         THEN CAST(e.properties ->> 'total' AS DOUBLE) END,
                    CASE WHEN s.s > 0 THEN s.s END, 0) AS amount
           FROM ev1 e LEFT JOIN s USING (line)
           WHERE e.kind IN ('order_completed', 'order_refunded')
           ORDER BY pid, day, line"""
    )
    con.execute("DROP VIEW lines0")
    con.execute("DROP VIEW ev1")
    con.execute("CHECKPOINT")
    secs = time.perf_counter() - t0
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("people", "ev", "items", "pages", "decl", "locs", "rev", "tax_anc")}
    log(f"derive: {secs:.2f}s {counts}")
    return {"seconds": secs, "rows": counts}


DERIVED = {
    # table: (ClickHouse column types, ORDER BY)
    "people": ("pid Int32, pid_s String", "pid"),
    "ev": ("pid Int32, line Int64, kind LowCardinality(String), channel LowCardinality(String), "
           "day Int32, ts Int64, name Nullable(String), campaign Nullable(String), "
           "cprice Nullable(Float64)", "(kind, day)"),
    "items": ("pid Int32, line Int64, kind LowCardinality(String), day Int32, "
              "category Nullable(Int32), brand Nullable(String), price Nullable(Float64), "
              "tier Nullable(String)", "(kind, day)"),
    "pages": ("pid Int32, day Int32, cat String", "(day)"),
    "decl": ("pid Int32, line Int64, ts Int64, ord Int64, day Int32, gender Nullable(Int32), "
             "b_year Nullable(Int32), b_md Nullable(Int32), age Nullable(Int32), "
             "income Nullable(Int32)", "(pid)"),
    "locs": ("pid Int32, line Int64, ts Int64, lat Float32, lon Float32, ord Int64", "(pid)"),
    "rev": ("pid Int32, line Int64, day Int32, amount Float64", "(pid, day)"),
    "tax_anc": ("id Int32, anc Int32, depth Int64", "(anc)"),
}


def chdb_load_derived(con: duckdb.DuckDBPyConnection, path: str, work: str) -> float:
    """Copies the derived tables into chDB MergeTree tables (through Parquet)."""
    from chdb import session

    s = session.Session(path)
    s.query("CREATE DATABASE IF NOT EXISTS b")
    t0 = time.perf_counter()
    for table, (cols, order) in DERIVED.items():
        pq = os.path.join(work, f"{table}.parquet")
        con.execute(f"COPY {table} TO '{pq}' (FORMAT parquet)")
        s.query(f"DROP TABLE IF EXISTS b.{table}")
        s.query(f"CREATE TABLE b.{table} ({cols}) ENGINE = MergeTree ORDER BY {order}")
        s.query(f"INSERT INTO b.{table} SELECT * FROM file('{pq}', Parquet)")
        s.query(f"OPTIMIZE TABLE b.{table} FINAL")
        os.remove(pq)
    secs = time.perf_counter() - t0
    s.close()
    return secs


# --------------------------------------------------------------------------------------------
# P2: the definitions as SQL
# --------------------------------------------------------------------------------------------


class Dialect:
    """The few spellings where DuckDB and ClickHouse differ."""

    def __init__(self, name: str, db: str = ""):
        self.name = name
        self.db = db  # table prefix

    def t(self, table: str) -> str:
        return f"{self.db}{table}"

    def argmax_if(self, val: str, cond: str) -> str:
        if self.name == "duckdb":
            return f"arg_max({val}, ord) FILTER (WHERE {cond})"
        return f"argMaxIf({val}, ord, {cond})"

    def argmax(self, val: str) -> str:
        if self.name == "duckdb":
            return f"arg_max({val}, ord)"
        return f"argMax({val}, ord)"


def definitions_sql(d: Dialect, now: dt.datetime) -> dict[str, str]:
    """Each definition of bench/eval/kinds.json as a query returning one column `pid`."""
    N = int(now.timestamp() * 1000) // MS_PER_DAY
    ev, items, pages, decl, locs, rev, tax_anc = (d.t(x) for x in (
        "ev", "items", "pages", "decl", "locs", "rev", "tax_anc"))
    ACT = sql_list(ACTIVITY)
    today = now.date()
    md = today.month * 100 + today.day

    def win(lo: int, hi: int | None, col: str = "day") -> str:
        """Days `lo..hi` ago (inclusive); `hi=None` reaches back 540 days."""
        return f"{col} BETWEEN {N - (540 if hi is None else hi)} AND {N - lo}"

    def cnt(cond: str) -> str:
        return f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END)"

    # Age on `now` (profile.rs Demo::age_on): from the birthday, else the declared age plus
    # whole 365-day years since it was declared. Latest declaration per field wins.
    demo = f"""SELECT pid,
            {d.argmax_if('gender', 'gender IS NOT NULL')} AS x_gender,
            {d.argmax_if('b_year', 'b_year IS NOT NULL')} AS x_byear,
            {d.argmax_if('b_md', 'b_year IS NOT NULL')} AS x_bmd,
            {d.argmax_if('age', 'age IS NOT NULL')} AS age_decl,
            {d.argmax_if('day', 'age IS NOT NULL')} AS age_day,
            {d.argmax_if('income', 'income IS NOT NULL')} AS x_income
        FROM {decl} GROUP BY pid"""
    age = (f"CASE WHEN x_byear IS NOT NULL THEN {today.year} - x_byear - "
           f"(CASE WHEN x_bmd > {md} THEN 1 ELSE 0 END) "
           f"WHEN age_decl IS NOT NULL THEN age_decl + floor(({N} - age_day) / 365) END")

    def interest_share(pred: str, within: int) -> str:
        """pid, num, den over product lines in the last `within` days (ast.rs CategoryInterest)."""
        return f"""SELECT pid, {cnt(pred)} AS num, count(*) AS den FROM {items}
            WHERE kind IN {sql_list(PRODUCT_KINDS)} AND {win(0, within)} GROUP BY pid"""

    def subtree(cat: int) -> str:
        return f"category IN (SELECT id FROM {tax_anc} WHERE anc = {cat})"

    # Buying power (ast.rs BuyingPowerLevel): spend over days 0..365 ago; quartiles at ranks
    # ⌊n/4⌋, ⌊n/2⌋, ⌊3n/4⌋ of the buyers' sorted spends.
    spend = f"""
        WITH s AS (SELECT pid, sum(amount) AS spend FROM {rev} WHERE {win(0, 365)}
                   GROUP BY pid HAVING sum(amount) > 0),
        r AS (SELECT spend, row_number() OVER (ORDER BY spend) - 1 AS rk,
                     count(*) OVER () AS n FROM s),
        q AS (SELECT max(CASE WHEN rk = floor(n / 4) THEN spend END) AS q1,
                     max(CASE WHEN rk = floor(n / 2) THEN spend END) AS q2,
                     max(CASE WHEN rk = floor(3 * n / 4) THEN spend END) AS q3 FROM r)
        SELECT s.pid, CASE WHEN s.spend < q.q1 THEN 1 WHEN s.spend < q.q2 THEN 2
                           WHEN s.spend < q.q3 THEN 3 ELSE 4 END AS level
        FROM s CROSS JOIN q"""

    def haversine(lat: float, lon: float) -> str:
        # GeoPoint::distance_km(centre → here), here = the f32 location widened to f64.
        la1, la2 = f"radians({lat})", "radians(CAST(lat AS DOUBLE))"
        return (f"2 * {EARTH_RADIUS_KM} * asin(least(sqrt("
                f"pow(sin(({la2} - {la1}) / 2), 2) + cos({la1}) * cos({la2}) * "
                f"pow(sin(radians(CAST(lon AS DOUBLE) - {lon}) / 2), 2)), 1))")

    # Black Friday 2026: the Friday after Thanksgiving (4th Thursday of November) to Sunday.
    def black_friday(year: int) -> tuple[int, int]:
        nov1 = dt.date(year, 11, 1)
        thu = nov1 + dt.timedelta(days=(3 - nov1.weekday()) % 7 + 21)
        fri = thu + dt.timedelta(days=1)
        e = (fri - dt.date(1970, 1, 1)).days
        return e, e + 2

    bf = black_friday(2026)

    return {
        # retargeting All 0..30: activity within 30d
        "retargeting_all_30d":
            f"SELECT DISTINCT pid FROM {ev} WHERE kind IN {ACT} AND {win(0, 30)}",
        # retargeting Buyers 0..90: activity within 90d and order_completed within 90d
        "retargeting_buyers_90d":
            f"""SELECT pid FROM {ev} WHERE kind IN {ACT} AND {win(0, 90)} GROUP BY pid
                HAVING {cnt("kind = 'order_completed'")} > 0""",
        # retargeting NonBuyers 7..60 on app: activity within 7..60d on app, none within 6d on
        # app, no order_completed (any channel) within 7..60d
        "retargeting_nonbuyers_app":
            f"""SELECT pid FROM {ev} WHERE kind IN {ACT} AND {win(0, 60)} GROUP BY pid
                HAVING {cnt(f"channel = 'app' AND {win(7, 60)}")} > 0
                   AND {cnt(f"channel = 'app' AND {win(0, 6)}")} = 0
                   AND {cnt(f"kind = 'order_completed' AND {win(7, 60)}")} = 0""",
        # cartAbandoners 7: last product_added/checkout_started day d within 7d, no
        # order_completed on days d..today
        "cart_abandoners_7d":
            f"""WITH a AS (SELECT pid, max(day) AS d FROM {ev}
                           WHERE kind IN ('product_added', 'checkout_started') AND {win(0, 7)}
                           GROUP BY pid),
                o AS (SELECT pid, max(day) AS od FROM {ev}
                      WHERE kind = 'order_completed' AND day <= {N}
                        AND pid IN (SELECT pid FROM a) GROUP BY pid)
                SELECT a.pid FROM a LEFT JOIN o ON o.pid = a.pid
                WHERE o.od IS NULL OR o.od < a.d""",
        "product_viewers_3x":
            f"""SELECT pid FROM {ev} WHERE kind = 'product_viewed' AND {win(0, 30)}
                GROUP BY pid HAVING count(*) >= 3""",
        # inMarket: category 536 within 30d (any interest) and buying_power in (high, very_high)
        "in_market_home":
            f"""SELECT pid FROM ({interest_share(subtree(536), 30)}) i WHERE num > 0
                AND pid IN (SELECT pid FROM ({spend}) b WHERE level IN (3, 4))""",
        "category_interest_apparel":
            f"""SELECT pid FROM ({interest_share(subtree(166), 90)}) i
                WHERE num > 0 AND num / den >= 0.3""",
        "brand_interest":
            f"""SELECT DISTINCT pid FROM {items} WHERE kind IN {sql_list(PRODUCT_KINDS)}
                AND {win(0, 90)} AND lower(trim(brand)) = 'stride'""",
        # price band: lower median of the tiers of product lines in the last 90 days
        "price_range_high":
            f"""SELECT pid FROM {items} WHERE kind IN {sql_list(PRODUCT_KINDS)}
                AND {win(0, 90)} AND tier IS NOT NULL GROUP BY pid
                HAVING floor((count(*) - 1) / 2) >= {cnt("tier IN ('low', 'medium')")}""",
        "location_paris_50km":
            f"""SELECT pid FROM (SELECT pid, {d.argmax('lat')} AS lat, {d.argmax('lon')} AS lon
                                 FROM {locs} GROUP BY pid) l
                WHERE {haversine(48.8566, 2.3522)} <= 50 OR {haversine(52.52, 13.405)} <= 50""",
        "demographic_f_25_44":
            f"SELECT pid FROM ({demo}) x WHERE x_gender = 1 AND ({age}) BETWEEN 25 AND 44",
        "income_high":
            f"SELECT pid FROM ({demo}) x WHERE x_income IN (3, 4)",
        # season black_friday 2026: shopping activity on one of its days
        "seasonality_black_friday":
            f"""SELECT DISTINCT pid FROM {ev} WHERE kind IN {sql_list(SEASON_KINDS)}
                AND day BETWEEN {bf[0]} AND {bf[1]}""",
        "events_wishlist_price":
            f"""SELECT DISTINCT pid FROM {ev} WHERE kind = 'custom' AND name = 'Wishlist Added'
                AND {win(0, 90)} AND cprice > 20""",
        "seen_ads_not_clicked":
            f"""SELECT pid FROM {ev} WHERE kind IN ('ad_impression', 'ad_clicked')
                AND campaign = 'cmp_retarget_dpa' AND {win(0, 30)} GROUP BY pid
                HAVING {cnt("kind = 'ad_impression'")} >= 2
                   AND {cnt("kind = 'ad_clicked'")} = 0""",
        "contextual_pages":
            f"""SELECT DISTINCT pid FROM {pages} WHERE cat IN ('427', '428', '422')
                AND {win(0, 30)}""",
        # tag big_spender = buying_power in (very_high) (defined by bench/run.sh)
        "behavioral_tag":
            f"SELECT pid FROM ({spend}) b WHERE level = 4",
        # (activity within 14d on app or product_added within 7d) and no order_completed
        # within 30d and (gender in (female) or age 18..34)
        "nested_composite":
            f"""SELECT pid FROM {ev} WHERE {win(0, 30)} GROUP BY pid
                HAVING ({cnt(f"kind IN {ACT} AND channel = 'app' AND {win(0, 14)}")} > 0
                        OR {cnt(f"kind = 'product_added' AND {win(0, 7)}")} > 0)
                   AND {cnt("kind = 'order_completed'")} = 0
                INTERSECT
                SELECT pid FROM ({demo}) x WHERE x_gender = 1 OR ({age}) BETWEEN 18 AND 34""",
    }


TAGS = {"big_spender": "buying_power in (very_high)"}


# --------------------------------------------------------------------------------------------
# Running the queries
# --------------------------------------------------------------------------------------------


def time_duckdb(con: duckdb.DuckDBPyConnection, sql: str, runs: int) -> tuple[list[float], int]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE m AS {sql}")
        times.append((time.perf_counter() - t) * 1000)
    n = con.execute("SELECT count(*) FROM m").fetchone()[0]
    return times, n


def duckdb_members(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT p.pid_s FROM m JOIN people p USING (pid) ORDER BY 1").fetchall()]


def time_chdb(s, sql: str, runs: int) -> tuple[list[float], int]:
    times = []
    for _ in range(runs):
        s.query("DROP TABLE IF EXISTS b.m")
        t = time.perf_counter()
        s.query(f"CREATE TABLE b.m ENGINE = Memory AS {sql}")
        times.append((time.perf_counter() - t) * 1000)
    n = int(s.query("SELECT count() FROM b.m", "CSV").data().strip())
    return times, n


def chdb_members(s) -> list[str]:
    out = s.query("SELECT p.pid_s FROM b.m AS m INNER JOIN b.people AS p ON p.pid = m.pid "
                  "ORDER BY 1", "TabSeparatedRaw").data()
    return [x for x in out.split("\n") if x]


def audex_members(audex: str, data: str, definition, now: str, tmp: str) -> tuple[list[str] | None, str]:
    cmd = [audex, "--data", data, "audience", "members", "--now", now, "--format", "ids"]
    if isinstance(definition, str):
        cmd += ["--rule", definition]
    else:
        path = os.path.join(tmp, "def.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(definition, f)
        cmd += ["--file", path]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, (r.stderr.strip() or r.stdout.strip())[:500]
    return [x for x in (l.strip() for l in r.stdout.splitlines()) if x], ""


def audex_size(audex: str, data: str, definition, now: str, tmp: str) -> dict | None:
    cmd = [audex, "--data", data, "audience", "size", "--now", now, "--json"]
    if isinstance(definition, str):
        cmd += ["--rule", definition]
    else:
        path = os.path.join(tmp, "def.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(definition, f)
        cmd += ["--file", path]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = (time.perf_counter() - t) * 1000
    if r.returncode != 0:
        return None
    try:
        v = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    v["wall_ms"] = wall
    return v


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", required=True)
    ap.add_argument("--catalog", required=True)
    ap.add_argument("--taxonomy", required=True)
    ap.add_argument("--defs", required=True)
    ap.add_argument("--now", required=True)
    ap.add_argument("--work", required=True, help="directory for the engines' database files")
    ap.add_argument("--out", required=True)
    ap.add_argument("--audex", help="audex binary (for memberships and live-preview sizes)")
    ap.add_argument("--data", help="Audex data directory holding the same events")
    ap.add_argument("--engines", default="duckdb,chdb")
    ap.add_argument("--p1-runs", type=int, default=1, help="imports per engine (0 = skip P1)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per query")
    ap.add_argument("--size-runs", type=int, default=1, help="`audex audience size` calls per definition")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--memory-limit")
    ap.add_argument("--only", help="comma-separated definition names")
    ap.add_argument("--show", type=int, default=5)
    args = ap.parse_args()

    engines = [e for e in args.engines.split(",") if e]
    os.makedirs(args.work, exist_ok=True)
    now = dt.datetime.fromisoformat(args.now.replace("Z", "+00:00")).astimezone(dt.timezone.utc)
    with open(args.defs, encoding="utf-8") as f:
        defs = json.load(f)
    if args.only:
        keep = set(args.only.split(","))
        defs = {k: v for k, v in defs.items() if k in keep}
    out: dict = {"engines": {}, "duckdb_version": duckdb.__version__, "now": args.now}
    if "chdb" in engines:
        import chdb
        out["chdb_version"] = getattr(chdb, "__version__", "?")
        out["chdb_engine_version"] = chdb.query("SELECT version()", "CSV").data().strip().strip('"')

    # ---- P1 ----
    ddb_path = os.path.join(args.work, "duck.db")
    ch_path = os.path.join(args.work, "chdb")
    p1: dict = {}
    for engine in engines:
        times, loads = [], []
        for _ in range(args.p1_runs):
            loads.append(load_avg())
            if engine == "duckdb":
                times.append(duckdb_import(args.events, ddb_path, args.threads, args.memory_limit))
            else:
                times.append(chdb_import(args.events, ch_path)[0])
        if times:
            p1[engine] = {**summary(times), "load_before": loads}
    p1_file = os.path.join(args.work, "p1.json")
    if p1:
        with open(p1_file, "w", encoding="utf-8") as f:
            json.dump({"events": args.events, "p1": p1}, f)
    elif os.path.exists(p1_file):
        # --p1-runs 0: the imports timed earlier in this work directory (same data), if any.
        with open(p1_file, encoding="utf-8") as f:
            prev = json.load(f)
        if prev.get("events") == args.events:
            p1 = {k: {**v, "earlier_invocation": True} for k, v in prev["p1"].items()}
            log(f"P1 of the peers from the earlier invocation in {args.work}")
    out["p1"] = p1

    # ---- derive ----
    con = duckdb.connect(ddb_path)
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    if args.memory_limit:
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.execute(f"SET temp_directory = '{ddb_path}.tmp'")
    have_raw = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'raw'").fetchone()[0]
    if not have_raw:
        log("no raw table yet: importing into DuckDB once (not timed as P1)")
        con.close()
        duckdb_import(args.events, ddb_path, args.threads, args.memory_limit)
        con = duckdb.connect(ddb_path)
    out["derive"] = derive(con, args.taxonomy, args.catalog)
    out["people"] = out["derive"]["rows"]["people"]
    chs = None
    if "chdb" in engines:
        out["chdb_load_derived_s"] = chdb_load_derived(con, ch_path, args.work)
        from chdb import session
        chs = session.Session(ch_path)
        chs.query("SET join_use_nulls = 1")

    # ---- P2 ----
    tmp = tempfile.mkdtemp(prefix="audex-peers.")
    sqls = {"duckdb": definitions_sql(Dialect("duckdb"), now),
            "chdb": definitions_sql(Dialect("chdb", "b."), now)}
    rows, mismatches, errors = [], 0, 0
    for name, definition in defs.items():
        row: dict = {"name": name}
        if name not in sqls["duckdb"]:
            log(f"{name}: no SQL written for this definition; skipped")
            row["error"] = "no SQL"
            errors += 1
            rows.append(row)
            continue
        want = None
        for engine in engines:
            sql = sqls[engine][name]
            try:
                if engine == "duckdb":
                    times, n = time_duckdb(con, sql, args.runs)
                    members = duckdb_members(con)
                else:
                    times, n = time_chdb(chs, sql, args.runs)
                    members = chdb_members(chs)
            except Exception as e:  # noqa: BLE001 — report and carry on
                log(f"{name} [{engine}]: {e}")
                row[engine] = {"error": str(e)[:300]}
                errors += 1
                continue
            row[engine] = {"ms": summary(times), "size": n}
            if want is None:
                want = members
            elif set(members) != set(want):
                row[engine]["differs_from_duckdb"] = True
                log(f"{name}: chDB and DuckDB disagree ({len(members)} vs {len(want)})")
                errors += 1
        if args.audex and args.data and want is not None:
            got, err = audex_members(args.audex, args.data, definition, args.now, tmp)
            if got is None:
                row["audex_error"] = err
                errors += 1
                log(f"{name}: audex failed: {err}")
            else:
                gs, ws = set(got), set(want)
                row["audex_size"] = len(gs)
                row["equal"] = gs == ws
                if gs != ws:
                    mismatches += 1
                    only_sql, only_audex = sorted(ws - gs), sorted(gs - ws)
                    row["only_sql"] = only_sql[: args.show]
                    row["only_audex"] = only_audex[: args.show]
                    row["only_sql_count"] = len(only_sql)
                    row["only_audex_count"] = len(only_audex)
            sizes = [audex_size(args.audex, args.data, definition, args.now, tmp)
                     for _ in range(args.size_runs)]
            sizes = [s for s in sizes if s]
            if sizes:
                row["audex_size_cli"] = {
                    "ms": summary([float(s.get("ms", s.get("millis", 0.0))) for s in sizes]),
                    "wall_ms": summary([s["wall_ms"] for s in sizes]),
                    "size": sizes[0].get("size")}
        status = {True: "equal", False: "MISMATCH", None: "-"}[row.get("equal")]
        log(f"{name}: " + ", ".join(
            f"{e} {row[e]['ms']['median']:.2f} ms ({row[e]['size']})"
            for e in engines if isinstance(row.get(e), dict) and "ms" in row[e])
            + f"; audex {row.get('audex_size', '-')}: {status}")
        rows.append(row)
    shutil.rmtree(tmp, ignore_errors=True)
    out["p2"] = rows
    out["mismatches"] = mismatches
    out["errors"] = errors
    out["load_after"] = load_avg()
    con.close()
    if chs is not None:
        chs.close()
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    for r in rows:
        if r.get("equal") is False:
            print(f"MISMATCH {r['name']}: only in SQL {r['only_sql_count']} "
                  f"(e.g. {r['only_sql']}), only in Audex {r['only_audex_count']} "
                  f"(e.g. {r['only_audex']})")
    log(f"{len(rows)} definitions, {mismatches} membership mismatches, {errors} errors")
    if errors:
        return 2
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
