"""Decision surface at grid resolution 500: vizkit beside scikit-learn's DecisionBoundaryDisplay.

Run:  python bench/surface.py             (one thread, about 1 minute with the training)
      python bench/surface.py --rounds 5 --resolution 500

Trains a 2D PTDeep on ``gmm-2d`` (the registry's 'mlp', ``[2, 300, C]``, what
``vizkit train --model mlp --data gmm-2d`` makes) and the lab's small ``PTDeep([2, 10, 10, C])``,
then for each, in one run, interleaved round by round (median of the rounds, one thread):
- vizkit ``decision_surface`` (probabilities of the whole grid, chunked, no_grad);
- vizkit ``decision_surface`` + ``plot_decision_regions`` (compute and draw);
- scikit-learn ``DecisionBoundaryDisplay.from_estimator`` (compute and draw, ``contourf``) on the
  same classifier, wrapped in a tiny scikit-learn classifier, same rectangle and resolution.
Goal: vizkit's surface under 1 s on the CPU. The ratio is scikit-learn / vizkit (compute + draw).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


class TorchProbaClassifier:
    """The smallest scikit-learn-compatible classifier over a trained torch module (logits out)."""

    _estimator_type = "classifier"

    def __init__(self, module: torch.nn.Module, n_classes: int) -> None:
        self.module = module.eval()
        self.classes_ = np.arange(n_classes)

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags())

    def fit(self, X, y):  # already trained
        return self

    @torch.no_grad()
    def predict_proba(self, X) -> np.ndarray:
        x = torch.as_tensor(np.asarray(X), dtype=torch.float32)
        return torch.softmax(self.module(x), 1).numpy()

    def predict(self, X) -> np.ndarray:
        return self.predict_proba(X).argmax(1)


def _train(spec_name: str, split, hidden=None):
    from vizkit.train import train_model

    overrides = {} if hidden is None else {"hidden": hidden}
    model, _, metrics = train_model(spec_name, split, {"epochs": 60, "progress": False, "patience": 60},
                                    **overrides)
    return model.eval(), metrics["accuracy"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import sklearn
    from sklearn.inspection import DecisionBoundaryDisplay

    from vizkit.analysis.decision_surface import decision_surface
    from vizkit.data import load
    from vizkit.plot.decision_surface import plot_decision_regions

    split = load("gmm-2d", seed=0)
    X = split.x_train.numpy().astype(np.float64)
    C = split.n_classes
    eps = 1.0  # scikit-learn's default margin, in data units: use the same rectangle
    rect = (X.min(0) - eps, X.max(0) + eps)
    R = args.resolution
    print(f"torch {torch.__version__}, scikit-learn {sklearn.__version__}, threads "
          f"{torch.get_num_threads()}, grid {R}x{R} = {R * R:,} points, {args.rounds} rounds")
    for label, name, hidden in (("mlp [2, 300, C] (registry)", "mlp", None),
                                ("PTDeep [2, 10, 10, C] (lab)", "mlp", (10, 10))):
        model, acc = _train(name, split, hidden)
        clf = TorchProbaClassifier(model, C)
        times = {"vizkit surface": [], "vizkit surface + draw": [], "sklearn DecisionBoundaryDisplay": []}
        agree = None
        for _ in range(args.rounds):
            t = time.perf_counter()
            surf = decision_surface(model, rect, grid_resolution=R)
            times["vizkit surface"].append(time.perf_counter() - t)

            fig, ax = plt.subplots()
            t = time.perf_counter()
            surf = decision_surface(model, rect, grid_resolution=R)
            plot_decision_regions(surf, ax=ax)
            times["vizkit surface + draw"].append(time.perf_counter() - t)
            plt.close(fig)

            fig, ax = plt.subplots()
            t = time.perf_counter()
            disp = DecisionBoundaryDisplay.from_estimator(clf, X, grid_resolution=R, eps=eps,
                                                          response_method="predict_proba", ax=ax)
            times["sklearn DecisionBoundaryDisplay"].append(time.perf_counter() - t)
            plt.close(fig)
            resp = np.asarray(disp.response)
            ours = surf.probs[..., 1] if resp.ndim == 2 else surf.probs
            agree = float(np.abs(resp - ours).max()) if resp.shape == ours.shape else None
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"\n{label}: test accuracy {acc:.3f}")
        for k, v in med.items():
            print(f"  {k:<34} {v:7.3f} s")
        ratio = med["sklearn DecisionBoundaryDisplay"] / med["vizkit surface + draw"]
        print(f"  ratio sklearn / vizkit (compute + draw): {ratio:.2f}x; goal vizkit surface < 1 s: "
              f"{'met' if med['vizkit surface'] < 1.0 else 'NOT met'}"
              + ("" if agree is None else f"; max |P difference| vs sklearn's grid {agree:.1e}"))


if __name__ == "__main__":
    main()
