"""Hand-made mutants (plausible one-line bugs) of the core modules, against the suite (not part of CI).

Run:  python bench/mutants.py            (one pytest process at a time; a few minutes)
      python bench/mutants.py --only 3 7

Each mutant replaces one exact line fragment of one file in a scratch copy of ``vizkit/`` and
``tests/``, then runs that module's test files (the tests marked slow left out) first without,
then with the ``*_uncommon.py`` files: "old suite" says whether the suite as it was catches it,
"with uncommon" whether it is caught now. A fragment that is no longer in the file is reported
as "stale" (the code moved on; update the table). A faster companion to ``bench/mutation.py``
(mutmut), which needs tens of minutes per module on a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HOOKS = ["tests/test_hooks.py"]
TRAIN = ["tests/test_train.py", "tests/test_train_averaging.py", "tests/test_train_refit.py"]
DATA = ["tests/test_data.py", "tests/test_data_fuzz.py"]

# (what the bug is, file, fragment, replacement, the module's own test files, its uncommon file)
MUTANTS = [
    ("record keeps the autograd graph of a captured output", "vizkit/hooks/_record.py",
     "call.output = protect(output.detach())", "call.output = protect(output)", HOOKS,
     "tests/test_hooks_uncommon.py"),
    ("collect forgets to put the train flags back", "vizkit/hooks/_collect.py",
     "release(handles, flags)", "release(handles, [])", HOOKS, "tests/test_hooks_uncommon.py"),
    ("early stopping never resets its patience counter", "vizkit/train/_fit.py",
     "self.best_score, self.bad_epochs = score, 0", "self.best_score = score", TRAIN,
     "tests/test_train_uncommon.py"),
    ("min_delta ignored", "vizkit/train/_fit.py",
     "not score > self.best_score + cfg.min_delta", "not score > self.best_score", TRAIN,
     "tests/test_train_uncommon.py"),
    ("validation runs in train mode (dropout on)", "vizkit/train/_fit.py",
     "    with training_mode(model, False), torch.no_grad():\n        for xb, yb in batches:",
     "    with training_mode(model, True), torch.no_grad():\n        for xb, yb in batches:", TRAIN,
     "tests/test_train_uncommon.py"),
    ("train loss weighs every batch as a full one", "vizkit/train/_fit.py",
     "loss_sum += lv * b", "loss_sum += lv * (cfg.batch_size or b)",
     TRAIN, "tests/test_train_uncommon.py"),
    ("predict_logits leaves dropout on", "vizkit/train/_fit.py",
     "    with training_mode(model, False):\n        outs", "    with training_mode(model, True):\n        outs",
     TRAIN, "tests/test_train_uncommon.py"),
    ("precision divides by the row (true class) sum", "vizkit/train/metrics.py",
     "precision = tp / M[:, c].sum() if M[:, c].sum() else 0.0",
     "precision = tp / M[c].sum() if M[c].sum() else 0.0", TRAIN, "tests/test_train_uncommon.py"),
    ("the IDX reader's memo ignores the files' mtimes", "vizkit/data/_read.py",
     "found[s].stat().st_mtime_ns)", "0)", DATA, "tests/test_data_uncommon.py"),
    ("the fingerprint ignores the dtype", "vizkit/data/_split.py",
     "h.update(str(t.dtype).encode())", "pass", DATA, "tests/test_data_uncommon.py"),
    ("subset resamples a part whose size equals its cap", "vizkit/data/_split.py",
     "len(self.part(name)[1]) <= cap", "len(self.part(name)[1]) < cap", DATA,
     "tests/test_data_uncommon.py"),
    ("stratified quotas go to the smallest remainders", "vizkit/data/_holdout.py",
     "-(exact - quota)", "(exact - quota)", DATA, "tests/test_data_uncommon.py"),
    ("batches of a split: one batch too few when they do not divide it", "vizkit/train/_fit.py",
     "return math.ceil(self.n / self.bs)", "return self.n // self.bs", TRAIN,
     "tests/test_train_uncommon.py"),
    ("logreg's input gradient only when the weights require grad (frozen in actmax)",
     "vizkit/models/_torch_models.py", "gx = g @ W.t() if ctx.needs_input_grad[0] else None",
     "gx = g @ W.t() if ctx.needs_input_grad[1] else None", ["tests/test_models.py"],
     "tests/test_models_uncommon.py"),
]


def _pytest(work: Path, files: list[str]) -> int:
    env = {**os.environ, "MPLBACKEND": "Agg", "TQDM_DISABLE": "1", "PYTHONPATH": str(work)}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-m", "not slow",
           "--deselect", "tests/test_train.py::test_ptdeep_on_lab_gmm_reaches_095", *files]
    return subprocess.run(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", type=int, nargs="+", help="mutant numbers (1-based) to run")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="vizkit-mutants-"))
    try:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for name in ("vizkit", "tests"):
            shutil.copytree(ROOT / name, work / name, ignore=ignore)
        shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")
        caught_before = caught_now = 0
        for i, (what, path, old, new, tests, uncommon) in enumerate(MUTANTS, 1):
            if args.only and i not in args.only:
                continue
            src = (ROOT / path).read_text()
            if src.count(old) != 1:
                print(f"{i:2d} stale ({src.count(old)} matches): {what}")
                continue
            (work / path).write_text(src.replace(old, new))
            try:
                before = _pytest(work, tests) != 0
                now = before or _pytest(work, [uncommon]) != 0
            finally:
                (work / path).write_text(src)
            caught_before += before
            caught_now += now
            print(f"{i:2d} old suite: {'killed' if before else 'SURVIVED':8s}  with uncommon: "
                  f"{'killed' if now else 'SURVIVED':8s}  {path}: {what}", flush=True)
        print(f"killed by the old suite: {caught_before}; with the uncommon tests: {caught_now}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
