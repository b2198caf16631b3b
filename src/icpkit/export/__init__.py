"""The ICP outside icpkit: the scorecard as SQL for any warehouse; CRM write-back files."""

from icpkit.export.crm import CrmExport, hubspot_files, salesforce_files
from icpkit.export.sql import DIALECTS, SqlExport, scorecard_sql

__all__ = [
    "DIALECTS",
    "CrmExport",
    "SqlExport",
    "hubspot_files",
    "salesforce_files",
    "scorecard_sql",
]
