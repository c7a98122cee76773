"""Mutation testing of one core module against its own test files, with mutmut (not part of CI).

Run:  pip install mutmut
      python bench/mutation.py train-fit                     (one preset, one worker)
      python bench/mutation.py hooks-record --functions _output_hook __exit__
      python bench/mutation.py --list

Each run copies ``vizkit/``, ``tests/`` and ``pyproject.toml`` into a scratch folder (default:
a fresh temporary one; ``--work DIR`` keeps and reuses one, with mutmut's results), writes the
``[mutmut]`` section of a ``setup.cfg`` there (so the repository carries no mutmut config and
CI never runs it), runs ``mutmut run`` with one worker (``--jobs``), then prints the counts per
outcome and every surviving mutant with its diff. mutmut saves its results only when a run
ends: give ``--functions`` (names of functions or methods of the module; mutmut's names for
them are matched by suffix) to keep a run short on a busy machine rather than killing it.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# preset -> (module file, its own test files); every run leaves out the tests marked slow and those
# in SLOW (tens of seconds each, which mutmut would run again for every surviving mutant)
SLOW = ["tests/test_train.py::test_ptdeep_on_lab_gmm_reaches_095",
        "tests/test_train.py::test_fit_learns_xor_and_history_is_complete"]
PRESETS = {
    "hooks-record": ("vizkit/hooks/_record.py", ["tests/test_hooks.py", "tests/test_hooks_uncommon.py"]),
    "train-fit": ("vizkit/train/_fit.py", ["tests/test_train.py", "tests/test_train_uncommon.py"]),
    "train-metrics": ("vizkit/train/metrics.py", ["tests/test_train.py", "tests/test_train_uncommon.py"]),
    "data-split": ("vizkit/data/_split.py", ["tests/test_data.py", "tests/test_data_uncommon.py"]),
    "analysis-errors": ("vizkit/analysis/errors.py", ["tests/test_analysis_errors.py"]),
    "checkpoint": ("vizkit/checkpoint.py", ["tests/test_checkpoint.py", "tests/test_checkpoint_uncommon.py"]),
}

SETUP_CFG = """[mutmut]
source_paths=vizkit
only_mutate={module}
pytest_add_cli_args_test_selection=
{tests}
pytest_add_cli_args=
    -p
    no:cacheprovider
    -x
    -q
    -m
    not slow
{deselect}
process_isolation=forkserver
use_git_change_detection=false
"""

OUTCOMES = ("killed", "survived", "timeout", "no tests", "suspicious", "segfault", "not checked")


def _copy_tree(work: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("vizkit", "tests"):
        if (work / name).exists():
            shutil.rmtree(work / name)
        shutil.copytree(ROOT / name, work / name, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")


def _mutant_globs(module: str, functions: list[str]) -> list[str]:
    dotted = module[:-3].replace("/", ".")
    # mutmut names a function f "x_f__mutmut_N" and a method m of class C "xǁCǁm__mutmut_N"
    return [g for f in functions for g in (f"{dotted}.x_{f}__mutmut_*", f"{dotted}.xǁ*ǁ{f}__mutmut_*")]


def _results(work: Path, env: dict) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=work,
                         env=env, capture_output=True, text=True).stdout
    status = {}
    for line in out.splitlines():
        name, sep, outcome = line.strip().rpartition(": ")
        if sep:
            status[name] = outcome
    return status


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("preset", nargs="?", choices=sorted(PRESETS))
    ap.add_argument("--list", action="store_true", help="list the presets and exit")
    ap.add_argument("--functions", nargs="+", default=[], help="mutate only these functions/methods")
    ap.add_argument("--jobs", type=int, default=1, help="mutmut workers (default 1)")
    ap.add_argument("--work", type=Path, help="scratch folder to keep and reuse")
    ap.add_argument("--no-diffs", action="store_true", help="counts only, no diff per survivor")
    args = ap.parse_args(argv)
    if args.list or args.preset is None:
        for name, (module, tests) in PRESETS.items():
            print(f"{name:16s} {module}  <- {' '.join(tests)}")
        return 0
    module, tests = PRESETS[args.preset]
    tests = [t for t in tests if (ROOT / t).exists()]
    work = args.work or Path(tempfile.mkdtemp(prefix="vizkit-mutation-"))
    work.mkdir(parents=True, exist_ok=True)
    _copy_tree(work)
    (work / "setup.cfg").write_text(SETUP_CFG.format(
        module=module, tests="\n".join(f"    {t}" for t in tests),
        deselect="\n".join(f"    --deselect\n    {t}" for t in SLOW if t.split("::")[0] in tests)))
    env = {**os.environ, "MPLBACKEND": "Agg", "TQDM_DISABLE": "1", "PYTHONPATH": str(work)}
    globs = _mutant_globs(module, args.functions)
    run = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(args.jobs), *globs],
                         cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if run.returncode:
        print(run.stderr[-3000:], file=sys.stderr)
    status = _results(work, env)
    if args.functions:
        import fnmatch

        status = {k: v for k, v in status.items() if any(fnmatch.fnmatch(k, g) for g in globs)}
    counts = collections.Counter(status.values())
    print(f"{module} ({' '.join(tests)}): " + ", ".join(
        f"{o} {counts[o]}" for o in OUTCOMES if counts[o]) + f" (of {len(status)})")
    survivors = [k for k, v in status.items() if v == "survived"]
    for name in survivors:
        print(f"\n--- survived: {name}")
        if not args.no_diffs:
            diff = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=work, env=env,
                                  capture_output=True, text=True).stdout
            print(diff.strip())
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
