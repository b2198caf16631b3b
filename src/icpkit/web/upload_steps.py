"""The upload page's two steps over :class:`Service`: keep the file and propose a column mapping
(:mod:`icpkit.data.upload_map`), then score it with the mapping the user chose and remember it.

The uploaded file waits in ``.icpkit/uploads/<token>.in.<suffix>`` between the two steps (removed
once scored); the token is random and checked, so no path leaves the folder.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from icpkit.data import upload_map
from icpkit.data.readers import read_table
from icpkit.errors import SchemaError
from icpkit.scoring import OUTPUT_COLUMNS, score_file
from icpkit.web.service import TOKEN, NotFound, Service, safe_upload_name


@dataclass(frozen=True)
class Pending:
    """An uploaded file waiting for its mapping, and the proposal shown."""

    token: str
    name: str
    proposal: upload_map.MappingProposal


def _targets(service: Service) -> tuple[str, ...]:
    number, profile = service.profile()
    return upload_map.targets_for(service.plan(number, profile).columns)


def _read_sample(path: Path) -> pl.DataFrame:
    return read_table(path).head(upload_map.SAMPLE_ROWS)


def keep_upload(service: Service, filename: str, content: bytes) -> Pending:
    """Keep the upload and propose a mapping of its columns (remembered choices first)."""
    name = safe_upload_name(filename)
    token = secrets.token_urlsafe(18)
    path = service.upload_dir() / f"{token}.in{Path(name).suffix.lower() or '.csv'}"
    path.write_bytes(content)
    try:
        frame = _read_sample(path)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    config = service.workspace.config
    proposal = upload_map.propose_mapping(
        frame,
        _targets(service),
        remembered=upload_map.remembered(service.root),
        kept=upload_map.remembered_kept(service.root),
        workspace=config.sources.get("accounts"),
        preset=config.preset,
    )
    return Pending(token, name, proposal)


def pending_file(service: Service, token: str) -> Path:
    """The kept upload of ``token`` (404 when there is none: scored already, or never kept)."""
    if not TOKEN.match(token):
        raise NotFound("no such upload waiting for its mapping")
    found = sorted(service.upload_dir().glob(f"{token}.in.*"))
    if not found:
        raise NotFound("no such upload waiting for its mapping: upload the file again")
    return found[0]


def header_of(path: Path) -> list[str]:
    """The column names of a kept upload, in the file's order."""
    return list(read_table(path).columns)


def proposal_of(service: Service, token: str, name: str) -> Pending:
    """The proposal of a kept upload again (after a mapping that could not be used)."""
    path = pending_file(service, token)
    config = service.workspace.config
    proposal = upload_map.propose_mapping(
        _read_sample(path),
        _targets(service),
        remembered=upload_map.remembered(service.root),
        kept=upload_map.remembered_kept(service.root),
        workspace=config.sources.get("accounts"),
        preset=config.preset,
    )
    return Pending(token, name, proposal)


def score_mapped(
    service: Service, token: str, choices: dict[str, str], name: str = "upload.csv"
) -> dict[str, Any]:
    """Score a kept upload through the chosen mapping (column → field), remember the mapping for
    the next upload, and answer as :meth:`Service.score_upload` does."""
    path = pending_file(service, token)
    columns = header_of(path)
    mapping = upload_map.chosen_mapping(choices, columns, _targets(service), name)
    target = service.upload_dir() / f"{token}.csv"
    number, profile = service.profile()
    try:
        n = score_file(
            profile,
            path,
            target,
            outputs=OUTPUT_COLUMNS,
            source=upload_map.mapped_source(path, mapping),
            missing=lambda _: None,
        )
    except Exception:
        target.unlink(missing_ok=True)
        raise
    if n > service.settings.max_rows:
        target.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        raise SchemaError(f"{n} accounts uploaded; the limit is {service.settings.max_rows}")
    upload_map.remember(service.root, mapping, columns)
    path.unlink(missing_ok=True)
    preview = pl.read_csv(target, n_rows=200, infer_schema_length=0)
    return {
        "token": token,
        "n": n,
        "version": number,
        "name": name,
        "preview": preview,
        "mapping": mapping,
    }
