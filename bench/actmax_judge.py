"""Do activation-maximization class images look like their digit? A judge that never saw the nets.

    python bench/actmax_judge.py                      # the recipe's MLP and CNN, the function's defaults
    python bench/actmax_judge.py --folder OUT/activation_maximization   # the gallery's .npz files

Goal (issue 12): each class image of the gallery's MLP and CNN (recipe
``recipes/activation_maximization.py``, data ``mnist-5k``) is read as its own class by the judge
at least 9 times in 10 for each model, while the network's own probability stays >= 0.9.

The judge is scikit-learn's ``SVC`` (RBF kernel) on raw pixels, trained on the validation and
test parts of mnist-5k (2,000 digits): the nets were trained on the 3,000 training digits only,
so the judge shares neither weights nor training images with them. Its 5-fold cross-validated
accuracy is printed, to show it reads real digits well.

With ``--folder`` the class images are read from the ``*actmax-classes*.npz`` files the gallery
(or ``vizkit analyze``) writes (keys ``images`` [N, C, H, W] and ``targets`` [N]); the file's
``probabilities`` are used when it has them. Without it the recipe's two models are trained
here (same specs, configs and seed as the recipe, about 10 s) and their class images computed
with :func:`vizkit.analysis.activation_maximization` called as the gallery does: its defaults,
plus the training images as the data prior. Either way the printout gives, per model, the judge's hits, and per class
the judge's reading, the network's probability, the logit reached and the largest logit any real
test digit reaches for that class.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

# The recipe's two models: (figure prefix, registry name, training config, constructor overrides)
RECIPE_MODELS = (("mlp", "mlp", {"epochs": 8}, {}),
                 ("cnn", "cnn", {"epochs": 6}, {"channels": (16, 32)}))


def train_judge(split, seed: int = 0):
    """SVC on the val + test digits (never the nets' training digits); returns (judge, cv acc)."""
    from sklearn.model_selection import cross_val_score
    from sklearn.svm import SVC

    x = torch.cat([split.x_val, split.x_test]).flatten(1).numpy().astype(np.float64)
    y = torch.cat([split.y_val, split.y_test]).numpy()
    judge = SVC(C=10.0, gamma="scale", random_state=seed)
    cv = float(cross_val_score(judge, x, y, cv=5).mean())
    return judge.fit(x, y), cv


def recipe_models(split, seed: int = 0) -> dict:
    """Train the recipe's MLP and CNN as the gallery does (same spec, config and seed)."""
    from vizkit.train import model_spec, train_model
    from vizkit.train._run import default_config

    models = {}
    for prefix, name, config, overrides in RECIPE_MODELS:
        spec = model_spec(name, split, **overrides)
        cfg = default_config(name, n_train=len(split.y_train), seed=seed, progress=False, **config)
        net, _, metrics = train_model(spec, split, cfg)
        models[prefix] = net.eval()
        print(f"{prefix}: {spec['class']} trained, test accuracy {metrics['accuracy']:.3f}")
    return models


def computed_images(models: dict, split, seed: int = 0) -> dict:
    """Class images from :func:`activation_maximization` with its defaults and the training
    images as the prior (the gallery's settings)."""
    from vizkit.analysis import activation_maximization

    lo, hi = float(split.x_train.min()), float(split.x_train.max())
    out = {}
    for prefix, net in models.items():
        t = time.process_time()
        r = activation_maximization(net, list(range(split.n_classes)), seed=seed,
                                    input_shape=split.input_shape, value_range=(lo, hi),
                                    prior=split.x_train)
        print(f"{prefix}: class images in {time.process_time() - t:.1f} s CPU")
        out[prefix] = {"images": r.images.numpy(), "targets": np.arange(split.n_classes)}
    return out


def folder_images(folder: Path) -> dict:
    """``{prefix: {'images', 'targets', ...}}`` from the class-image ``.npz`` files in a folder."""
    files = sorted(folder.rglob("*actmax-classes*.npz"))
    if not files:
        raise SystemExit(f"no '*actmax-classes*.npz' file under {folder}; build the gallery with "
                         "`vizkit gallery --only activation_maximization --out DIR` first.")
    out = {}
    for f in files:
        with np.load(f) as z:
            out[f.stem.split("-actmax")[0]] = {k: z[k] for k in z.files}
    return out


def report(prefix, data, judge, net, split) -> tuple[int, float]:
    """Print one model's table; returns the judge's hits and the lowest network probability."""
    images = np.asarray(data["images"], dtype=np.float32)
    targets = np.asarray(data["targets"]).astype(int)
    read = judge.predict(images.reshape(len(images), -1).astype(np.float64))
    x = torch.from_numpy(images)
    with torch.no_grad():
        logits = net(x) if net is not None else None
        real = net(split.x_test) if net is not None else None
    if "probabilities" in data:
        prob = np.asarray(data["probabilities"], dtype=float)
    else:
        prob = torch.softmax(logits, 1)[torch.arange(len(x)), targets].numpy()
    hits = int((read == targets).sum())
    print(f"\n{prefix}: judge reads {hits}/{len(targets)} class images as their own class; "
          f"network probability min {prob.min():.3f}")
    print(f"{'class':>6}{'judge':>7}{'p(net)':>8}{'logit':>8}{'best real':>11}{'ink':>7}")
    for k, c in enumerate(targets):
        act = float(logits[k, c]) if logits is not None else float("nan")
        best = float(real[:, c].max()) if real is not None else float("nan")
        ink = float(images[k].mean())
        print(f"{split.classes[c]:>6}{split.classes[read[k]]:>7}{prob[k]:>8.3f}{act:>8.2f}"
              f"{best:>11.2f}{ink:>7.3f}")
    return hits, float(prob.min())


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=None,
                        help="folder holding the gallery's actmax .npz files (searched recursively)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from vizkit.data import load

    split = load("mnist-5k", seed=args.seed)
    judge, cv = train_judge(split, args.seed)
    print(f"judge: SVC(rbf, C=10) on mnist-5k val+test (2,000 digits the nets never trained on), "
          f"5-fold CV accuracy {cv:.3f}")
    models = recipe_models(split, args.seed)
    sets = folder_images(args.folder) if args.folder else computed_images(models, split, args.seed)
    res = {p: report(p, d, judge, models.get(p), split) for p, d in sets.items()}
    ok = all(h >= 9 and pmin >= 0.9 for h, pmin in res.values())
    print("\ngoal (>= 9/10 per model, network p >= 0.9): "
          + ", ".join(f"{p} {h}/10, p >= {pmin:.3f}" for p, (h, pmin) in res.items())
          + f" -> {'met' if ok else 'NOT met'}")
    return {"hits": {p: h for p, (h, _) in res.items()}, "judge_cv": cv}


if __name__ == "__main__":
    main()
