"""Seed 004's random search, vizkit against skorch, side by side in one run.

The same candidates (20 draws of h1 ~ U(100, 500), h2 ~ U(50, 250), dropout ~ U(0, 0.8), same
random_state), the same shuffled stratified 3 folds, the same torch module (vizkit's PTDeep
784-h1-h2-10 with batch norm and dropout, built by ``vizkit.models.build``), the same training
settings (Adam, lr, batch size, max epochs, early stopping on a stratified 10 % validation part
with the given patience and the best weights restored), one thread, ``n_jobs=1``; both refit the
best candidate on all the data. A tiny warm-up search of each runs first (imports, first
kernels). Reports wall seconds and the best mean CV accuracy of each.

    python bench/search.py                      # the full run (several minutes on one core)
    python bench/search.py --n-iter 2 --cv 2 --epochs 3   # a quick look

Needs skorch (a bench-only dependency: ``pip install skorch``).

Goal (issue 6): vizkit at least as fast, best CV score within 0.5 points of skorch's.
"""

import argparse
import json
import time

import numpy as np
import torch
from scipy.stats import uniform
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold
from torch import nn

from vizkit.data import load
from vizkit.estimator import HiddenSizes, search, search_results
from vizkit.models import build, default_spec


class SeedDeep(nn.Module):
    """skorch's module: vizkit's own PTDeep (seed 004's net), seeded like NetClassifier does."""

    def __init__(self, hidden=(360, 187), dropout=0.5, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.net = build(default_spec("deep", (1, 28, 28), 10, hidden=tuple(hidden),
                                      dropout=float(dropout)))

    def forward(self, x):
        return self.net(x)


def run_skorch(X, y, a, cv):
    from skorch import NeuralNetClassifier
    from skorch.callbacks import EarlyStopping
    from skorch.dataset import ValidSplit

    net = NeuralNetClassifier(
        SeedDeep, module__seed=a.seed, criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam, lr=a.lr, batch_size=a.batch_size, max_epochs=a.epochs,
        train_split=ValidSplit(0.1, stratified=True, random_state=a.seed),
        callbacks=[EarlyStopping(monitor="valid_loss", patience=a.patience, threshold=0.0,
                                 threshold_mode="abs", load_best=True)],
        iterator_train__shuffle=True, device="cpu", verbose=0)
    space = {"module__hidden": HiddenSizes(100, 500), "module__dropout": uniform(0.0, 0.8)}
    rs = RandomizedSearchCV(net, space, n_iter=a.n_iter, cv=cv, random_state=a.seed, n_jobs=1,
                            refit=True)
    return rs.fit(X, y)


def run_vizkit(X, y, a):
    return search(X, y, n_iter=a.n_iter, cv=a.cv, n_jobs=1, seed=a.seed, progress=False,
                  model="deep", epochs=a.epochs, batch_size=a.batch_size, lr=a.lr,
                  optimizer="adam", patience=a.patience, val_fraction=0.1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-iter", type=int, default=20)
    ap.add_argument("--cv", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--data", default="mnist-5k")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", choices=["vizkit", "skorch"], default=None)
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    split = load(a.data, seed=a.seed)
    X = torch.cat([split.x_train, split.x_val]).numpy()
    y = torch.cat([split.y_train, split.y_val]).numpy()
    print(f"{a.n_iter} candidates x {a.cv} folds on {split.name} ({len(y)} examples), "
          f"epochs<={a.epochs}, patience {a.patience}, batch {a.batch_size}, lr {a.lr}, "
          f"{a.threads} thread(s)")
    # one-time costs (lazy imports, first kernels) are paid for both before the clocks start
    warm = argparse.Namespace(**{**vars(a), "n_iter": 1, "cv": 2, "epochs": 1})
    for name in ("vizkit", "skorch"):
        if not a.only or name == a.only:
            if name == "vizkit":
                run_vizkit(X[::20], y[::20], warm)
            else:
                run_skorch(X[::20], y[::20], warm, StratifiedKFold(2))
    out = {}
    for name in ("vizkit", "skorch"):
        if a.only and name != a.only:
            continue
        t0 = time.perf_counter()
        if name == "vizkit":
            rs = run_vizkit(X, y, a)
            params = [(round(p["dropout"], 6), tuple(p["hidden"])) for p in rs.cv_results_["params"]]
        else:
            cv = StratifiedKFold(n_splits=a.cv, shuffle=True, random_state=a.seed)
            rs = run_skorch(X, y, a, cv)
            params = [(round(p["module__dropout"], 6), tuple(p["module__hidden"]))
                      for p in rs.cv_results_["params"]]
        seconds = time.perf_counter() - t0
        test = float(rs.score(split.x_test.numpy(), split.y_test.numpy()))
        out[name] = {"seconds": seconds, "best_cv": float(rs.best_score_),
                     "best_params": {k: (list(v) if isinstance(v, tuple) else float(v))
                                     for k, v in rs.best_params_.items()},
                     "test_acc_of_refit_best": test,
                     "fit_seconds_total": float(np.sum(rs.cv_results_["mean_fit_time"]) * a.cv),
                     "mean_scores": [float(s) for s in rs.cv_results_["mean_test_score"]],
                     "params": params}
        print(f"{name:>7}: {seconds:7.1f} s  best CV accuracy {rs.best_score_:.4f}  "
              f"(refit best: test accuracy {test:.4f})  best {rs.best_params_}", flush=True)
        if name == "vizkit":
            from vizkit.estimator import format_results

            print(format_results(search_results(rs)[:5]))
    if len(out) == 2:
        v, s = out["vizkit"], out["skorch"]
        same = v["params"] == s["params"]
        print(f"same candidates: {same}")
        print(f"speed: vizkit {s['seconds'] / v['seconds']:.2f}x skorch's  "
              f"(goal >= 1.0x: {'met' if v['seconds'] <= s['seconds'] else 'NOT met'})")
        gap = 100 * (s["best_cv"] - v["best_cv"])
        print(f"best CV accuracy: vizkit {100 * v['best_cv']:.2f} %, skorch {100 * s['best_cv']:.2f} "
              f"%  (vizkit {-gap:+.2f} points; goal within 0.5: "
              f"{'met' if gap <= 0.5 else 'NOT met'})")
        paired = np.array(v["mean_scores"]) - np.array(s["mean_scores"])
        print(f"per-candidate CV accuracy, vizkit - skorch: mean {100 * paired.mean():+.2f} "
              f"points, min {100 * paired.min():+.2f}, max {100 * paired.max():+.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
