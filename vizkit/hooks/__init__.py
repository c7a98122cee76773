"""Record, collect and patch what the layers of any PyTorch model compute.

Safe on any ``nn.Module``: captured tensors are copies that later in-place operations
cannot change, every hook is removed on exit (also after an exception), hooks the user
had stay, and nothing else about the model changes.

- :func:`record` — context manager: layer name → outputs (inputs, gradients) of a block.
- :func:`collect` — stream a dataset through a model, concatenated activations per layer.
- :func:`patch` — context manager replacing layer outputs (ablate, clamp, steer).
- :func:`layer_names`, :func:`summary`, :func:`format_summary` — what there is to record.
- :class:`CaptureBuffers` — reuse capture memory across forward passes (steady-state speed).

TorchScript modules (``torch.jit.script``/``trace``/``load``) call no Python hooks: asking
for one of their layers is a ``TypeError`` that says what to pass instead.

Inside: ``_storage`` (copies, reusable buffers, what a capture keeps), ``_cow`` (the
copy-on-write mode), ``_views`` (``Recording`` and its mappings), ``_handles`` (what can be
hooked, removal), ``_record``, ``_collect``, ``_patch``, ``_summary``.
"""

from ._collect import collect
from ._errors import LayersNotRunError, MultipleCallsError
from ._patch import patch
from ._record import record
from ._storage import CaptureBuffers
from ._views import Calls, Recording
from ._resolve import layer_names
from ._summary import LayerRow, example_input_shape, format_summary, resolve_model_ref, summary

__all__ = [
    "CaptureBuffers",
    "Calls",
    "LayerRow",
    "LayersNotRunError",
    "MultipleCallsError",
    "Recording",
    "collect",
    "example_input_shape",
    "format_summary",
    "layer_names",
    "patch",
    "record",
    "resolve_model_ref",
    "summary",
]
