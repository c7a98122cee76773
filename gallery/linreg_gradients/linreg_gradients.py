"""Linear regression by gradient descent: hand-derived gradients against autograd (seed 002's pt_linreg).

Run: ``python recipes/linreg_gradients.py`` (or ``vizkit gallery --only linreg_gradients``).

Shows the lab's ``Y = a X + b`` fitted to the points (1, 3), (2, 5) and to 20 noisy points of a
line, by plain gradient descent on ``L = sum (Y - a X - b)^2``; at every step the gradients
``dL/da = -2 sum (Y - aX - b) X`` and ``dL/db = -2 sum (Y - aX - b)`` worked out by hand are
compared with the ones autograd computes.

The lab's own setting is kept for its problem: a step of 0.1 on the summed squared error, 100
steps, starting here from a = b = 0 (the lab starts from random values). The 20-point problem is
vizkit's addition; its step is 0.005 because its summed loss has a 20-times larger curvature.
Every step count and difference in the captions is read from the run.
"""

import numpy as np

from vizkit.models import linreg_gradients

ORDER = 20
TOPIC = "Training basics"


STEPS = 100


def descend(X, Y, *, lr, steps):
    """``steps`` gradient steps from a = b = 0; ``rows[k]`` is the state after ``k`` steps (with
    its loss and both gradients there), so there are ``steps + 1`` rows."""
    a, b, rows = 0.0, 0.0, []
    for step in range(steps + 1):
        g = linreg_gradients(X, Y, a, b)
        rows.append({"step": step, "a": a, "b": b, **g})
        a, b = a - lr * g["autograd_a"], b - lr * g["autograd_b"]
    return rows


def least_squares_loss(X, Y) -> tuple[float, float, float]:
    """``(a, b, loss)`` of the least-squares line (numpy's ``lstsq``), the loss as the lab
    defines it (read from ``linreg_gradients`` at that line): the floor gradient descent can
    reach."""
    A = np.stack([np.asarray(X, float), np.ones(len(X))], axis=1)
    (a, b), *_ = np.linalg.lstsq(A, np.asarray(Y, float), rcond=None)
    return float(a), float(b), float(linreg_gradients(X, Y, float(a), float(b))["loss"])


def descent_caption(shown_steps, worst: float, scale: float, floors=()) -> str:
    """The figure's caption from the steps drawn, the largest gradient difference and, per
    problem, ``(title, final loss, least-squares loss)``: it opens with what to see."""
    steps = ", ".join(str(s) for s in shown_steps[:-1]) + f" and {shown_steps[-1]}"
    agree = worst <= 1e-9 * max(scale, 1.0)
    text = ("Gradient descent walks the line onto the data and the loss down toward its floor"
            + ("; the hand-derived gradients agree with autograd. " if agree else ". "))
    for title, final, floor in floors:
        gap = final - floor
        where = (", reached" if gap <= 1e-3 * floor + 1e-9 else f", {gap:.2g} below")
        shown = f"{floor:.4g}" if floor >= 1e-12 else "0 (the points lie on one line)"
        text += (f"{title}: loss {final:.4g} after {shown_steps[-1]} steps; the least-squares "
                 f"line's loss (numpy lstsq) is {shown}{where}. ")
    text += (f"Left: the line after {steps} steps; middle: the loss at every step (log scale); "
             f"right: every step's hand-derived gradient against autograd's. The largest "
             f"difference between the two is {worst:.2g} (the largest gradient is {scale:.3g})")
    if agree:
        return text + ": all points lie on the diagonal."
    return text + "."


def run(ctx):
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(ctx.seed)
    noisy_x = np.linspace(-2, 3, 20)
    problems = {"lab: (1, 3), (2, 5)": (np.array([1.0, 2.0]), np.array([3.0, 5.0]), 0.1),
                "20 points of y = 2x + 1 + noise": (noisy_x, 2 * noisy_x + 1 + rng.normal(0, 0.7, 20), 0.005)}
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.8))
    worst, scale, table, data, floors = 0.0, 0.0, [], {}, []
    for k, (row_axes, (title, (X, Y, lr))) in enumerate(zip(axes, problems.items())):
        rows = descend(X, Y, lr=lr, steps=STEPS)
        last = rows[-1]
        shown = (rows[1], rows[3], last)
        ax = row_axes[0]
        ax.scatter(X, Y, color="C0", zorder=3, label="data")
        xs = np.linspace(X.min() - 0.5, X.max() + 0.5, 2)
        # distinct colours and dashes (not faint shades of one colour): readable when projected
        for r, colour, dash in zip(shown, ("tab:orange", "tab:purple", "black"),
                                   (":", "--", "-")):
            ax.plot(xs, r["a"] * xs + r["b"], color=colour, ls=dash, lw=2,
                    label=f"after {r['step']} step" + ("s" if r["step"] != 1 else ""))
        ax.set_title(f"{title}, learning rate {lr:g}", fontsize=12), ax.legend(fontsize=11)
        ax.set_xlabel("x"), ax.set_ylabel("y")
        row_axes[1].semilogy([r["loss"] for r in rows])
        a_ls, b_ls, floor = least_squares_loss(X, Y)
        losses = np.array([r["loss"] for r in rows])
        if floor >= 1e-3 * losses.min():  # a floor of 0 (points on a line): not on a log axis
            row_axes[1].axhline(floor, color="grey", ls="--", lw=1, label="least-squares minimum")
            row_axes[1].legend(fontsize=11)
        floors.append((title, float(last["loss"]), floor))
        data[f"least_squares_{k}"] = np.array([a_ls, b_ls, floor])
        row_axes[1].set_xlabel("step"), row_axes[1].set_ylabel("loss")
        hand = np.array([[r["grad_a"], r["grad_b"]] for r in rows])
        auto = np.array([[r["autograd_a"], r["autograd_b"]] for r in rows])
        row_axes[2].scatter(auto[:, 0], hand[:, 0], s=12, label="dL/da")
        row_axes[2].scatter(auto[:, 1], hand[:, 1], s=12, marker="x", label="dL/db")
        lim = np.abs(np.concatenate([hand, auto])).max() * 1.05
        row_axes[2].plot([-lim, lim], [-lim, lim], color="grey", lw=0.8)
        row_axes[2].set_xlabel("autograd"), row_axes[2].set_ylabel("by hand"), row_axes[2].legend(fontsize=11)
        worst = max(worst, float(np.abs(hand - auto).max()))
        scale = max(scale, float(np.abs(auto).max()))
        data.update({f"X_{k}": X, f"Y_{k}": Y, f"loss_{k}": np.array([r["loss"] for r in rows]),
                     f"hand_{k}": hand, f"autograd_{k}": auto,
                     f"a_{k}": np.array([r["a"] for r in rows]), f"b_{k}": np.array([r["b"] for r in rows])})
        for r in rows[:3] + rows[-1:]:
            table.append([title, r["step"], r["a"], r["b"], r["loss"], r["grad_a"], r["autograd_a"],
                          r["grad_b"], r["autograd_b"]])
        ctx.metric(f"a, b after {last['step']} steps ({title})", f"{last['a']:.3f}, {last['b']:.3f}")
    for ax in axes.flat:  # readable on a projector: 11 pt ticks, 12 pt axis labels
        ax.tick_params(labelsize=11)
        ax.xaxis.label.set_fontsize(12), ax.yaxis.label.set_fontsize(12)
    fig.tight_layout()
    ctx.figure("descent", fig, descent_caption([r["step"] for r in shown], worst, scale, floors),
               data=data)
    ctx.metric("largest |hand - autograd| gradient difference", worst, headline=True)
    ctx.table("gradients", ["problem", "step", "a", "b", "loss", "dL/da hand", "dL/da autograd",
                            "dL/db hand", "dL/db autograd"], table,
              "Gradients by hand and by autograd at the first steps and the last")


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
