"""vizkit: train small PyTorch networks and show what they learned."""

__version__ = "0.1.0"

__all__ = ["__version__"]
