"""The ICP outside icpkit: the scorecard as SQL for any warehouse."""

from icpkit.export.sql import DIALECTS, SqlExport, scorecard_sql

__all__ = ["DIALECTS", "SqlExport", "scorecard_sql"]
