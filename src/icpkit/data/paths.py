"""Where a workspace config may read from: the workspace, its data folders, nothing else.

A source path in icpkit.toml is resolved (``..`` and symbolic links followed) and must land inside
the workspace folder or one of ``data_dirs`` (the data folder ``icpkit init DIR -w WS`` was given),
unless ``allow_outside_workspace = true``. A config from someone else therefore cannot make
``icpkit check`` read ``/etc/passwd`` or ``../../.ssh/id_rsa`` and echo it back in an error.
Files without a data extension (.csv, .xlsx, .parquet, …) are refused as sources for the same
reason: an error message about them could quote a line of a file that is not data.
"""

from __future__ import annotations

from pathlib import Path

from icpkit.config import WorkspaceConfig
from icpkit.data.readers import DATA_SUFFIXES
from icpkit.errors import Problem, SchemaError


def allowed_roots(config: WorkspaceConfig, root: Path) -> list[Path]:
    """The folders sources may be read from (resolved)."""
    return [root.resolve(), *((root / d).resolve() for d in config.data_dirs)]


def is_inside(path: Path, roots: list[Path]) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)


def resolve_source(config: WorkspaceConfig, root: Path, text: str, setting: str) -> Path:
    """The file a source path (as written in icpkit.toml) names, if the config may read it.

    Raises
    ------
    SchemaError
        The path leaves the workspace and its data folders, or has no data extension.
    """
    candidate = root / text
    resolved = candidate.resolve()
    if not config.allow_outside_workspace and not is_inside(resolved, allowed_roots(config, root)):
        raise SchemaError(
            "",
            [
                Problem(
                    file=text,
                    column=None,
                    code="outside_workspace",
                    message=f"{setting} = {text!r} is outside the workspace ({root}); icpkit "
                    "reads only files inside it. Move the file in, list its folder in "
                    "data_dirs, or set allow_outside_workspace = true in icpkit.toml",
                    expected="a path inside the workspace",
                )
            ],
        )
    suffix = resolved.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise SchemaError(
            "",
            [
                Problem(
                    file=text,
                    code="not_a_data_file",
                    message=f"{setting} = {text!r} has no data-file extension "
                    f"({', '.join(sorted(DATA_SUFFIXES))}); rename it if it is a table",
                    expected="a .csv, .xlsx, .parquet, .sqlite or .duckdb file",
                )
            ],
        )
    return candidate
