"""Linear regression by gradient descent: hand-derived gradients against autograd (seed 002's pt_linreg).

Run: ``python recipes/linreg_gradients.py`` (or ``vizkit gallery --only linreg_gradients``).

Shows the lab's ``Y = a X + b`` fitted to the points (1, 3), (2, 5) and to 20 noisy points of a
line, by plain gradient descent on ``L = sum (Y - a X - b)^2``; at every step the gradients
``dL/da = -2 sum (Y - aX - b) X`` and ``dL/db = -2 sum (Y - aX - b)`` worked out by hand are
compared with the ones autograd computes.
"""

import numpy as np

from vizkit.models import linreg_gradients

ORDER = 20
TOPIC = "Training basics"


def descend(X, Y, *, lr, steps):
    a, b, rows = 0.0, 0.0, []
    for step in range(steps):
        g = linreg_gradients(X, Y, a, b)
        rows.append({"step": step, "a": a, "b": b, **g})
        a, b = a - lr * g["autograd_a"], b - lr * g["autograd_b"]
    return rows


def run(ctx):
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(ctx.seed)
    noisy_x = np.linspace(-2, 3, 20)
    problems = {"lab: (1, 3), (2, 5)": (np.array([1.0, 2.0]), np.array([3.0, 5.0]), 0.05),
                "20 points of y = 2x + 1 + noise": (noisy_x, 2 * noisy_x + 1 + rng.normal(0, 0.7, 20), 0.005)}
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.8))
    worst, table = 0.0, []
    for row_axes, (title, (X, Y, lr)) in zip(axes, problems.items()):
        rows = descend(X, Y, lr=lr, steps=100)
        last = rows[-1]
        ax = row_axes[0]
        ax.scatter(X, Y, color="C0", zorder=3, label="data")
        xs = np.linspace(X.min() - 0.5, X.max() + 0.5, 2)
        for r, alpha in ((rows[1], 0.25), (rows[3], 0.5), (last, 1.0)):
            ax.plot(xs, r["a"] * xs + r["b"], color="C1", alpha=alpha, label=f"step {r['step']}")
        ax.set_title(title, fontsize=9), ax.legend(fontsize=7)
        row_axes[1].semilogy([r["loss"] for r in rows])
        row_axes[1].set_xlabel("step"), row_axes[1].set_ylabel("loss")
        hand = np.array([[r["grad_a"], r["grad_b"]] for r in rows])
        auto = np.array([[r["autograd_a"], r["autograd_b"]] for r in rows])
        row_axes[2].scatter(auto[:, 0], hand[:, 0], s=12, label="dL/da")
        row_axes[2].scatter(auto[:, 1], hand[:, 1], s=12, marker="x", label="dL/db")
        lim = np.abs(np.concatenate([hand, auto])).max() * 1.05
        row_axes[2].plot([-lim, lim], [-lim, lim], color="grey", lw=0.8)
        row_axes[2].set_xlabel("autograd"), row_axes[2].set_ylabel("by hand"), row_axes[2].legend(fontsize=7)
        worst = max(worst, float(np.abs(hand - auto).max()))
        for r in rows[:3] + rows[-1:]:
            table.append([title, r["step"], r["a"], r["b"], r["loss"], r["grad_a"], r["autograd_a"],
                          r["grad_b"], r["autograd_b"]])
        ctx.metric(f"a, b after 100 steps ({title})", f"{last['a']:.3f}, {last['b']:.3f}")
    fig.tight_layout()
    ctx.figure("descent", fig,
               "Left: the line after 1, 3 and 100 steps; middle: the loss falling; right: every "
               "step's hand-derived gradient against autograd's. All points lie on the diagonal: "
               "the derivation is right.")
    ctx.metric("largest |hand - autograd| gradient difference", worst, headline=True)
    ctx.table("gradients", ["problem", "step", "a", "b", "loss", "dL/da hand", "dL/da autograd",
                            "dL/db hand", "dL/db autograd"], table,
              "Gradients by hand and by autograd at the first steps and the last")


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
