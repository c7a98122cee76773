"""Cold and warm gallery builds: seconds in all and per recipe.

Run: ``python bench/gallery.py [--data mnist-5k] [--jobs N] [--keep DIR [--warm-only]]``
     ``python bench/gallery.py --data fashion-mnist``   (full size: 55,000 training images)

Each build runs in a fresh process, the way ``vizkit gallery`` does (by default with its
recipes side by side, one per CPU, at most 4: ``--jobs 1`` for one at a time): first a cold build
into an empty folder with an empty model cache (everything trained and drawn), then a warm build
of the same folder (everything up to date: nothing trained, no file rewritten). The targets with
2 cores, on ``mnist-5k`` and on full-size data (``fashion-mnist``, the size of full MNIST):
cold <= 10 minutes, warm <= 30 s. Nothing is written outside a temporary folder unless
``--keep DIR`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys
from vizkit.gallery import build_gallery
sys.exit(build_gallery({out!r}, data={data!r}, jobs={jobs}, cache_dir={cache!r}))
"""
LINE = re.compile(r"^\[gallery\] (\w+): (built in ([\d.]+) s|FAILED in ([\d.]+) s|up to date)")


def build(out: Path, cache: Path, args) -> tuple[float, int, dict[str, str], str]:
    code = CHILD.format(out=str(out), data=args.data, jobs=args.jobs,
                        cache=str(cache))
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "TQDM_DISABLE": "1"}
    t0 = time.perf_counter()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    build.cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    per = {}
    for line in proc.stdout.splitlines():
        m = LINE.match(line)
        if m:
            per[m.group(1)] = m.group(2)
    return seconds, proc.returncode, per, proc.stdout + proc.stderr


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="mnist-5k")
    p.add_argument("--jobs", type=int, default=None,
                   help="recipes side by side (default: vizkit gallery's, one per CPU, at most 4)")
    p.add_argument("--keep", default=None, help="build into this folder instead of a temporary one")
    p.add_argument("--warm-only", action="store_true",
                   help="only the warm build, of the gallery an earlier --keep run left")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="vizkit-bench-") as tmp:
        base = Path(args.keep) if args.keep else Path(tmp)
        out, cache = base / "gallery", base / "cache"
        from vizkit.gallery import default_jobs

        jobs = args.jobs if args.jobs is not None else default_jobs()
        print(f"data {args.data}, jobs {jobs}, one torch thread per recipe ($VIZKIT_THREADS), "
              f"{os.cpu_count()} CPUs", flush=True)
        if args.warm_only:
            if not (out / "manifest.json").is_file():
                p.error(f"--warm-only needs an earlier build in {out} (use the same --keep)")
            cold, rc_cold, per_cold, log_cold = float("nan"), 0, {}, ""
        else:
            cold, rc_cold, per_cold, log_cold = build(out, cache, args)
            print(f"cold build: {cold:.1f} s wall, {build.cpu:.0f} s CPU (exit {rc_cold})", flush=True)
        load = os.getloadavg()[0]
        warm, rc_warm, per_warm, log_warm = build(out, cache, args)
        print(f"warm build: {warm:.1f} s wall, {build.cpu:.1f} s CPU (exit {rc_warm})", flush=True)
        print(f"(load average before the warm build: {load:.1f}; other work on the machine "
              "stretches wall times, CPU seconds less so)")
        manifest = json.loads((out / "manifest.json").read_text())
        print(f"\n{'recipe':<26} {'cold':>30}   warm")
        for r in manifest["recipes"]:
            print(f"{r['name']:<26} {per_cold.get(r['name'], '-'):>30}   {per_warm.get(r['name'], '-')}")
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        print(f"\n{len(manifest['figures'])} figures, gallery size {size / 2**20:.1f} MiB")
        verdict = [] if args.warm_only else [f"cold <= 600 s: {'yes' if cold <= 600 else 'NO'} ({cold:.0f} s)"]
        verdict.append(f"warm <= 30 s: {'yes' if warm <= 30 else 'NO'} ({warm:.1f} s)")
        print("; ".join(verdict))
        if rc_cold or rc_warm:
            print("\n--- build log lines about failures ---\n" + "\n".join(
                line for line in (log_cold + log_warm).splitlines()
                if "FAILED" in line or "Error" in line))
        return 0 if rc_cold == 0 and rc_warm == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
