"""Live CRM sync: HubSpot and Salesforce objects into the workspace as Parquet (issue 26).

``sync_workspace`` is the one entry point (the CLI's `icpkit sync` and `icpkit refresh` call it);
see docs/sync.md.
"""

from icpkit.sync.client import SyncError
from icpkit.sync.core import ObjectResult, SyncResult, sync_workspace

__all__ = ["ObjectResult", "SyncError", "SyncResult", "sync_workspace"]
