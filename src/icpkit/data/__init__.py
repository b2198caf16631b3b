"""The CRM data layer: read sources, map them onto the canonical model, normalise and validate."""

from icpkit.data.guess import ColumnGuess, FileGuess, GuessResult, guess_config
from icpkit.data.load import CheckReport, check_workspace, crm_from_frames, load_workspace
from icpkit.data.mapping import PRESETS, Preset
from icpkit.data.model import DEAL_STAGES, REQUIRED, SCHEMA, TABLES, UNLOCKS, CrmData
from icpkit.data.readers import read_table
from icpkit.errors import Problem, SchemaError

__all__ = [
    "DEAL_STAGES",
    "PRESETS",
    "REQUIRED",
    "SCHEMA",
    "TABLES",
    "UNLOCKS",
    "CheckReport",
    "ColumnGuess",
    "CrmData",
    "FileGuess",
    "GuessResult",
    "Preset",
    "Problem",
    "SchemaError",
    "check_workspace",
    "crm_from_frames",
    "guess_config",
    "load_workspace",
    "read_table",
]
