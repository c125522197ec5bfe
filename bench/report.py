#!/usr/bin/env python3
"""Collects one bench/run.sh run into bench/out/results-N.json and renders its tables into
BENCHMARKS.md (between `<!-- bench:N:begin -->` and `<!-- bench:N:end -->`; the rest of the
document is left as written).

    report.py merge --raw WORK/raw --out bench/out/results-N.json --people N [--smoke]
    report.py markdown --results bench/out/results-N.json --doc BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys

GOALS = {"p1": 1.0, "p2": 50.0, "p6": 200.0, "p3_ratio": 0.5, "p3_p99_ms": 1.0, "p4_p99_ms": 100.0}
PENDING = "not measured in this run (bench/serving.py)"


def read_time_v(path: str) -> dict:
    """Fields of `/usr/bin/time -v` output: wall seconds, max RSS (KiB), CPU %, user/sys."""
    out: dict = {}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            k, _, v = line.strip().rpartition(": ")
            if k.startswith("Elapsed (wall clock) time"):
                parts = [float(x) for x in v.split(":")]
                secs = 0.0
                for p in parts:
                    secs = secs * 60 + p
                out["wall_s"] = secs
            elif k == "Maximum resident set size (kbytes)":
                out["max_rss_kb"] = int(v)
            elif k == "Percent of CPU this job got":
                out["cpu_percent"] = int(v.rstrip("%") or 0)
            elif k == "User time (seconds)":
                out["user_s"] = float(v)
            elif k == "System time (seconds)":
                out["sys_s"] = float(v)
            elif k == "Exit status":
                out["exit"] = int(v)
    return out


def last_json(path: str):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    for l in reversed(lines):
        try:
            return json.loads(l)
        except ValueError:
            continue
    return None


def summ(xs: list[float]) -> dict | None:
    if not xs:
        return None
    return {"min": min(xs), "median": statistics.median(xs), "runs": len(xs), "all": xs}


def geomean(xs: list[float]) -> float | None:
    xs = [x for x in xs if x and x > 0 and math.isfinite(x)]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def merge(args) -> int:
    raw = args.raw
    machine = {}
    with open(os.path.join(raw, "machine.txt"), encoding="utf-8") as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(": ")
            machine[k] = v
    phases = []
    if os.path.exists(os.path.join(raw, "phases.ndjson")):
        with open(os.path.join(raw, "phases.ndjson"), encoding="utf-8") as f:
            phases = [json.loads(l) for l in f if l.strip()]
    peers = {}
    if os.path.exists(os.path.join(raw, "peers.json")):
        with open(os.path.join(raw, "peers.json"), encoding="utf-8") as f:
            peers = json.load(f)
    evalr = last_json(os.path.join(raw, "eval.json")) or {}
    stats = last_json(os.path.join(raw, "stats.json")) or {}
    stats_rss = last_json(os.path.join(raw, "stats.rss")) or {}
    eval_rss = last_json(os.path.join(raw, "eval.rss")) or {}
    serving = {}
    if os.path.exists(os.path.join(raw, "serving.json")):
        with open(os.path.join(raw, "serving.json"), encoding="utf-8") as f:
            serving = json.load(f)

    # ---- P1 ----
    imports = []
    i = 1
    while os.path.exists(os.path.join(raw, f"import-{i}.json")):
        rep = last_json(os.path.join(raw, f"import-{i}.json")) or {}
        tv = read_time_v(os.path.join(raw, f"import-{i}.time"))
        imports.append({"report": rep, "time": tv})
        i += 1
    events = None
    if imports:
        events = imports[0]["report"].get("accepted")
    events = events or stats.get("events")
    p1: dict = {"events": events}
    if imports:
        walls = [x["time"].get("wall_s") for x in imports if x["time"].get("wall_s")]
        p1["audex"] = {
            "wall_s": summ(walls),
            "import_s": summ([x["report"].get("seconds") for x in imports if x["report"].get("seconds")]),
            "max_rss_kb": max((x["time"].get("max_rss_kb", 0) for x in imports), default=None),
            "cpu_percent": [x["time"].get("cpu_percent") for x in imports],
            "duplicates": imports[0]["report"].get("duplicates"),
            "rejected": (imports[0]["report"].get("rejected") or {}).get("total"),
        }
    for eng, v in (peers.get("p1") or {}).items():
        p1[eng] = {"wall_s": {k: v[k] for k in ("min", "median", "runs", "all")},
                   "load_before": v.get("load_before")}
    if p1.get("audex") and p1["audex"]["wall_s"]:
        a = p1["audex"]["wall_s"]["min"]
        for eng in ("duckdb", "chdb"):
            if eng in p1:
                p1[eng]["ratio_audex_speed"] = p1[eng]["wall_s"]["min"] / a
    if events:
        for eng in ("audex", "duckdb", "chdb"):
            if eng in p1 and p1[eng].get("wall_s"):
                p1[eng]["events_per_s"] = events / p1[eng]["wall_s"]["min"]
    if peers.get("derive"):
        p1["duckdb_derive_s"] = peers["derive"]["seconds"]

    # ---- P2 ----
    by_name = {d["name"]: d for d in evalr.get("definitions", [])}
    p2 = []
    for r in peers.get("p2", []):
        a = by_name.get(r["name"], {})
        row = {
            "name": r["name"], "kind": a.get("kind"), "rule": a.get("rule"),
            "size": a.get("size"), "audex_members": r.get("audex_size"),
            "equal": r.get("equal"),
            "only_sql_count": r.get("only_sql_count"), "only_audex_count": r.get("only_audex_count"),
            "only_sql": r.get("only_sql"), "only_audex": r.get("only_audex"),
            "audex_ms": a.get("set_ms_median"), "audex_ms_min": a.get("set_ms_min"),
            "per_person_ns": a.get("per_person_ns"),
        }
        for eng in ("duckdb", "chdb"):
            v = r.get(eng)
            if isinstance(v, dict) and "ms" in v:
                row[f"{eng}_ms"] = v["ms"]["median"]
                row[f"{eng}_ms_min"] = v["ms"]["min"]
                row[f"{eng}_size"] = v["size"]
                if row["audex_ms"]:
                    row[f"ratio_{eng}"] = v["ms"]["median"] / max(row["audex_ms"], 1e-6)
            elif isinstance(v, dict):
                row[f"{eng}_error"] = v.get("error")
        cli = r.get("audex_size_cli")
        if cli:
            row["preview_ms"] = cli["ms"]["median"]
            row["preview_wall_ms"] = cli["wall_ms"]["median"]
        p2.append(row)
    p2_summary = {}
    for eng in ("duckdb", "chdb"):
        ratios = [r.get(f"ratio_{eng}") for r in p2 if r.get(f"ratio_{eng}")]
        if ratios:
            p2_summary[eng] = {"geomean": geomean(ratios), "min": min(ratios),
                               "below_goal": sum(1 for x in ratios if x < GOALS["p2"]),
                               "n": len(ratios)}

    # ---- P6 ----
    people = stats.get("people") or evalr.get("people") or peers.get("people")
    p6: dict = {"people": people}
    if p1.get("audex", {}).get("max_rss_kb") and people:
        p6["import_peak_rss_bytes"] = p1["audex"]["max_rss_kb"] * 1024
        p6["import_bytes_per_person"] = p6["import_peak_rss_bytes"] / people
    if stats_rss.get("at_output_kb") and people:
        p6["loaded_rss_bytes"] = stats_rss["at_output_kb"] * 1024
        p6["loaded_bytes_per_person"] = p6["loaded_rss_bytes"] / people
        p6["loaded_peak_rss_bytes"] = stats_rss["peak_kb"] * 1024
        p6["loaded_peak_bytes_per_person"] = p6["loaded_peak_rss_bytes"] / people
    for k in ("profile_bytes_per_person", "identity_bytes_per_person", "dictionary_bytes",
              "log_bytes", "open_seconds", "person_ids", "dedup_entries"):
        if k in stats:
            p6[k] = stats[k]
    if eval_rss.get("at_output_kb") and people:
        p6["eval_rss_bytes"] = eval_rss["at_output_kb"] * 1024
        p6["eval_bytes_per_person"] = p6["eval_rss_bytes"] / people

    after = serving.get("rss_after_serving") or {}
    if after.get("VmRSS") and people:
        p6["serving_rss_bytes"] = after["VmRSS"]
        p6["serving_bytes_per_person"] = after["VmRSS"] / people
        p6["serving_peak_rss_bytes"] = after.get("VmHWM")
        p6["serving_peak_bytes_per_person"] = (after.get("VmHWM") or 0) / people

    goals = {}
    p3 = serving.get("p3") or {}
    if p3.get("audex_full") and not serving.get("smoke"):
        half = [x["p99_ms"] for x in (p3.get("audex_half"), p3.get("audex_paced")) if x]
        goals["p3"] = {"goal": f">= {GOALS['p3_ratio']}x Redis, p99 < {GOALS['p3_p99_ms']} ms at half load",
                       "value": p3["ratio_rps"], "p99_half_ms": max(half) if half else None,
                       "met": p3["ratio_rps"] >= GOALS["p3_ratio"] and bool(half)
                       and max(half) < GOALS["p3_p99_ms"]}
    p4 = serving.get("p4") or {}
    if p4.get("p99_ms") is not None and not serving.get("smoke"):
        goals["p4"] = {"goal": f"p99 < {GOALS['p4_p99_ms']} ms", "value": p4["p99_ms"],
                       "met": p4["p99_ms"] < GOALS["p4_p99_ms"] and not p4.get("probe_timeouts")
                       and p4.get("rate_achieved", 0) >= 0.95 * p4.get("rate_target", 0)}
    if p1.get("duckdb", {}).get("ratio_audex_speed"):
        x = p1["duckdb"]["ratio_audex_speed"]
        goals["p1"] = {"goal": f">= {GOALS['p1']}x DuckDB", "value": x, "met": x >= GOALS["p1"]}
    if p2_summary.get("duckdb"):
        s = p2_summary["duckdb"]
        goals["p2"] = {"goal": f">= {GOALS['p2']}x DuckDB", "value": s["geomean"],
                       "min": s["min"], "below_goal": s["below_goal"], "n": s["n"],
                       "met": s["below_goal"] == 0}
    if p6.get("loaded_bytes_per_person"):
        x = p6["loaded_bytes_per_person"]
        goals["p6"] = {"goal": f"<= {GOALS['p6']} bytes/person", "value": x,
                       "import_peak": p6.get("import_bytes_per_person"), "met": x <= GOALS["p6"]}

    out = {
        "people_simulated": args.people, "people": people, "smoke": bool(args.smoke),
        "machine": machine, "phases": phases, "now": peers.get("now"),
        "versions": {"duckdb": peers.get("duckdb_version"), "chdb": peers.get("chdb_version"),
                     "chdb_engine": peers.get("chdb_engine_version")},
        "p1": p1, "p2": p2, "p2_summary": p2_summary, "p6": p6, "goals": goals,
        "eval": {k: evalr.get(k) for k in ("open_s", "index_build_s", "indexed")},
        "derive_rows": (peers.get("derive") or {}).get("rows"),
        "chdb_load_derived_s": peers.get("chdb_load_derived_s"),
        "mismatches": peers.get("mismatches"), "errors": peers.get("errors"),
        "serving": serving,
        # Serving measured by the same invocation (not `run.sh --only-serving` on older data).
        "serving_same_run": bool(serving) and serving.get("command") == machine.get("command"),
        "load_after": peers.get("load_after"),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    print(f"report: wrote {args.out}")
    return 0


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def fmt_ms(x) -> str:
    if x is None:
        return "–"
    if x < 0.01:
        return f"{x * 1000:.1f} µs"
    if x < 1:
        return f"{x:.3f}"
    if x < 100:
        return f"{x:.2f}"
    return f"{x:,.0f}"


def fmt_ratio(x) -> str:
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}×"
    if x >= 10:
        return f"{x:.1f}×"
    return f"{x:.2f}×"


def fmt_n(x) -> str:
    return "–" if x is None else f"{x:,}"


def met(g) -> str:
    if not g:
        return "not measured"
    return "**met**" if g["met"] else "**missed**"


def render(res: dict) -> str:
    m = res["machine"]
    p1, p6, g = res["p1"], res["p6"], res["goals"]
    n = res["people_simulated"]
    lines = []
    lines.append(f"### {int(n):,} simulated people ({fmt_n(res.get('people'))} resolved people, "
                 f"{fmt_n(p1.get('events'))} events)")
    lines.append("")
    lines.append(f"Measured {m.get('date')} on {m.get('nproc')} cores ({m.get('cpu')}), "
                 f"{m.get('mem_total')} RAM, git {m.get('git')}, audex {m.get('profile', '').split(' ')[0]} build; "
                 f"DuckDB {res['versions'].get('duckdb')}"
                 + (f", chDB {res['versions'].get('chdb')} (ClickHouse {res['versions'].get('chdb_engine')})"
                    if res['versions'].get('chdb') else "") + ".")
    loads = ", ".join(f"{ph['phase']} {ph['load']}" for ph in res.get("phases", []))
    lines.append(f"Load average (1/5/15 min) at each phase: {loads}. "
                 "Other engineers were building on the same 2 cores during the run, so read "
                 "min/median and the ratios rather than absolute times.")
    lines.append(f"Command: `{m.get('command')}`.")
    lines.append("")

    # P1
    lines.append("**P1 import** (wall time of the whole command, best of "
                 f"{(p1.get('audex') or {}).get('wall_s', {}).get('runs', '?')}; events/s from the best run)")
    lines.append("")
    lines.append("| engine | what is materialised | best s | median s | events/s | Audex ÷ peer (speed) |")
    lines.append("|---|---|---:|---:|---:|---:|")
    if p1.get("audex"):
        a = p1["audex"]
        lines.append(f"| Audex | durable log (fsync) + profiles + snapshot | {a['wall_s']['min']:.1f} | "
                     f"{a['wall_s']['median']:.1f} | {fmt_n(round(a.get('events_per_s', 0)))} | 1× |")
    desc = {"duckdb": "`CREATE TABLE raw AS SELECT * FROM read_json(…)` (typed columns, nested objects as JSON) + `CHECKPOINT`",
            "chdb": "`CREATE TABLE raw ENGINE = MergeTree AS SELECT * FROM file(…, JSONEachRow, …)` (objects as strings)"}
    for eng in ("duckdb", "chdb"):
        if eng in p1:
            v = p1[eng]
            lines.append(f"| {'DuckDB' if eng == 'duckdb' else 'chDB'} | {desc[eng]} | {v['wall_s']['min']:.1f} | "
                         f"{v['wall_s']['median']:.1f} | {fmt_n(round(v.get('events_per_s', 0)))} | "
                         f"{fmt_ratio(v.get('ratio_audex_speed'))} |")
    if p1.get("duckdb_derive_s"):
        lines.append(f"| DuckDB, then derive | + identity, typed event/product-line tables the P2 SQL reads | "
                     f"{(p1['duckdb']['wall_s']['min'] if 'duckdb' in p1 else 0) + p1['duckdb_derive_s']:.1f} | | | "
                     f"{fmt_ratio(((p1['duckdb']['wall_s']['min'] if 'duckdb' in p1 else 0) + p1['duckdb_derive_s']) / p1['audex']['wall_s']['min']) if p1.get('audex') and 'duckdb' in p1 else '–'} |")
    lines.append("")

    # P2
    lines.append("**P2 evaluation** on loaded data: Audex set-at-a-time `evaluate` "
                 "(`audex bench eval`, median), SQL queries materialising the member ids "
                 "(`CREATE TEMP TABLE m AS <query>`, median); ratio = peer ms ÷ Audex ms. "
                 "Members compared id by id with `audex audience members --format ids`.")
    lines.append("")
    has_ch = any(r.get("chdb_ms") is not None for r in res["p2"])
    head = "| definition | members | Audex ms | per person ns | DuckDB ms | ÷ DuckDB |"
    sep = "|---|---:|---:|---:|---:|---:|"
    if has_ch:
        head += " chDB ms | ÷ chDB |"
        sep += "---:|---:|"
    head += " live preview ms | same members |"
    sep += "---:|:---:|"
    lines += [head, sep]
    for r in res["p2"]:
        same = {True: "yes", False: f"**no** ({r.get('only_sql_count')} only SQL, "
                                      f"{r.get('only_audex_count')} only Audex)", None: "–"}[r.get("equal")]
        row = (f"| `{r['name']}` | {fmt_n(r.get('size'))} | {fmt_ms(r.get('audex_ms'))} | "
               f"{'–' if r.get('per_person_ns') is None else round(r['per_person_ns'])} | "
               f"{fmt_ms(r.get('duckdb_ms'))} | {fmt_ratio(r.get('ratio_duckdb'))} |")
        if has_ch:
            row += f" {fmt_ms(r.get('chdb_ms'))} | {fmt_ratio(r.get('ratio_chdb'))} |"
        row += f" {fmt_ms(r.get('preview_ms'))} | {same} |"
        lines.append(row)
    s = res.get("p2_summary", {})
    summary = []
    for eng, label in (("duckdb", "DuckDB"), ("chdb", "chDB")):
        if eng in s:
            summary.append(f"{label}: geometric mean {fmt_ratio(s[eng]['geomean'])}, lowest "
                           f"{fmt_ratio(s[eng]['min'])}, {s[eng]['below_goal']} of {s[eng]['n']} below 50×")
    lines.append("")
    lines.append("Ratios — " + "; ".join(summary) + ". Live preview = the `ms` of "
                 "`audex audience size --rule/--file … --json` (one CLI call per size: it includes "
                 "building the bitmap index after opening the data directory; steady state is the "
                 "Audex ms column).")
    lines.append("")
    same = res.get("serving_same_run")
    if same:
        lines += render_serving(res.get("serving") or {})
    else:
        lines.append(f"**P3 lookups, P4 freshness**: {'see the serving block below' if res.get('serving') else PENDING}.")
        lines.append("")

    # P6
    lines.append("**P6 memory**, divided by resolved people: import peak from `/usr/bin/time -v`; "
                 "loaded state read from `/proc` when the command prints its result "
                 "(`bench/rss.py`, with `MIMALLOC_PURGE_DELAY=0` so memory freed while loading is "
                 "returned at once, as a long-running process does within a second)")
    lines.append("")
    lines.append("| process | peak RSS | bytes/person |")
    lines.append("|---|---:|---:|")
    if p6.get("import_peak_rss_bytes"):
        lines.append(f"| `audex import` (peak during import) | {p6['import_peak_rss_bytes'] / 2**20:,.0f} MiB | "
                     f"{p6['import_bytes_per_person']:,.0f} |")
    if p6.get("loaded_rss_bytes"):
        lines.append(f"| `audex stats` once loaded (profiles, identity, dedup set, dictionaries) | "
                     f"{p6['loaded_rss_bytes'] / 2**20:,.0f} MiB | {p6['loaded_bytes_per_person']:,.0f} |")
        lines.append(f"| `audex stats`, peak while loading the snapshot | "
                     f"{p6['loaded_peak_rss_bytes'] / 2**20:,.0f} MiB | {p6['loaded_peak_bytes_per_person']:,.0f} |")
    if p6.get("eval_rss_bytes"):
        lines.append(f"| `audex bench eval` at the end (+ bitmap index, evaluations) | "
                     f"{p6['eval_rss_bytes'] / 2**20:,.0f} MiB | {p6['eval_bytes_per_person']:,.0f} |")
    if p6.get("profile_bytes_per_person") is not None:
        lines.append(f"| heap accounted by `audex stats`: profiles + identity per person | | "
                     f"{p6['profile_bytes_per_person']:,.0f} + {p6.get('identity_bytes_per_person', 0):,.0f} |")
    if same:
        lines += p6_serving_rows(res)
    else:
        lines.append(f"| after serving | {'see the serving block below' if res.get('serving') else PENDING} | |")
    lines.append("")

    lines.append("**Goals**")
    lines.append("")
    if "p1" in g:
        lines.append(f"- P1 import ≥ 1× DuckDB: {met(g['p1'])} ({fmt_ratio(g['p1']['value'])}).")
    if "p2" in g:
        lines.append(f"- P2 evaluation ≥ 50× DuckDB: {met(g['p2'])} (geometric mean "
                     f"{fmt_ratio(g['p2']['value'])}, lowest {fmt_ratio(g['p2']['min'])}, "
                     f"{g['p2']['below_goal']} of {g['p2']['n']} definitions below 50×).")
    if "p6" in g:
        lines.append(f"- P6 ≤ 200 bytes/person: {met(g['p6'])} ({g['p6']['value']:,.0f} bytes/person "
                     "resident with the snapshot loaded" + (f", {g['p6']['import_peak']:,.0f} at the import peak"
                                                   if g['p6'].get('import_peak') else "") + ").")
    if same:
        lines += serving_goal_lines(res)
    mism = [r for r in res["p2"] if r.get("equal") is False]
    if mism:
        lines.append("")
        lines.append("Membership differences (the SQL follows the documented meaning; see "
                     "*Audex bugs found* below): " + "; ".join(
                         f"`{r['name']}`: {r.get('only_sql_count')} only in SQL, "
                         f"{r.get('only_audex_count')} only in Audex" for r in mism) + ".")
    return "\n".join(lines)


def render_serving(sv: dict) -> list[str]:
    """P3 and P4 tables from bench/serving.py's serving.json."""
    lines: list[str] = []
    p3, p4 = sv.get("p3"), sv.get("p4")
    if not p3:
        return [f"**P3 lookups, P4 freshness**: {PENDING}.", ""]
    load = f"load average {' '.join(sv.get('load_before', []))} before, {' '.join(sv.get('load_after', []))} after"
    r = sv.get("redis", {})
    mem = sv.get("members", {})
    lines.append(f"**P3 lookups** — measured {sv.get('date')} ({load}; git {sv.get('git')}; "
                 f"{sv.get('seconds')} s for P3+P4), command `{sv.get('command')}`. "
                 f"`wrk` (`bench/lookups.lua`) sends `GET /v1/people/{{id}}/audiences` with a bearer "
                 f"token for ids drawn uniformly from the {fmt_n(mem.get('people'))} people in at least one "
                 f"of the {mem.get('audiences')} saved audiences; `redis-benchmark SMEMBERS m:__rand_int__ "
                 f"-r {mem.get('people')}` reads the same memberships ({fmt_n(mem.get('memberships'))} "
                 f"person–audience pairs, one set of audience ids per person, loaded with `redis-cli --pipe`) "
                 f"from {r.get('version', 'redis-server').split(' sha=')[0]}. Each tool runs with 2 threads "
                 "against its server on the same 2 cores, one after the other. Audex answers JSON with "
                 "each audience's id, name, funnel stage and kind; Redis answers the ids. "
                 f"A sample of {sv.get('check', {}).get('sampled')} people got identical audience ids "
                 f"from both ({sv.get('check', {}).get('different')} different).")
    lines.append("")
    lines.append("| run | Audex req/s | Audex p50 / p99 ms | Redis req/s | Redis p50 / p99 ms | Audex ÷ Redis (req/s) |")
    lines.append("|---|---:|---:|---:|---:|---:|")

    def row(label, a, rd):
        ra = f"{a['rps']:,.0f}" if a else "–"
        la = f"{a['p50_ms']:.2f} / {a['p99_ms']:.2f}" if a else "–"
        rr = f"{rd['rps']:,.0f}" if rd else "–"
        lr = f"{rd['p50_ms']:.2f} / {rd['p99_ms']:.2f}" if rd else "–"
        ratio = fmt_ratio(a["rps"] / rd["rps"]) if a and rd else "–"
        lines.append(f"| {label} | {ra} | {la} | {rr} | {lr} | {ratio} |")

    af, rf = p3["audex_full"], p3["redis_full"]
    row(f"full load: {af['connections']} connections", af, rf)
    ah, rh = p3["audex_half"], p3["redis_half"]
    row(f"half load, fewer connections (Audex {ah['connections']}, Redis {rh['connections']})", ah, rh)
    ap = p3.get("audex_paced")
    if ap:
        row(f"Audex paced: {ap['connections']} connections × one request per {ap['delay_ms']} ms "
            f"(aimed at {ap['target_rps']:,.0f}/s)", ap, None)
    ac = p3.get("audex_paced_healthz")
    if ac:
        row("control: the same pacing, `GET /healthz` (no lookup)", ac, None)
    lines.append("")
    runs = [(n, x) for n, x in (("full load", af), ("fewer connections", ah), ("paced", ap))
            if x and x.get("server_p99_le_ms") is not None]
    if runs:
        ms = lambda v: "> 1,000" if v is None else f"{v:g}"  # noqa: E731
        parts = "; ".join(f"{n}: p50 ≤ {ms(x.get('server_p50_le_ms'))}, p99 ≤ "
                          f"{ms(x.get('server_p99_le_ms'))}, {100 * x.get('server_over_1ms', 0):.2f}% over 1 ms"
                          for n, x in runs)
        sweeps = ", ".join(f"{n} {x.get('sweeps_during', 0)}" for n, x in runs)
        lines.append("Lookup time inside the server (its own histogram, `audex_http_request_duration_seconds` "
                     "of the lookup route in `/metrics`, bucket bounds in ms; from routing to the response, "
                     f"without the socket, the kernel or the wait for a CPU): {parts}. The client-side p99 "
                     "above adds the loopback TCP path, the wait for a core shared with wrk (and with other "
                     "builds), and wrk's own scheduling; the `/healthz` control shows that floor for the "
                     "paced method. Membership sweeps (`audex serve` re-evaluates every saved audience every "
                     f"60 s) that fell in each run: {sweeps}.")
        lines.append("")
    if af.get("server_cpu_us_per_request") and rf.get("server_cpu_us_per_request"):
        ca, cr = af["server_cpu_us_per_request"], rf["server_cpu_us_per_request"]
        lines.append(f"Server CPU per request at full load (user + system time of the server process "
                     f"from `/proc/<pid>/stat` over the run ÷ requests; less sensitive to the other "
                     f"builds than req/s): Audex {ca:,.1f} µs, Redis {cr:,.1f} µs — Redis does "
                     f"{ca / cr:,.1f}× less work per lookup.")
        lines.append("")
    sweep_secs = 1 if sv.get("smoke") else 3
    sweep = ", ".join(f"{a['connections']}: {a['rps']:,.0f} vs {b['rps']:,.0f}"
                      for a, b in zip(p3.get("audex_sweep", []), p3.get("redis_sweep", [])))
    lines.append("Half load: neither wrk nor redis-benchmark can hold a fixed rate (wrk2 is not "
                 "packaged), so each tool ran a connection sweep (connections: Audex vs Redis req/s — "
                 f"{sweep}; {sweep_secs} s each) and the point whose rate was closest to half of that tool's "
                 "full-load rate is shown; for Audex, also a paced run (wrk's `delay()` hook: each connection "
                 "waits between requests). Both are closed-loop: a stalled request delays the next "
                 "one instead of queueing it, so p99 is flattering compared with an open-loop load. "
                 f"Lookup errors: {af.get('errors', 0) + ah.get('errors', 0) + (ap or {}).get('errors', 0)}.")
    lines.append("")
    if p4:
        lines.append(f"**P4 freshness** — `bench/serving.py` posts Segment batches of {p4['batch']} events to "
                     f"`/v1/batch` (write key as Basic user) aiming at {p4['rate_target']:,} events/s for "
                     f"{p4['seconds']:g} s over {fmt_n(p4.get('events_acked'))} acknowledged events "
                     "(track/page/screen events of existing simulated people with fresh messageIds and "
                     f"current timestamps); {p4['probes_per_s']:g} times a second one event of a batch is a "
                     "`Product Viewed` by a new userId, which makes that person enter "
                     f"`{p4['audience']}`, and a poller asks `GET /v1/people/{{id}}/audiences` every ~1 ms "
                     "from the moment the batch is written until the audience shows.")
        lines.append("")
        lines.append("| events/s achieved (target) | batch ack p50 / p99 ms | probes seen | freshness p50 ms | p99 ms | max ms |")
        lines.append("|---:|---:|---:|---:|---:|---:|")
        f = lambda x: "–" if x is None else f"{x:,.1f}"  # noqa: E731
        lines.append(f"| {p4['rate_achieved']:,.0f} ({p4['rate_target']:,}) | {f(p4.get('post_ack_p50_ms'))} / "
                     f"{f(p4.get('post_ack_p99_ms'))} | {p4['probes_seen']} of {p4['probes']}"
                     f"{' (' + str(p4['probe_timeouts']) + ' timed out after 10 s)' if p4.get('probe_timeouts') else ''} | "
                     f"{f(p4.get('p50_ms'))} | {f(p4.get('p99_ms'))} | {f(p4.get('max_ms'))} |")
        if p4.get("server_cpu_us_per_event"):
            lines.append("")
            lines.append(f"Server CPU per acknowledged event during P4 (ingest, fsync'd log, profile and "
                         f"index updates, the saved audiences re-checked for the touched people, and the "
                         f"probes' lookups): {p4['server_cpu_us_per_event']:,.0f} µs.")
        if p4.get("post_errors"):
            lines.append("")
            lines.append(f"Collector errors: {p4['post_errors']} (e.g. {p4['post_error_examples'][:1]}).")
        lines.append("")
    return lines


def p6_serving_rows(res: dict) -> list[str]:
    p6 = res["p6"]
    lines: list[str] = []
    sv = res.get("serving") or {}
    if p6.get("serving_rss_bytes"):
        lines.append(f"| `audex serve` after P3 and P4 ({(sv.get('members') or {}).get('audiences')} saved "
                     f"audiences' memberships, +{fmt_n((sv.get('p4') or {}).get('probes'))} fresh people "
                     f"and {fmt_n((sv.get('p4') or {}).get('events_acked'))} events from P4) | "
                     f"{p6['serving_rss_bytes'] / 2**20:,.0f} MiB | {p6['serving_bytes_per_person']:,.0f} |")
        lines.append(f"| `audex serve`, peak (VmHWM) | {p6['serving_peak_rss_bytes'] / 2**20:,.0f} MiB | "
                     f"{p6['serving_peak_bytes_per_person']:,.0f} |")
        r = sv.get("redis") or {}
        if r.get("rss_end") and (sv.get("members") or {}).get("people"):
            n = sv["members"]["people"]
            lines.append(f"| for comparison: `redis-server` holding only the memberships ({fmt_n(n)} sets, "
                         f"{fmt_n(sv['members']['memberships'])} members) | {r['rss_end'] / 2**20:,.0f} MiB | "
                         f"{r['rss_end'] / n:,.0f} per set ({r['used_memory'] / n:,.0f} `used_memory`) |")
    return lines



def serving_goal_lines(res: dict) -> list[str]:
    g, sv = res["goals"], res.get("serving") or {}
    lines: list[str] = []
    if "p3" in g:
        lines.append(f"- P3 lookups ≥ 0.5× Redis with p99 < 1 ms at half load: {met(g['p3'])} "
                     f"({fmt_ratio(g['p3']['value'])} of Redis's rate at full load; p99 at half load "
                     f"{g['p3']['p99_half_ms']:.2f} ms, the worse of the two half-load methods).")
    else:
        lines.append(f"- P3: {PENDING}.")
    if "p4" in g:
        lines.append(f"- P4 freshness p99 < 100 ms at 10k events/s: {met(g['p4'])} (p99 "
                     f"{g['p4']['value']:.1f} ms at {(sv.get('p4') or {}).get('rate_achieved', 0):,.0f} events/s achieved).")
    else:
        lines.append(f"- P4: {PENDING}.")
    return lines


def render_serving_block(res: dict) -> str:
    """The serving figures of `run.sh --only-serving`, as their own block (the P1/P2 block above
    them stays as its run wrote it)."""
    sv = res.get("serving") or {}
    n = res["people_simulated"]
    lines = [f"### {int(n):,} simulated people: serving (P3 lookups, P4 freshness, P6 after serving)", ""]
    lines.append(f"Measured apart from the P1/P2 figures above, on the data directory their run imported "
                 f"({fmt_n(res.get('people'))} resolved people), with `{sv.get('audex')}`.")
    lines.append("")
    lines += render_serving(sv)
    lines.append("**P6 memory after serving**, divided by resolved people (RSS of `audex serve` from "
                 "`/proc/<pid>/status` after P3 and P4)")
    lines.append("")
    lines.append("| process | RSS | bytes/person |")
    lines.append("|---|---:|---:|")
    lines += p6_serving_rows(res)
    lines.append("")
    lines.append("**Goals**")
    lines.append("")
    lines += serving_goal_lines(res)
    if (res.get("p6") or {}).get("serving_bytes_per_person"):
        lines.append(f"- P6 ≤ 200 bytes/person after serving: **missed** "
                     f"({res['p6']['serving_bytes_per_person']:,.0f} bytes/person)."
                     if res['p6']['serving_bytes_per_person'] > GOALS["p6"] else
                     f"- P6 ≤ 200 bytes/person after serving: **met**.")
    return "\n".join(lines)


def replace_block(doc: str, tag: str, block: str | None, after: str | None = None) -> str:
    """Replaces `<!-- bench:TAG:begin … end -->` (removes it when block is None), else inserts
    it after the block named `after`, else before `<!-- bench:results -->`, else at the end."""
    pat = re.compile(rf"<!-- bench:{tag}:begin.*?<!-- bench:{tag}:end -->\n?", re.S)
    full = None if block is None else (
        f"<!-- bench:{tag}:begin (generated by bench/report.py; edits here are overwritten) -->\n"
        f"{block}\n<!-- bench:{tag}:end -->\n")
    if pat.search(doc):
        return pat.sub(lambda _: full or "", doc)
    if full is None:
        return doc
    if after and f"<!-- bench:{after}:end -->" in doc:
        end = f"<!-- bench:{after}:end -->"
        i = doc.index(end) + len(end)
        return doc[:i] + "\n\n" + full.rstrip("\n") + doc[i:]
    if "<!-- bench:results -->" in doc:
        return doc.replace("<!-- bench:results -->", full + "\n<!-- bench:results -->")
    return doc.rstrip("\n") + "\n\n" + full


def markdown(args) -> int:
    with open(args.results, encoding="utf-8") as f:
        res = json.load(f)
    n = res["people_simulated"]
    doc = open(args.doc, encoding="utf-8").read() if os.path.exists(args.doc) else "# Benchmarks\n"
    if args.serving_only:
        if not res.get("serving"):
            print("report: no serving figures in the results", file=sys.stderr)
            return 2
        doc = replace_block(doc, f"{n}:serving", render_serving_block(res), after=str(n))
    else:
        doc = replace_block(doc, str(n), render(res))
        if res.get("serving_same_run"):
            doc = replace_block(doc, f"{n}:serving", None)
    with open(args.doc, "w", encoding="utf-8") as f:
        f.write(doc)
    print(f"report: updated {args.doc} ({n} people)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("merge")
    m.add_argument("--raw", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--people", required=True, type=int)
    m.add_argument("--smoke", action="store_true")
    d = sub.add_parser("markdown")
    d.add_argument("--results", required=True)
    d.add_argument("--doc", required=True)
    d.add_argument("--serving-only", action="store_true",
                   help="write only the serving block (run.sh --only-serving)")
    args = ap.parse_args()
    return merge(args) if args.cmd == "merge" else markdown(args)


if __name__ == "__main__":
    sys.exit(main())
