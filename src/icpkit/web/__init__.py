"""The HTTP API and web app (`icpkit serve`, extra ``web``): JSON under /v1, pages for reps and RevOps.

``create_app(workspace)`` builds the FastAPI application; ``keys`` manages the workspace's API
keys (hashed in ``.icpkit/``). FastAPI is imported only by ``app``, so ``keys`` works without it.
"""

from icpkit.web.keys import KeyStore

__all__ = ["KeyStore", "create_app"]


def create_app(workspace: object = ".") -> object:
    """The FastAPI application for a workspace (imports FastAPI on first use)."""
    from pathlib import Path

    from icpkit.web.app import create_app as make

    return make(Path(str(workspace)))
