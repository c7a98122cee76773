"""Explain one prediction: every view of vizkit on single test images, one static page per model.

Run: ``python recipes/explain_prediction.py`` (or ``vizkit gallery --only explain_prediction``;
for a checkpoint of your own: ``vizkit explain runs/cnn/model.pt --out runs/cnn/explain``).

Shows, for every misclassified test image and a stratified sample of the correct ones (100 in
all), on one page for the CNN and one for the MLP, the probabilities, attribution maps of the
predicted class with their deletion and insertion AUC (which map is faithful for this image,
against a random order and against deleting the brightest pixels first),
the hidden units that drove the prediction with the image that excites each most and its top test
images, the nearest training images in the layer before the output and, for the MLP, the
receptive fields of the predicted and the true class. Pick an image in the strip at the top, or
use the arrow keys. Below: the deletion curves averaged over those images, per method, beside
the two orders that know nothing of the model (brightest pixels first, random).
"""

ORDER = 105
TOPIC = "Attributions and errors"
CNN = {"channels": (16, 32)}
CNN_CONFIG = {"epochs": 6}


def run(ctx):
    import matplotlib.pyplot as plt
    import numpy as np

    from vizkit.analysis.faithfulness import auc_interval, paired_advantage, rank_aucs
    from vizkit.explain import explain, method_label, page_html
    from vizkit.plot.faithfulness import method_color

    split = ctx.data()
    cnn, _, m_cnn = ctx.train("cnn", "cnn", split, CNN_CONFIG, shared=True, **CNN)
    mlp, _, m_mlp = ctx.train("mlp-300", "mlp", split, {"epochs": 8}, shared=True)
    ctx.metric("CNN test accuracy", m_cnn["accuracy"], headline=True)
    ctx.metric("MLP test accuracy", m_mlp["accuracy"])
    # one page per model, linked from this page
    fig, axes = plt.subplots(1, 2, figsize=(12.8, 6.2), sharey=True, layout="constrained")
    data, verdicts = {}, []
    for ax, (name, model) in zip(axes, (("CNN", cnn), ("MLP", mlp))):
        expl = explain(model, split, n_images=100, seed=ctx.seed)
        wrong = int((expl.labels != expl.predictions).sum())
        ctx.asset(f"explain-{name.lower()}.html", page_html(expl).encode(),
                  f"Explain the {name}'s predictions: {len(expl)} test images, {wrong} of them "
                  "misclassified (one page, opens offline)")
        # deletion AUC per method, with a bootstrap interval over the images
        rank = rank_aucs({m: expl.faithfulness[m].deletion_auc for m in expl.methods},
                         seed=ctx.seed)
        rows = []
        for m in expl.methods:
            f = expl.faithfulness[m]
            ax.plot(f.fractions, f.deletion.mean(0), color=method_color(m), lw=2.2,
                    label=method_label(m))
            i = rank.methods.index(m)
            rows.append([method_label(m), f.deletion_auc.mean(),
                         f"[{rank.low[i]:.3f}, {rank.high[i]:.3f}]", f.insertion_auc.mean(),
                         int(sum(b == m for b in expl.most_faithful()))])
            data[f"{name.lower()}_deletion_{m}"] = f.deletion.mean(0)
        rand = expl.faithfulness[expl.methods[0]]
        blank = float(rand.deletion[:, -1].mean())
        ax.plot(rand.fractions, expl.ink.deletion.mean(0), "-.", color="0.0", lw=2.2,
                label="brightest pixels first")
        ax.plot(rand.fractions, rand.random_deletion.mean(0), "--", color="0.15", lw=2,
                label="random order")
        ax.axhline(blank, color="0.45", ls=":", lw=2)
        _, lo, hi = auc_interval(expl.ink.deletion_auc, seed=ctx.seed)
        rows.append(["ink control: brightest pixels first", expl.ink.deletion_auc.mean(),
                     f"[{lo:.3f}, {hi:.3f}]", expl.ink.insertion_auc.mean(), 0])
        _, lo, hi = auc_interval(rand.random_deletion_auc, seed=ctx.seed)
        rows.append(["random order", rand.random_deletion_auc.mean(), f"[{lo:.3f}, {hi:.3f}]",
                     rand.random_insertion_auc.mean(), 0])
        data[f"{name.lower()}_deletion_random"] = rand.random_deletion.mean(0)
        data[f"{name.lower()}_blank"] = rand.deletion[:, -1]
        data[f"{name.lower()}_ranking"] = np.asarray(rank.methods)
        data[f"{name.lower()}_mean_auc"] = rank.means
        data[f"{name.lower()}_deletion_ink"] = expl.ink.deletion.mean(0)
        data[f"{name.lower()}_ink_auc"] = expl.ink.deletion_auc
        # a map is faithful to the model only where it beats the ink control on the same images
        vs_ink = {m: paired_advantage(expl.faithfulness[m].deletion_auc, expl.ink.deletion_auc,
                                      seed=ctx.seed) for m in rank.methods}
        data[f"{name.lower()}_vs_ink"] = np.array([vs_ink[m] for m in rank.methods])
        lead = [rank.best] if rank.best else list(rank.tied)
        plain = [m for m in lead if not vs_ink[m][1] > 0]
        verdicts.append(f"{name}: " + (f"{method_label(rank.best)} is the most faithful"
                                       if rank.best else
                                       f"{', '.join(map(method_label, rank.tied))} tie")
                        + (f", {'but' if len(plain) == len(lead) else 'though'} "
                           f"{', '.join(map(method_label, plain))} "
                           f"{'is' if len(plain) == 1 else 'are'} no better than deleting the "
                           "brightest pixels first" if plain else
                           f", and {'it beats' if len(lead) == 1 else 'each beats'} deleting "
                           "the brightest pixels first"))
        short = (f"{method_label(rank.best)} first" if rank.best else
                 f"{', '.join(map(method_label, rank.tied))} tie")
        ax.set_title(f"{name}: {short};\n" + (
            "no better than brightest first" if plain else
            f"{'beats' if len(lead) == 1 else 'each beats'} brightest first"), fontsize=13)
        ax.set_xlabel(f"share of pixels deleted (set to 0, black)\ndotted: all pixels black, "
                      f"p = {blank:.2f}", fontsize=12)
        ax.set_ylabel("p(predicted class), mean", fontsize=12)
        ax.tick_params(labelsize=12)
        ax.xaxis.set_major_formatter("{x:.0%}")
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[:len(expl.methods)], labels[:len(expl.methods)], fontsize=12)
        ctx.table(f"faithfulness-{name.lower()}",
                  ["method", "mean deletion AUC", "95% interval", "mean insertion AUC",
                   "most faithful for"], rows,
                  f"{name}: which attribution is faithful (deletion AUC: lower is better; "
                  "insertion AUC: higher is better)")
    fig.legend(handles[len(expl.methods):], labels[len(expl.methods):], fontsize=12, ncol=2,
               loc="outside lower center", frameon=False, handlelength=2.4)
    data["fractions"] = rand.fractions
    ctx.figure("deletion-curves", fig,
               f"By deletion AUC (lower is better), {'; '.join(verdicts)}. Each curve: the "
               "probability of the predicted class, averaged over the explained test images, as "
               "each method's most important pixels are set to 0 (black) first, against two "
               "orders that know nothing of the model: the brightest pixels first (dash-dot; "
               "ties in a seeded random order) and a random order (dashed). Deleting the ink "
               "destroys a digit whatever the order, so a map that is zero off the ink beats a "
               "random order for free; it is faithful to the model only where it also beats the "
               "brightest-first order on the same images. A method is called most faithful "
               "only when the 95% bootstrap interval of its mean per-image AUC difference to "
               "the runner-up excludes 0 (the table). Every "
               "curve ends at the dotted line: with all pixels black the image is blank, and "
               "the model's output for a blank image is that probability.", data=data)


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
