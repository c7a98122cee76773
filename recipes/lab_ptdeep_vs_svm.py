"""The lab's question: PTDeep or KSVMWrap, over many random data sets (seed 002).

Run: ``python recipes/lab_ptdeep_vs_svm.py`` (or ``vizkit gallery --only lab_ptdeep_vs_svm``).

Shows a table over ten seeds: each draws ``sample_gmm_2d(6, 2, 20)``, trains the lab's PTDeep
``[2,10,10,2]`` (ReLU, full-batch gradient descent, ``param_niter=10000``, ``param_delta=0.1``,
``param_lambda=1e-4``) and the lab's RBF SVM (``KSVMWrap``, ``C=1``, ``gamma='auto'``) on the
first 10 points of every component, and tests both on the other 10, so the table shows how each
generalizes, not only how it fits. The code is the lab's, through ``vizkit.lab``.
"""

import numpy as np

from vizkit.lab import ksvm_wrap

ORDER = 14
TOPIC = "Classifiers on 2D data"
SEEDS = range(10)


def verdict(rows):
    """Which model wins on test accuracy and test AP, counted over the seeds (ties apart)."""
    out = {}
    for metric in ("test_acc", "test_ap"):
        deep = np.array([r[f"ptdeep_{metric}"] for r in rows])
        svm = np.array([r[f"ksvm_{metric}"] for r in rows])
        out[metric] = (int((deep > svm).sum()), int((svm > deep).sum()), int((deep == svm).sum()))
    return out


def run(ctx):
    rows = ksvm_wrap.compare_on_random_datasets(seeds=[ctx.seed + s for s in SEEDS])
    columns = list(rows[0])
    mean = ["mean"] + [float(np.mean([r[c] for r in rows])) for c in columns[1:]]
    ctx.table("ptdeep-vs-ksvm", columns, [[r[c] for c in columns] for r in rows] + [mean],
              f"PTDeep [2,10,10,2] against KSVMWrap on {len(rows)} random sample_gmm_2d(6, 2, 20) "
              "data sets: train on half of every component, test on the other half")
    wins = verdict(rows)
    for metric, what in (("test_acc", "test accuracy"), ("test_ap", "test AP")):
        deep, svm, tie = wins[metric]
        ctx.metric(f"{what}: PTDeep better / KSVMWrap better / tie", f"{deep} / {svm} / {tie}",
                   headline=metric == "test_acc")
    ctx.metric("mean test accuracy, PTDeep", mean[columns.index("ptdeep_test_acc")], headline=True)
    ctx.metric("mean test accuracy, KSVMWrap", mean[columns.index("ksvm_test_acc")], headline=True)


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
