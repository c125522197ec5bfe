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

GOALS = {"p1": 1.0, "p2": 50.0, "p6": 200.0}
PENDING = "pending: needs the server (issue 4)"


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

    goals = {}
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
    lines.append(f"| P3 lookups (wrk vs redis-benchmark) | {PENDING} |")
    lines.append("|---|---|")
    lines.append(f"| P4 freshness (10k events/s → lookup) | {PENDING} |")
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
    lines.append(f"| after serving | {PENDING} | |")
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
    lines.append(f"- P3, P4: {PENDING}.")
    mism = [r for r in res["p2"] if r.get("equal") is False]
    if mism:
        lines.append("")
        lines.append("Membership differences (the SQL follows the documented meaning; see "
                     "*Audex bugs found* below): " + "; ".join(
                         f"`{r['name']}`: {r.get('only_sql_count')} only in SQL, "
                         f"{r.get('only_audex_count')} only in Audex" for r in mism) + ".")
    return "\n".join(lines)


def markdown(args) -> int:
    with open(args.results, encoding="utf-8") as f:
        res = json.load(f)
    n = res["people_simulated"]
    block = f"<!-- bench:{n}:begin (generated by bench/report.py; edits here are overwritten) -->\n" \
            f"{render(res)}\n<!-- bench:{n}:end -->"
    doc = open(args.doc, encoding="utf-8").read() if os.path.exists(args.doc) else "# Benchmarks\n"
    pat = re.compile(rf"<!-- bench:{n}:begin.*?<!-- bench:{n}:end -->", re.S)
    if pat.search(doc):
        doc = pat.sub(lambda _: block, doc)
    elif "<!-- bench:results -->" in doc:
        doc = doc.replace("<!-- bench:results -->", block + "\n\n<!-- bench:results -->")
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
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
    args = ap.parse_args()
    return merge(args) if args.cmd == "merge" else markdown(args)


if __name__ == "__main__":
    sys.exit(main())
