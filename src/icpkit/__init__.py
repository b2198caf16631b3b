"""icpkit: an evidence-backed Ideal Customer Profile from CRM data."""

__version__ = "0.1.0"
__all__ = ["__version__"]
