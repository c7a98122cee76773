"""The errors of ``record``, ``collect`` and ``patch``, and the message for layers that never ran."""

from __future__ import annotations

__all__ = ["LayersNotRunError", "MultipleCallsError", "not_run_message"]


class LayersNotRunError(RuntimeError):
    """Some requested layers never ran inside a ``record``/``patch`` block."""


class MultipleCallsError(AttributeError, ValueError):
    """Asked for "the" value of a layer that ran several times."""


def not_run_message(names: list[str], where: str) -> str:
    shown = ", ".join(repr(n) for n in names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (
        f"{len(names)} requested layer(s) never ran inside the {where} block: {shown}. Their hooks "
        "did not fire: the model may not have been called inside the block, the layer may sit on a "
        "branch this input did not take or be used only through its parameters (like "
        "MultiheadAttention.out_proj), or the model is compiled (torch.compile'd models skip module "
        "hooks; record the original module). Pass strict=False to allow this."
    )
