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


def paired_test(rows, metric: str = "test_acc") -> dict:
    """Is the difference between the two models real over the seeds? The mean paired difference
    (PTDeep minus KSVMWrap), a paired t-test and a sign test (ties dropped) on the same seeds,
    and the verdict words they support at the 5 % level."""
    from scipy.stats import binomtest, ttest_rel

    deep = np.array([r[f"ptdeep_{metric}"] for r in rows], dtype=float)
    svm = np.array([r[f"ksvm_{metric}"] for r in rows], dtype=float)
    diff = deep - svm
    p_t = float(ttest_rel(deep, svm).pvalue) if np.any(diff != diff[0]) else (
        1.0 if diff[0] == 0 else 0.0)
    wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
    p_sign = float(binomtest(wins, wins + losses).pvalue) if wins + losses else 1.0
    if p_t < 0.05 and p_sign < 0.05:
        words = f"{'PTDeep' if diff.mean() > 0 else 'KSVMWrap'} is better"
    else:
        words = "no clear winner"
    return {"mean_diff": float(diff.mean()), "p_t": p_t, "p_sign": p_sign, "words": words,
            "n": len(rows)}


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
        test = paired_test(rows, metric)
        ctx.metric(f"{what}: verdict over {test['n']} seeds",
                   f"{test['words']} (PTDeep minus KSVMWrap {test['mean_diff']:+.3f} on average; "
                   f"paired t-test p = {test['p_t']:.2f}, sign test p = {test['p_sign']:.2f})",
                   headline=metric == "test_acc")
        ctx.metric(f"{what}: PTDeep better / KSVMWrap better / tie", f"{deep} / {svm} / {tie}")
    ctx.metric("mean test accuracy, PTDeep", mean[columns.index("ptdeep_test_acc")], headline=True)
    ctx.metric("mean test accuracy, KSVMWrap", mean[columns.index("ksvm_test_acc")], headline=True)


if __name__ == "__main__":
    from vizkit.gallery import run_recipe_main

    run_recipe_main(__file__)
