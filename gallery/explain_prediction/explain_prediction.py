"""Explain one prediction: every view of vizkit on single test images, one static page per model.

Run: ``python recipes/explain_prediction.py`` (or ``vizkit gallery --only explain_prediction``;
for a checkpoint of your own: ``vizkit explain runs/cnn/model.pt --out runs/cnn/explain``).

Shows, for every misclassified test image and a stratified sample of the correct ones (100 in
all), on one page for the CNN and one for the MLP, the probabilities, attribution maps of the
predicted class with their deletion and insertion AUC (which map is faithful for this image,
against a random order),
the hidden units that drove the prediction with the image that excites each most and its top test
images, the nearest training images in the layer before the output and, for the MLP, the
receptive fields of the predicted and the true class. Pick an image in the strip at the top, or
use the arrow keys. Below: the deletion curves averaged over those images, per method.
"""

ORDER = 105
TOPIC = "Attributions and errors"
CNN = {"channels": (16, 32)}
CNN_CONFIG = {"epochs": 6}


def run(ctx):
    import matplotlib.pyplot as plt

    from vizkit.explain import explain, method_label, page_html

    split = ctx.data()
    cnn, _, m_cnn = ctx.train("cnn", "cnn", split, CNN_CONFIG, shared=True, **CNN)
    mlp, _, m_mlp = ctx.train("mlp-300", "mlp", split, {"epochs": 8}, shared=True)
    ctx.metric("CNN test accuracy", m_cnn["accuracy"], headline=True)
    ctx.metric("MLP test accuracy", m_mlp["accuracy"])
    # one page per model, linked from this page
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    data = {}
    for ax, (name, model) in zip(axes, (("CNN", cnn), ("MLP", mlp))):
        expl = explain(model, split, n_images=100, seed=ctx.seed)
        wrong = int((expl.labels != expl.predictions).sum())
        ctx.asset(f"explain-{name.lower()}.html", page_html(expl).encode(),
                  f"Explain the {name}'s predictions: {len(expl)} test images, {wrong} of them "
                  "misclassified (one page, opens offline)")
        rows = []
        for m in expl.methods:
            f = expl.faithfulness[m]
            ax.plot(f.fractions, f.deletion.mean(0), label=method_label(m))
            rows.append([method_label(m), f.deletion_auc.mean(), f.insertion_auc.mean(),
                         int(sum(b == m for b in expl.most_faithful()))])
            data[f"{name.lower()}_deletion_{m}"] = f.deletion.mean(0)
        rand = expl.faithfulness[expl.methods[0]]
        ax.plot(rand.fractions, rand.random_deletion.mean(0), "k--", label="random order")
        rows.append(["random order", rand.random_deletion_auc.mean(),
                     rand.random_insertion_auc.mean(), 0])
        data[f"{name.lower()}_deletion_random"] = rand.random_deletion.mean(0)
        ax.set(title=f"{name}: {len(expl)} test images", xlabel="share of pixels deleted",
               ylabel="p(predicted class), mean")
        ctx.table(f"faithfulness-{name.lower()}",
                  ["method", "mean deletion AUC", "mean insertion AUC", "most faithful for"],
                  rows, f"{name}: which attribution is faithful (lower deletion AUC is better)")
    data["fractions"] = rand.fractions
    axes[0].legend()
    ctx.figure("deletion-curves", fig, "Deletion curves averaged over the explained test images: "
               "the probability of the predicted class as each method's most important pixels "
               "are set to black first, against a random order (dashed).", data=data)


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
