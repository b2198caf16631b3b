"""CRM hygiene on its own: add function, seniority and confidence to any file of contacts.

The file is read by the data layer's readers (CSV, TSV, Excel, Parquet, SQL files), the title
column found (named, or guessed from common names), and the file written back with the three
columns added, atomically (CSV or Parquet). Nothing of the contacts but the titles is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from icpkit.config import PersonasConfig
from icpkit.data import read_table
from icpkit.data.writers import write_table
from icpkit.errors import ConfigError, SchemaError
from icpkit.personas.lexicon import UNKNOWN, Lexicon, default_lexicon, read_overrides
from icpkit.personas.titles import OUTPUT_COLUMNS, classify_titles

TITLE_COLUMNS = ("title", "job title", "job_title", "jobtitle", "position", "job", "role", "titel")
OUTPUTS = (".csv", ".parquet")


@dataclass(frozen=True)
class TitleFileResult:
    """What one run of ``icpkit titles`` did: counts only (no title or contact is echoed)."""

    rows: int
    column: str
    distinct_titles: int
    unknown_function: int
    unknown_seniority: int
    replaced_columns: tuple[str, ...]

    def lines(self) -> list[str]:
        out = [
            f"classified {self.rows:,} rows ({self.distinct_titles:,} distinct titles) "
            f"from column {self.column!r}",
            f"function unknown for {self.unknown_function:,} rows, seniority unknown for "
            f"{self.unknown_seniority:,} (blank, unreadable or below the confidence threshold)",
        ]
        if self.replaced_columns:
            out.append(f"replaced existing columns {list(self.replaced_columns)}")
        return out


def workspace_lexicon(config: PersonasConfig, root: Path | None) -> Lexicon:
    """The shipped vocabularies plus the workspace's override table, if one is configured."""
    lexicon = default_lexicon()
    if config.title_overrides is None:
        return lexicon
    path = Path(config.title_overrides)
    if not path.is_absolute() and root is not None:
        path = root / path
    return lexicon.with_overrides(read_overrides(path))


def title_column(columns: list[str], wanted: str | None, origin: str) -> str:
    """The column holding job titles: ``wanted`` if given, else the first common title name."""
    if wanted is not None:
        if wanted not in columns:
            raise SchemaError(
                f"{origin}: no column {wanted!r} (columns found: {columns[:30]}); "
                "pass the title column with --column"
            )
        return wanted
    lower = {c.lower().strip(): c for c in columns}
    for name in TITLE_COLUMNS:
        if name in lower:
            return lower[name]
    raise SchemaError(
        f"{origin}: found no job-title column (expected one of {list(TITLE_COLUMNS)}; "
        f"columns found: {columns[:30]}); pass it with --column"
    )


def classify_file(
    input_path: Path,
    output_path: Path,
    column: str | None = None,
    *,
    lexicon: Lexicon | None = None,
    min_confidence: float = 0.5,
) -> TitleFileResult:
    """Read a contacts file, add ``function``, ``seniority``, ``confidence``, write it.

    Raises
    ------
    ConfigError
        Unsupported output format.
    SchemaError
        Unreadable input or no title column.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    if output_path.suffix.lower() not in OUTPUTS:
        raise ConfigError(
            f"{output_path}: output must be one of {', '.join(OUTPUTS)}; got {output_path.suffix!r}"
        )
    frame = read_table(input_path)
    name = title_column(frame.columns, column, str(input_path))
    classified = classify_titles(
        frame[name].cast(pl.Utf8), lexicon=lexicon, min_confidence=min_confidence
    )
    replaced = tuple(c for c in OUTPUT_COLUMNS if c in frame.columns and c != name)
    result = frame.drop(list(replaced)).hstack(classified.select(OUTPUT_COLUMNS))
    write_table(result, output_path, suffixes=OUTPUTS)  # atomic, formula-guarded
    return TitleFileResult(
        rows=frame.height,
        column=name,
        distinct_titles=frame[name].n_unique(),
        unknown_function=int((classified["function"] == UNKNOWN).sum()),
        unknown_seniority=int((classified["seniority"] == UNKNOWN).sum()),
        replaced_columns=replaced,
    )
