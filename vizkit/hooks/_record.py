"""``record``: capture what layers compute, safely, and leave the model as it was."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

import torch
from torch import nn

from ._cow import CopyOnWrite, torch_function_off
from ._errors import LayersNotRunError, not_run_message
from ._handles import hookable_layers, remove_handles
from ._resolve import LayerSpec
from ._storage import Capture, CaptureBuffers, Reduce, ToSpec
from ._tree import LEAF, tree_leaves, tree_map
from ._views import Call, Recording

__all__ = ["record"]


class record:
    """Record the outputs (and optionally inputs and gradients) of layers.

    A context manager: forward passes inside the ``with`` block fill the
    :class:`Recording` it returns. Captured tensors are detached and safe from later
    in-place operations (``ReLU(inplace=True)``, ``x += y``, ``x[i] = v``, ``out=``):

    - by default (copy-on-write) a capture is kept by reference, and a
      ``TorchFunctionMode`` active only inside the block copies it just before an
      in-place operation writes its memory; on exit, captures whose memory something
      else still holds (the model's output, its input, tensors saved for backward) are
      copied too. Models containing TorchScript modules, whose writes cannot be seen,
      are copied at once instead (the scripted modules themselves run no Python hooks and
      cannot be recorded: a ``TypeError`` says what to pass instead);
    - with ``buffers``, every capture is copied at once into memory reused from one
      block to the next, the fastest choice for repeated forward passes of large
      activations (see :class:`CaptureBuffers`).

    Hooks (and the mode) are removed on exit, also after an exception or
    KeyboardInterrupt; hooks that were there before stay untouched; no ``forward`` or
    torch function is patched; train/eval flags and buffers are not touched.

    Parameters
    ----------
    model : nn.Module
        Any PyTorch model.
    layers : str, type, nn.Module or list of those
        Dotted names (``"layer1.0.conv2"``), globs (``"layer?.*.conv2"``; ``*`` also
        crosses dots), module types (``nn.Conv2d``) or submodules. Resolved once against
        ``model.named_modules()``; see :func:`layer_names`.
    inputs : bool, default=False
        Also record each layer's input (copied before the layer runs, so a layer that
        writes its input in place still gives the input it saw).
    outputs : bool, default=True
        Record each layer's output.
    grads : bool, default=False
        Record the gradient of whatever you call ``backward`` on (inside the block) with
        respect to each layer's output, through a hook on the output tensor. Needs
        gradients enabled: an error under ``torch.no_grad()``.
    to : device, dtype or (device, dtype), optional
        Where captures go, e.g. ``"cpu"`` or ``torch.float16`` (a dtype only applies to
        floating-point tensors). Default: where they were computed, same dtype.
    reduce : callable, optional
        Applied inside the hook to every captured tensor, e.g.
        ``lambda t: t.mean((2, 3))`` keeps per-channel means only.
    buffers : CaptureBuffers, optional
        Copy every capture at once into memory reused across blocks (steady-state
        speed). Default: copy-on-write, in new memory.
    strict : bool, default=True
        On a normal exit, raise :class:`LayersNotRunError` if a requested layer never
        ran (and, with ``grads=True``, if no gradient reached any recorded layer).

    Returns
    -------
    Recording
        Mapping layer name → output; ``rec[name, i]`` or ``rec[name][i]`` for call
        ``i`` of a layer that ran several times; ``rec.inputs``, ``rec.grads``.

    Raises
    ------
    ValueError
        An unknown layer (with the closest names), nothing to record (``inputs``, ``outputs``
        and ``grads`` all False), or ``grads=True`` where gradients are disabled.
    TypeError
        ``reduce`` is not callable or ``buffers`` is not a :class:`CaptureBuffers`.
    RuntimeError
        The same ``record(...)`` object is entered a second time.
    LayersNotRunError
        With ``strict``, a requested layer never ran (or no gradient reached one).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU(inplace=True))
    >>> with torch.no_grad(), record(model.eval(), ["1"]) as rec:
    ...     _ = model(torch.randn(4, 2))
    >>> rec["1"].shape
    torch.Size([4, 3])
    """

    def __init__(
        self,
        model: nn.Module,
        layers: LayerSpec | Iterable[LayerSpec],
        *,
        inputs: bool = False,
        outputs: bool = True,
        grads: bool = False,
        to: ToSpec = None,
        reduce: Reduce = None,
        buffers: Optional[CaptureBuffers] = None,
        strict: bool = True,
    ) -> None:
        if not (inputs or outputs or grads):
            raise ValueError("Nothing to record: inputs, outputs and grads are all False.")
        if reduce is not None and not callable(reduce):
            raise TypeError(f"`reduce` must be a callable or None. Got {type(reduce).__name__} instead.")
        if buffers is not None and not isinstance(buffers, CaptureBuffers):
            raise TypeError(f"`buffers` must be a CaptureBuffers or None. Got {type(buffers).__name__} instead.")
        self.model = model
        self.modules, scripted = hookable_layers(model, layers, where="record")
        # TorchScript runs in C++, where in-place writes cannot be seen: copy at once there.
        self._guard = CopyOnWrite() if buffers is None and not scripted else None
        self._capture = Capture(reduce, to, buffers, self._guard)
        self._grad_capture = Capture(reduce, to, buffers)  # gradients: always copied
        self._flags = (inputs, outputs, grads)
        self.strict = strict
        self._handles: list = []
        self._tensor_handles: list = []
        self._rec: Optional[Recording] = None
        self._n_grad_hooks = 0
        self._n_grads = 0

    # hooks ------------------------------------------------------------------

    def _install(self, name: str, module: nn.Module) -> None:
        inputs, outputs, grads = self._flags
        calls = self._rec._calls[name]  # type: ignore[union-attr]
        pending: list[Call] = []  # calls whose input was taken and whose output is to come
        if inputs:
            hook = self._input_hook(calls, pending)
            self._handles.append(module.register_forward_pre_hook(hook, with_kwargs=True))
        if outputs and not (inputs or grads):
            self._handles.append(module.register_forward_hook(self._output_hook(calls)))
        elif outputs or grads or not inputs:
            self._handles.append(module.register_forward_hook(self._forward_hook(name, calls, pending)))

    def _input_hook(self, calls: list, pending: list) -> Callable:
        capture = self._capture

        def pre_hook(mod: nn.Module, args: tuple, kwargs: dict) -> None:
            call = Call()
            with torch_function_off():
                captured = tree_map(capture, args)
                if kwargs:
                    call.input = (captured, tree_map(capture, kwargs))
                else:
                    call.input = captured[0] if len(captured) == 1 else captured
            pending.append(call)
            calls.append(call)

        return pre_hook

    def _output_hook(self, calls: list) -> Callable:
        """The common case (outputs only), kept lean: it runs for every recorded call."""
        capture = self._capture
        protect = self._guard.protect if capture.by_reference else None  # type: ignore[union-attr]

        def output_hook(mod: nn.Module, args: tuple, output: Any) -> None:
            call = Call()
            with torch_function_off():
                if type(output) is not torch.Tensor:
                    call.output = tree_map(capture, output)
                elif protect is not None:  # the default: a detached alias, copied on a write
                    call.output = protect(output.detach())
                else:
                    call.output = capture(output)
            calls.append(call)

        return output_hook

    def _forward_hook(self, name: str, calls: list, pending: list) -> Callable:
        _, outputs, grads = self._flags
        capture = self._capture

        def fwd_hook(mod: nn.Module, args: tuple, output: Any) -> None:
            with torch_function_off():
                if pending:
                    call = pending.pop()
                else:
                    call = Call()
                    calls.append(call)
                if outputs:
                    call.output = capture(output) if type(output) is torch.Tensor else tree_map(capture, output)
                if grads:
                    self._hook_grads(name, call, output)

        return fwd_hook

    def _hook_grads(self, name: str, call: Call, output: Any) -> None:
        """Hooks on the output's tensors that keep the gradients reaching them (removed on exit)."""
        if not torch.is_grad_enabled():
            raise ValueError(
                f"record(..., grads=True): layer {name!r} ran with gradients disabled "
                "(torch.no_grad() or torch.inference_mode()). Run the forward pass with "
                "gradients enabled."
            )
        grad_capture = self._grad_capture

        def grad_hook(call: Call, i: int, grad: torch.Tensor) -> None:
            with torch_function_off():
                call.grad_leaves[i] = grad_capture(grad)  # type: ignore[index]
            self._n_grads += 1

        leaves = tree_leaves(output)
        call.skeleton = tree_map(lambda _: LEAF, output)
        call.grad_leaves = [None] * len(leaves)
        for i, t in enumerate(leaves):
            if t.requires_grad:
                self._n_grad_hooks += 1
                self._tensor_handles.append(t.register_hook(lambda g, c=call, j=i: grad_hook(c, j, g)))

    # context ----------------------------------------------------------------

    def __enter__(self) -> Recording:
        if self._rec is not None:
            raise RuntimeError("A record(...) object can be entered only once; call record(...) again.")
        if self._flags[2] and not torch.is_grad_enabled():
            raise ValueError(
                "record(..., grads=True) inside torch.no_grad() or torch.inference_mode(): "
                "gradients cannot reach the layers. Enable gradients for the block."
            )
        inputs, outputs, grads = self._flags
        self._rec = Recording(self.modules, inputs=inputs, outputs=outputs, grads=grads)
        try:
            for name, module in self.modules.items():
                self._install(name, module)
            if self._guard is not None:
                self._guard.__enter__()
        except BaseException:
            remove_handles(self._handles)
            raise
        return self._rec

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if self._guard is not None:
                try:
                    self._guard.__exit__(None, None, None)
                finally:
                    self._guard.finish()
        finally:
            try:
                remove_handles(self._handles)
            finally:
                remove_handles(self._tensor_handles)
                self._capture.end_block()
                self._grad_capture.end_block()
        if exc_type is None and self.strict and self._rec is not None:
            missing = [n for n, c in self._rec._calls.items() if not c]
            if missing:
                raise LayersNotRunError(not_run_message(missing, "record"))
            if self._n_grad_hooks and not self._n_grads:
                raise LayersNotRunError(
                    "record(..., grads=True): no gradient reached any recorded layer. Call "
                    ".backward() (or torch.autograd.grad) inside the `with` block, on something "
                    "that depends on the recorded layers. Pass strict=False to allow this."
                )
        return False
