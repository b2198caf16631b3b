"""icpkit: an evidence-backed Ideal Customer Profile from CRM data.

The public API; no logic lives here::

    import icpkit
    workspace = icpkit.Workspace.open("my-icp/")
    result = icpkit.build_icp(workspace.load(), workspace.config)
    scored = icpkit.score_accounts(result.profile, prospects)   # pandas or polars
"""

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
from icpkit.pipeline import (
    BuildResult,
    Workspace,
    build_icp,
    score_accounts,
    validate_icp,
)
from icpkit.profile import IcpProfile, RuleEvidence
from icpkit.rules import Condition, Segment, parse_segment
from icpkit.scoring import FitScorer, load_spec
from icpkit.version import VERSION as __version__

score = score_accounts

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
