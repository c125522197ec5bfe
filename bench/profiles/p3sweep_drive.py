#!/usr/bin/env python3
"""P3 paced lookups with and without the 60-s membership sweep in the run, for one audex binary
(bench/profiles/p3-sweep.txt). A one-off driver, not part of bench/run.sh.

Uses bench/serving.py's Bench for the setup (copy of the data directory, server, 18 audiences,
ids.txt) and its wrk runner (client latencies + the server's own lookup histogram). Then, for
N minutes: a paced run straddling the sweep (starts 3 s before it) and a paced run 20 s after it
(no sweep), both 10 s, same connections and delay.

    (from the repository root) python3 bench/profiles/p3sweep_drive.py BIN WORK OUT.json \
        [minutes] [conns] [delay_ms]        # DATA=<data dir> TAXONOMY=<file> to override
"""
import json
import os
import sys
import time
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import serving  # noqa: E402

binary, work, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
minutes = int(sys.argv[4]) if len(sys.argv) > 4 else 3
conns = int(sys.argv[5]) if len(sys.argv) > 5 else 64
delay = int(sys.argv[6]) if len(sys.argv) > 6 else 7

args = types.SimpleNamespace(
    audex=binary, data=os.environ.get("DATA", "bench/out/work-100000/data"),
    taxonomy=os.environ.get("TAXONOMY",
                            "../shared/data/google-product-taxonomy/taxonomy-with-ids.en-US.txt"),
    defs="bench/eval/kinds.json", events="", work=work, out=out_path, smoke=False,
    command="", connections=64, p3_seconds=10, p4_seconds=0, rate=0, batch=0, probes=0,
    post_connections=0, keep=False, in_place=False, perf=False)
b = serving.Bench(args)
res = {"binary": binary, "conns": conns, "delay_ms": delay, "runs": []}


def top_bucket(h0, h1):
    d = [(k, v - h0.get(k, 0)) for k, v in h1.items()]
    prev = 0
    top = None
    for k, c in d:
        if c > prev:
            top = k
        prev = c
    return top


def paced(label, path=""):
    h0 = b.lookup_hist()
    r = b.wrk(conns, 10, delay_ms=delay, path=path)
    h1 = b.lookup_hist()
    r["label"] = label
    r["loadavg"] = open("/proc/loadavg").read().split()[:3]
    r["server_max_le_s"] = None if path else top_bucket(h0, h1)
    r["t_rel_ready"] = round(time.time() - b.ready_at, 1)
    res["runs"].append(r)
    serving.log(f"{label}: {r['rps']:,.0f} req/s wrk p50/p99/p99.9 {r['p50_ms']:.2f}/"
                f"{r['p99_ms']:.2f}/{r['p999_ms']:.2f} ms; server p99 <= "
                f"{r.get('server_p99_le_ms')} p99.9 <= {r.get('server_p99.9_le_ms')} ms, "
                f">1 ms {r.get('server_over_1ms', 0) * 100:.3f}%, max <= {r['server_max_le_s']} s; "
                f"sweeps {r['sweeps_during']}")


try:
    res["load_before"] = open("/proc/loadavg").read().split()[:3]
    data = b.copy_data()
    b.start_server(data)
    ids = b.create_audiences()
    people, sets = b.memberships(ids)
    res["people_in_audiences"] = len(people)
    with open(os.path.join(work, "ids.txt"), "w") as f:
        f.write("\n".join(people) + "\n")
    b.wrk(8, 1)
    full = b.wrk(64, 5)
    res["full"] = full
    serving.log(f"full: {full['rps']:,.0f} req/s p99 {full['p99_ms']:.2f} ms")
    k = max(1, int((time.time() - b.ready_at + 3) // 60) + 1)
    for m in range(k, k + minutes):
        sweep_at = b.ready_at + 60 * m
        time.sleep(max(0, sweep_at - 3 - time.time()))
        paced(f"minute {m}: sweep in run")
        time.sleep(max(0, sweep_at + 20 - time.time()))
        paced(f"minute {m}: no sweep")
        paced(f"minute {m}: /healthz control", path="/healthz")
    res["load_after"] = open("/proc/loadavg").read().split()[:3]
finally:
    b.stop_all()
    import shutil
    shutil.rmtree(os.path.join(work, "serve-data"), ignore_errors=True)
    with open(out_path, "w") as f:
        json.dump(res, f, indent=1)
