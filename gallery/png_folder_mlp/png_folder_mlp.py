"""Seed 001's workflow: a folder of PNGs, a Dataset and a DataLoader, the 784-300-10 MLP, and the
lecture's "train-loss / train-err every 100 batches" log.

Run: ``python recipes/png_folder_mlp.py`` (or ``vizkit gallery --only png_folder_mlp``).

Shows the lecture's pipeline end to end on the gallery's data: the images are written as 8-bit
PNGs in ``training/<class>/``, ``validation/<class>/`` and ``testing/<class>/`` folders
(:func:`vizkit.data.write_image_folder`, in a temporary folder inside the gallery's cache, removed
afterwards), read back lazily by :func:`vizkit.data.image_folder` with the lecture's transform
(``ToTensor()`` then ``Normalize((0.1307,), (0.3081,))``) and batched by a
``torch.utils.data.DataLoader`` (batch 50, shuffled, seeded). The 784-300-10 ReLU MLP is trained
with cross-entropy and plain SGD at the lecture's step 0.01 by :func:`vizkit.train.fit`, which
prints the lecture's log line every 100 batches (printed below) and keeps the best-validation
epoch. The figure draws that printed log, with the validation accuracy per epoch.

Where it departs from the lecture: 20 epochs instead of 100, so that the gallery builds in
seconds; at most 6,000 training, 1,000 validation and 2,000 test images (seeded subsets of
full-size data, whose 21,000 PNGs would be decoded 20 times over; all of mnist-5k's 3,000 / 1,000
/ 1,000);
each log line covers the 100 batches before it (the lecture's first line covers its first batch
alone); the error is printed as a fraction, not a percentage.
"""

import contextlib
import io
import re
import tempfile

import numpy as np
import torch

ORDER = 25
TOPIC = "Training basics"
MAX_IMAGES = {"training": 6000, "validation": 1000, "testing": 2000}
LOG_EVERY = 100
CONFIG = {"optimizer": "sgd", "lr": 0.01, "momentum": 0.0, "epochs": 20, "log_every": LOG_EVERY,
          "monitor": "val_acc", "progress": False}
LINE = re.compile(r"epoch (\d+) step (\d+): train-loss ([0-9.eE+-]+)\s+train-err ([0-9.eE+-]+)")


def parse_log(text: str) -> dict:
    """The (epoch, step, train-loss, train-err) columns of ``fit``'s ``log_every`` lines."""
    rows = [tuple(float(v) for v in m.groups()) for m in LINE.finditer(text)]
    cols = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    return {"epoch": cols[:, 0].astype(int), "step": cols[:, 1].astype(int),
            "train_loss": cols[:, 2], "train_err": cols[:, 3]}


def log_caption(log: dict, hist, sizes: dict, batch: int, test_err: float) -> str:
    """The caption, from the parsed log, the history it plots and the PNGs per folder: it opens
    with what to see, and weighs the kept epoch against the last one by the binomial standard
    error of a validation error on that many images."""
    n_train, n_val = sizes["training"], sizes["validation"]
    per_epoch = -(-n_train // batch)
    best_err = 1 - hist.best["val_acc"]
    last_err = 1 - hist.epochs[-1]["val_acc"]
    se = float(np.sqrt(max(best_err * (1 - best_err), 1e-12) / max(n_val, 1)))
    if hist.best_epoch == len(hist.epochs):
        weigh = "the last epoch is the best one, so validation error may still be falling"
    elif last_err - best_err <= se:
        more = round((last_err - best_err) * n_val)
        weigh = (f"the last epoch's {last_err:.1%} is {more} validation image"
                 f"{'s' * (more != 1)} more, within one standard error ({se:.1%}): no sign of "
                 "over-fitting")
    else:
        weigh = (f"the last epoch's {last_err:.1%} is more than one standard error ({se:.1%}) "
                 "above it")
    return (f"Training error falls from {log['train_err'][0]:.1%} to "
            f"{log['train_err'][-1]:.1%}, and validation error reaches "
            f"{best_err:.1%} at epoch {hist.best_epoch}; {weigh}. Left, the printed log: "
            f"train-loss and train-err over each window of {LOG_EVERY} batches "
            f"of {batch} images ({len(log['step'])} lines over {len(hist.epochs)} epochs of "
            f"{per_epoch} batches, {n_train:,} training images); right: "
            f"validation error per epoch ({n_val:,} images); the weights of epoch "
            f"{hist.best_epoch} are kept (test error {test_err:.1%} on {sizes['testing']:,} "
            "test images).")


def png_loaders(split, root, seed: int, batch: int):
    """Write the split as PNG folders under ``root`` and return train/val/test DataLoaders."""
    from torch.utils.data import DataLoader
    from torchvision import transforms

    from vizkit.data import image_folder, write_image_folder

    small = split.subset(train=MAX_IMAGES["training"], val=MAX_IMAGES["validation"],
                         test=MAX_IMAGES["testing"], seed=seed)  # full-size data: seeded subsets
    parts = {"training": small.part("train"), "validation": small.part("val"),
             "testing": small.part("test")}
    lecture = transforms.Compose([transforms.Grayscale(num_output_channels=1),
                                  transforms.ToTensor(),
                                  transforms.Normalize((0.1307,), (0.3081,))])
    loaders = []
    for part, (xp, yp) in parts.items():
        write_image_folder(xp, yp, f"{root}/{part}", classes=split.classes)
        dataset = image_folder(f"{root}/{part}", transform=lecture)
        shuffle = part == "training"
        gen = torch.Generator().manual_seed(seed) if shuffle else None
        loaders.append(DataLoader(dataset, batch_size=batch, shuffle=shuffle, generator=gen))
    return loaders, {part: len(yp) for part, (_, yp) in parts.items()}


def run(ctx):
    import matplotlib.pyplot as plt

    from vizkit._io import default_cache_dir
    from vizkit.models import PTDeep
    from vizkit.train import fit, predict_logits

    split = ctx.data()
    batch = 50
    cache = default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix="png-folder-") as root:
        (train, val, test), sizes = png_loaders(split, root, ctx.seed, batch)
        torch.manual_seed(ctx.seed)
        model = PTDeep([784, 300, 10], "relu")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            hist = fit(model, (train, val), {**CONFIG, "seed": ctx.seed})
        print(printed.getvalue(), end="")
        wrong = total = 0
        for xb, yb in test:
            wrong += int((predict_logits(model, xb).argmax(1) != yb).sum())
            total += len(yb)
    test_err = wrong / total
    log = parse_log(printed.getvalue())
    if not len(log["step"]):
        raise ValueError("fit printed no train-loss / train-err line: too few batches for "
                         f"log_every={LOG_EVERY}.")
    from matplotlib.ticker import LogLocator, MaxNLocator, StrMethodFormatter

    fig, (ax_log, ax_val) = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
    ax_log.plot(log["step"], log["train_loss"], "o-", label="train-loss")
    ax_log.plot(log["step"], log["train_err"], "s-", label="train-err")
    ax_log.set_xlabel(f"batch (one line per {LOG_EVERY})"), ax_log.set_yscale("log")
    ax_log.set_ylabel("train-loss, train-err (log scale)")
    # loss and error span ~0.05 to ~1.5: label the minor ticks too, or only 0.1 and 1 show
    ax_log.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    for axis_set in (ax_log.yaxis.set_major_formatter, ax_log.yaxis.set_minor_formatter):
        axis_set(StrMethodFormatter("{x:g}"))
    ax_log.set_title("the printed log", fontsize=10), ax_log.legend(fontsize=9)
    epochs, val_err = np.asarray(hist.series("epoch")), 1 - np.asarray(hist.series("val_acc"))
    ax_val.plot(epochs, val_err, "o-", color="C2")
    ax_val.axvline(hist.best_epoch, color="grey", ls=":", label=f"kept: epoch {hist.best_epoch}")
    ax_val.set_xlabel("epoch"), ax_val.set_ylabel("validation error")
    ax_val.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_val.set_title("validation error per epoch", fontsize=10), ax_val.legend(fontsize=9)
    ctx.figure("log", fig, log_caption(log, hist, sizes, batch, test_err),
               data={**log, "epochs": epochs, "val_err": val_err})
    ctx.metric("test error (784-300-10, SGD 0.01, batch 50)", round(test_err, 4), headline=True)
    ctx.metric("epochs (best kept)", f"{len(hist.epochs)} ({hist.best_epoch})")
    ctx.metric("training PNGs", sizes["training"])


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
