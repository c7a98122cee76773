"""The lab's seven modules, one to one (seed 002, "deep models for classification").

Follow the lab with vizkit's code under the lab's names, in the lab's order:

1. :mod:`~vizkit.lab.data` -- ``sample_gmm_2d``, ``graph_surface``, ``graph_data`` and the
   performance measures ``eval_perf_multi``, ``eval_AP``.
2. :mod:`~vizkit.lab.fcann2` -- the two-layer NumPy network: ``fcann2_train``, ``fcann2_classify``.
3. :mod:`~vizkit.lab.pt_linreg` -- ``y = a x + b`` by gradient descent, autograd against the
   hand-derived gradients.
4. :mod:`~vizkit.lab.pt_logreg` -- ``PTLogreg`` with ``get_loss``, ``train``, ``eval``.
5. :mod:`~vizkit.lab.pt_deep` -- ``PTDeep(config, torch.relu)``, ``count_params``, ``train``,
   ``eval``, ``train_mb``.
6. :mod:`~vizkit.lab.ksvm_wrap` -- ``KSVMWrap`` and the lab's question "PTDeep or KSVMWrap on
   many random data sets?" as a table over seeds.
7. :mod:`~vizkit.lab.mnist_shootout` -- the MNIST experiments.

Every function here is a thin front door: the models, the training loop and the measures are
vizkit's own (:mod:`vizkit.models`, :func:`vizkit.train.fit`, :mod:`vizkit.train`,
:mod:`vizkit.plot`), so what the lab computes and what the gallery shows are the same numbers.

Examples
--------
>>> import torch
>>> from vizkit.lab import data, pt_deep
>>> X, Y_ = data.sample_gmm_2d(6, 2, 10, seed=100)
>>> model = pt_deep.PTDeep([2, 10, 10, 2], torch.relu, seed=0)
>>> pt_deep.count_params(model, verbose=False)
162
"""

from . import data, fcann2, ksvm_wrap, mnist_shootout, pt_deep, pt_linreg, pt_logreg

__all__ = ["data", "fcann2", "pt_linreg", "pt_logreg", "pt_deep", "ksvm_wrap", "mnist_shootout"]
