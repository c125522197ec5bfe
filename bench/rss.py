#!/usr/bin/env python3
"""Runs a command and measures its resident memory from /proc.

    rss.py --out FILE.json [--every-ms 10] -- CMD ARGS...

The command's stdout is relayed. FILE.json gets:
* `peak_kb`: VmHWM, the high-water mark (includes transient buffers, e.g. while a snapshot is
  decoded);
* `at_output_kb`: VmRSS when the command first writes to stdout — for `audex stats` and
  `audex bench eval`, which print once their work is done, that is what the loaded state holds
  before anything is dropped (the process is stopped with SIGSTOP while it is read);
* `wall_s`, `exit`.
Exit status is the command's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time


def status(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0])
    except OSError:
        pass
    return out


def main() -> int:
    args = sys.argv[1:]
    out, every = None, 0.01
    while args and args[0] != "--":
        if args[0] == "--out":
            out, args = args[1], args[2:]
        elif args[0] == "--every-ms":
            every, args = float(args[1]) / 1000, args[2:]
        else:
            print(f"rss.py: unknown option {args[0]}", file=sys.stderr)
            return 2
    cmd = args[1:]
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    result = {"peak_kb": 0, "at_output_kb": None}

    def sampler() -> None:
        while p.poll() is None:
            s = status(p.pid)
            if "VmHWM" in s:
                result["peak_kb"] = max(result["peak_kb"], s["VmHWM"])
            time.sleep(every)

    th = threading.Thread(target=sampler, daemon=True)
    th.start()
    assert p.stdout is not None
    first = True
    while True:
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        if first:
            first = False
            try:
                os.kill(p.pid, signal.SIGSTOP)
                s = status(p.pid)
                result["at_output_kb"] = s.get("VmRSS")
                result["peak_kb"] = max(result["peak_kb"], s.get("VmHWM", 0))
            finally:
                os.kill(p.pid, signal.SIGCONT)
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
    rc = p.wait()
    th.join(timeout=1)
    result.update({"wall_s": time.perf_counter() - t, "exit": rc})
    if out:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(result, f)
    return rc


if __name__ == "__main__":
    sys.exit(main())
