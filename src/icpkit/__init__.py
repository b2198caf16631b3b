"""icpkit: an evidence-backed Ideal Customer Profile from CRM data.

The public API; no logic lives here::

    import icpkit
    workspace = icpkit.Workspace.open("my-icp/")
    result = icpkit.build_icp(workspace.load(), workspace.config)
    scored = icpkit.score_accounts(result.profile, prospects)   # pandas or polars

Names are imported on first use (PEP 562), so ``import icpkit`` — and the command line's
``icpkit --help`` / ``--version`` — do not load polars, scikit-learn or the report engines.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from icpkit.version import VERSION as __version__

if TYPE_CHECKING:  # the names as type checkers and IDEs see them
    from icpkit.config import WorkspaceConfig, load_config
    from icpkit.data import CrmData, check_workspace, crm_from_frames, load_workspace
    from icpkit.datasets import make_crm
    from icpkit.errors import (
        ConfigError,
        IcpError,
        InsufficientDataError,
        NotFittedError,
        SchemaError,
        StoreError,
    )
    from icpkit.outcomes import compute_outcomes
    from icpkit.pipeline import BuildResult, Workspace, build_icp, score_accounts, validate_icp
    from icpkit.profile import IcpProfile, RuleEvidence
    from icpkit.rules import Condition, Segment, parse_segment
    from icpkit.scoring import FitScorer, load_spec

    score = score_accounts

# public name → module that defines it (``score`` is an alias of ``score_accounts``)
_WHERE = {
    "WorkspaceConfig": "icpkit.config",
    "load_config": "icpkit.config",
    "CrmData": "icpkit.data",
    "check_workspace": "icpkit.data",
    "crm_from_frames": "icpkit.data",
    "load_workspace": "icpkit.data",
    "make_crm": "icpkit.datasets",
    "ConfigError": "icpkit.errors",
    "IcpError": "icpkit.errors",
    "InsufficientDataError": "icpkit.errors",
    "NotFittedError": "icpkit.errors",
    "SchemaError": "icpkit.errors",
    "StoreError": "icpkit.errors",
    "compute_outcomes": "icpkit.outcomes",
    "BuildResult": "icpkit.pipeline",
    "Workspace": "icpkit.pipeline",
    "build_icp": "icpkit.pipeline",
    "score_accounts": "icpkit.pipeline",
    "score": "icpkit.pipeline",
    "validate_icp": "icpkit.pipeline",
    "IcpProfile": "icpkit.profile",
    "RuleEvidence": "icpkit.profile",
    "Condition": "icpkit.rules",
    "Segment": "icpkit.rules",
    "parse_segment": "icpkit.rules",
    "FitScorer": "icpkit.scoring",
    "load_spec": "icpkit.scoring",
}

__all__ = [
    "BuildResult",
    "Condition",
    "ConfigError",
    "CrmData",
    "FitScorer",
    "IcpError",
    "IcpProfile",
    "InsufficientDataError",
    "NotFittedError",
    "RuleEvidence",
    "SchemaError",
    "Segment",
    "StoreError",
    "Workspace",
    "WorkspaceConfig",
    "__version__",
    "build_icp",
    "check_workspace",
    "compute_outcomes",
    "crm_from_frames",
    "load_config",
    "load_spec",
    "load_workspace",
    "make_crm",
    "parse_segment",
    "score",
    "score_accounts",
    "validate_icp",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'icpkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), "score_accounts" if name == "score" else name)
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return __all__
