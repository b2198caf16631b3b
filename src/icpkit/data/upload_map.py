"""The mapping step of an upload: which column of a CRM export feeds which field icpkit scores.

An export's own headers ("Company name", "Number of Employees", "Country/Region") are matched to
icpkit's fields by the guesses of ``icpkit init`` (:func:`icpkit.data.guess.guess_columns`: a
preset's names, synonyms, similar names, the content of the column), each with its confidence and
reason. Two sources of knowledge come first: the mapping the workspace's users chose for their last
upload (remembered in ``.icpkit/web/upload-mapping.json``), then the workspace's own
``[sources.accounts]`` mapping. The user corrects the proposal; :func:`chosen_mapping` checks the
correction and :func:`remember` keeps it for the next upload.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from icpkit.atomic import write_text_atomic
from icpkit.config import SourceConfig
from icpkit.data.guess import detect_preset, guess_columns
from icpkit.data.mapping import PRESETS, snake_name
from icpkit.data.model import REQUIRED, SCHEMA
from icpkit.data.similar import similarity
from icpkit.errors import Problem, SchemaError

REMEMBERED = Path(".icpkit") / "web" / "upload-mapping.json"
SAMPLE_ROWS = 200
KEEP = ""  # the choice "keep the column as it is" (an extra attribute under its snake_case name)
LOW = 0.7  # a guess below this is flagged "check"


@dataclass(frozen=True)
class ColumnChoice:
    """One column of the uploaded file, the field it is proposed for, and why."""

    column: str
    target: str  # a field of ``MappingProposal.targets``, or KEEP
    confidence: float  # 0–1; 0 when kept as it is
    reason: str
    sample: str  # the first filled value, cut to 60 characters ("" when none)

    @property
    def check(self) -> bool:
        """The guess is weak enough that a person should look at it."""
        return self.target != KEEP and self.confidence < LOW


@dataclass(frozen=True)
class MappingProposal:
    """The proposed mapping of an upload's columns, with the fields one may choose from."""

    columns: tuple[ColumnChoice, ...]
    targets: tuple[str, ...]
    preset: str | None
    needs_mapping: bool  # False: every column already has one of icpkit's names

    def mapping(self) -> dict[str, str]:
        """Field → file column, as proposed."""
        return {c.target: c.column for c in self.columns if c.target != KEEP}

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [{**asdict(c), "check": c.check} for c in self.columns],
            "targets": list(self.targets),
            "preset": self.preset,
            "needs_mapping": self.needs_mapping,
        }


def targets_for(attributes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The fields a column may map to: the accounts table's canonical columns, then the
    attributes the profile scores that are not canonical (an export's own field, such as
    ``lifecycle_stage``)."""
    canonical = list(SCHEMA["accounts"])
    return tuple(canonical + sorted(a for a in attributes if a not in canonical))


def _sample(frame: pl.DataFrame, column: str) -> str:
    values = frame.get_column(column).cast(pl.Utf8).drop_nulls()
    values = values.filter(values.str.strip_chars() != "")
    text = str(values[0]) if len(values) else ""
    return text if len(text) <= 60 else text[:59] + "…"


def propose_mapping(
    frame: pl.DataFrame,
    targets: tuple[str, ...],
    *,
    remembered: dict[str, str] | None = None,
    kept: list[str] | tuple[str, ...] = (),
    workspace: SourceConfig | None = None,
    preset: str | None = None,
) -> MappingProposal:
    """Propose a field for every column of ``frame`` (a sample of the upload).

    Parameters
    ----------
    frame : the upload's first rows, read as text.
    targets : the fields to choose from (:func:`targets_for`).
    remembered : field → column chosen at the last upload (confidence 1.0 when the column is here).
    kept : columns left unmapped at the last upload: kept as they are again.
    workspace : the workspace's accounts source: its ``columns`` mapping comes next (1.0).
    preset : the workspace's preset; else one is detected from the headers, as ``init`` does.
    """
    columns = list(frame.columns)
    chosen: dict[str, tuple[str, float, str]] = {}  # column → (target, confidence, reason)
    left: set[str] = set()

    def take(target: str, column: str, confidence: float, reason: str) -> None:
        taken = {t for t, _, _ in chosen.values()}
        free = column in columns and column not in chosen and column not in left
        if free and target in targets and target not in taken:
            chosen[column] = (target, confidence, reason)

    for target, column in (remembered or {}).items():
        take(target, column, 1.0, "chosen at the last upload")
    left.update(c for c in kept if c in columns and c not in chosen)
    if workspace is not None:
        for target, column in workspace.columns.items():
            take(target, column, 1.0, "the workspace's accounts mapping")
    found = PRESETS.get(preset) if preset else None
    if found is None:
        found, _ = detect_preset({"upload": frame})
    for guess in guess_columns(frame, "accounts", found):
        take(guess.canonical, guess.column, guess.confidence, guess.reason)
    for column in columns:  # the profile's own attributes, by name
        name = snake_name(column)
        for target in targets:
            if target in SCHEMA["accounts"]:
                continue
            if name == target:
                take(target, column, 0.9, "name")
            elif similarity(name, target) >= 0.85:
                take(target, column, round(similarity(name, target) * 0.85, 2), "similar name")
    choices = tuple(
        ColumnChoice(
            column=c,
            target=chosen[c][0] if c in chosen else KEEP,
            confidence=round(chosen[c][1], 2) if c in chosen else 0.0,
            reason=chosen[c][2]
            if c in chosen
            else "left unmapped at the last upload"
            if c in left
            else "no field matched: kept as it is",
            sample=_sample(frame, c),
        )
        for c in columns
    )
    needs = not all(c in targets for c in columns)
    return MappingProposal(choices, targets, found.name if found else None, needs)


def chosen_mapping(
    choices: dict[str, str], columns: list[str], targets: tuple[str, ...], file: str
) -> dict[str, str]:
    """Field → column from the user's choices (column → field or KEEP), checked: every column
    named is in the file, every field is known, no field is fed by two columns, and the
    required ``account_id`` is mapped."""
    problems: list[Problem] = []
    mapping: dict[str, str] = {}
    for column, target in choices.items():
        if target == KEEP:
            continue
        if column not in columns:
            problems.append(Problem(file=file, column=column, message="no such column in the file"))
        elif target not in targets:
            problems.append(
                Problem(file=file, column=column, message=f"{target!r} is not a field icpkit reads",
                        expected="one of " + ", ".join(targets))
            )  # fmt: skip
        elif target in mapping:
            problems.append(
                Problem(
                    file=file,
                    column=column,
                    message=f"{target} is already fed by column {mapping[target]!r}",
                    expected="one column per field",
                )
            )
        else:
            mapping[target] = column
    for field in REQUIRED["accounts"]:
        if field not in mapping and field not in columns:
            problems.append(
                Problem(
                    file=file,
                    column=field,
                    message=f"no column is mapped to {field}",
                    expected=f"the column holding the CRM's {field}",
                )
            )
    if problems:
        raise SchemaError(f"the column mapping of {file} cannot be used", problems)
    return mapping


def mapped_source(path: Path, mapping: dict[str, str]) -> SourceConfig:
    """The accounts source that reads ``path`` through ``mapping`` (what ``score --map`` uses)."""
    return SourceConfig.model_validate({"path": str(path), "columns": mapping})


def _stored(root: Path) -> dict[str, Any]:
    try:
        raw = json.loads((root / REMEMBERED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def remembered(root: Path) -> dict[str, str]:
    """The mapping chosen at the workspace's last uploads (field → column); empty when none or
    when the file is damaged (it is only a convenience)."""
    columns = _stored(root).get("columns")
    if not isinstance(columns, dict):
        return {}
    return {str(k): v for k, v in columns.items() if isinstance(v, str)}


def remembered_kept(root: Path) -> list[str]:
    """The columns users chose to leave unmapped at the last uploads."""
    kept = _stored(root).get("kept")
    return [c for c in kept if isinstance(c, str)] if isinstance(kept, list) else []


def remember(root: Path, mapping: dict[str, str], columns: list[str]) -> Path:
    """Keep ``mapping`` for the next upload (``columns``: the upload's headers), merged over the
    last one: the new choice of a field wins, and a column of this upload that was left unmapped
    is forgotten; written atomically."""
    used = set(mapping.values()) | set(columns)
    old = {f: c for f, c in remembered(root).items() if f not in mapping and c not in used}
    merged = {**old, **mapping}
    unmapped = [c for c in columns if c not in mapping.values()]
    kept = sorted({*(c for c in remembered_kept(root) if c not in columns), *unmapped})
    target = root / REMEMBERED
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"columns": merged, "kept": kept}, indent=2, sort_keys=True)
    return write_text_atomic(target, text)
