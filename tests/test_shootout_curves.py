"""Issue 21 items 6 and 7 on the shoot-out page: small multiples of <= 6 runs, and the fall of a
run's validation accuracy told from its own history."""

import importlib.util
from pathlib import Path

import numpy as np

_PATH = Path(__file__).resolve().parents[1] / "recipes" / "mnist_shootout.py"


def _so():
    spec = importlib.util.spec_from_file_location("mnist_shootout_t", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_run_is_in_a_panel_of_at_most_six():
    so = _so()
    keys = {k for k, *_ in so.RUNS}
    shown = {k for _, members in so.FAMILIES for k, _ in members}
    assert shown == keys
    assert all(len(members) <= 6 for _, members in so.FAMILIES)


def _run(acc, loss, lr, what="[784,100,10], SGD 0.2, full batch, 6 epochs"):
    return {"what": what, "epoch": list(range(1, len(acc) + 1)), "val_acc": acc,
            "train_loss": loss, "lrs": lr}


def test_drop_note_reads_the_fall_and_the_loss():
    r = _run([0.5, 0.81, 0.7, 0.62, 0.75, 0.85], [2.0, 0.8, 1.5, 2.5, 1.0, 0.6], [0.2] * 6)
    d = _so().largest_drop(r)
    assert (d["peak_epoch"], d["low_epoch"]) == (2, 4)
    assert np.isclose(d["peak_acc"] - d["low_acc"], 0.19)
    text = _so().drop_note(r)
    assert "falls from 81.0% at epoch 2 to 62.0% at epoch 4" in text
    assert "training loss rises from 0.8 to 2.5" in text and "stays 0.2" in text
    assert "overshoots" in text and "by epoch 6 it is at 85.0%" in text


def test_drop_note_silent_without_a_fall_and_no_overshoot_claim_when_loss_falls():
    so = _so()
    assert so.drop_note(_run([0.5, 0.6, 0.7], [1.0, 0.8, 0.6], [0.1] * 3)) == ""
    r = _run([0.5, 0.8, 0.7], [1.0, 0.8, 0.6], [0.1, 0.1, 0.05], what="[784,10], SGD 0.1, batch 64")
    text = so.drop_note(r)
    assert "training loss falls" in text and "overshoots" not in text
    assert "from 0.1 to 0.05" in text
