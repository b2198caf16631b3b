"""``icpkit init``: guess which file is which table and how its columns map, and say why.

Each guess carries a confidence and a reason so the user can correct icpkit.toml: a preset's
column names (1.0), a known synonym of the canonical name (0.9), a similar name (the rapidfuzz ratio
× 0.85), or the content of the column — values that are domains, countries or deal stages, or an
account column whose values are the ids of the accounts file (the share that match).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from icpkit.config import WorkspaceConfig
from icpkit.data import batch
from icpkit.data.dates import parse_dates
from icpkit.data.mapping import FLAG_COLUMNS, PRESETS, Preset, column_listing, snake_name
from icpkit.data.model import REQUIRED, SCHEMA, TABLES
from icpkit.data.normalize import (
    clean_text,
    normalise_countries,
    normalise_domains,
    normalise_stages,
)
from icpkit.data.outcome_column import OUTCOME_NAME, looks_like_outcome
from icpkit.data.readers import (
    DATA_SUFFIXES,
    DUCKDB_SUFFIXES,
    SQLITE_SUFFIXES,
    read_table,
    sql_tables,
)
from icpkit.data.similar import closest, similarity
from icpkit.data.synonyms import FILE_NAMES, SYNONYMS
from icpkit.data.trait_words import people_name
from icpkit.errors import ConfigError, Problem, SchemaError

SAMPLE_ROWS = 5000
_KEY_COLUMNS = 50
# The registrable part of a domain: a label with a letter, then a top-level label of 2+ letters.
_DOMAIN = r"(^|\.)[a-z0-9\-]*[a-z][a-z0-9\-]*\.[a-z]{2,24}$"
_FLAG_WORDS = {"yes", "no", "y", "n", "true", "false", "t", "f", "0", "1", "1.0", "0.0"}
PRIMARY_ID = {"accounts": "account_id", "deals": "deal_id", "contacts": "contact_id"}


@dataclass(frozen=True)
class ColumnGuess:
    """canonical ← column of table, with a confidence in [0, 1] and the reason."""

    table: str
    canonical: str
    column: str
    confidence: float
    reason: str


@dataclass(frozen=True)
class FileGuess:
    """What a file (or SQL table) was taken for: a canonical table, 'reference' or 'ignored'."""

    file: str
    role: str
    confidence: float
    reason: str
    sql_table: str | None = None


@dataclass(frozen=True)
class GuessResult:
    """A ready-to-write icpkit.toml (as a dict) and the reasons behind every guess."""

    config: dict[str, Any]
    files: tuple[FileGuess, ...]
    columns: tuple[ColumnGuess, ...]
    problems: tuple[Problem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "files": [asdict(f) for f in self.files],
            "columns": [asdict(c) for c in self.columns],
            "problems": [p.to_dict() for p in self.problems],
        }

    def to_frame(self) -> pl.DataFrame:
        """One row per column guess (table, canonical, column, confidence, reason)."""
        schema = {
            "table": pl.Utf8,
            "canonical": pl.Utf8,
            "column": pl.Utf8,
            "confidence": pl.Float64,
            "reason": pl.Utf8,
        }
        return pl.DataFrame([asdict(c) for c in self.columns], schema=schema, orient="row")

    def explanation_lines(self) -> list[str]:
        """Plain-text lines: each file's role, then each column mapping, low confidence flagged."""
        lines = [f"Preset: {self.config.get('preset', 'none')}"]
        for f in self.files:
            where = f"{f.file}" + (f" (table {f.sql_table})" if f.sql_table else "")
            lines.append(f"{where} → {f.role}  [{f.confidence:.2f}: {f.reason}]")
            for c in (c for c in self.columns if c.table == f.role):
                flag = "  ← check" if c.confidence < 0.7 else ""
                lines.append(
                    f"    {c.canonical:<15} ← {c.column!r}  [{c.confidence:.2f}: {c.reason}]{flag}"
                )
        lines += [f"! {p}" for p in self.problems]
        return lines


def _flat(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _candidates(directory: Path) -> list[tuple[Path, str | None]]:
    """Data files in a folder (not recursive); SQL files expand to one entry per table."""
    found: list[tuple[Path, str | None]] = []
    for path in sorted(directory.iterdir()):
        suffix = path.suffix.lower()
        if path.name.startswith(".") or not path.is_file() or suffix not in DATA_SUFFIXES:
            continue
        if suffix in SQLITE_SUFFIXES | DUCKDB_SUFFIXES:
            found += [(path, table) for table in sql_tables(path)]
        else:
            found.append((path, None))
    return found


def _share(mask: pl.Series) -> float:
    """Share of true values of a boolean mask (0 for an empty one)."""
    return int(mask.fill_null(False).sum()) / len(mask) if len(mask) else 0.0


def _content_guess(canonical: str, values: pl.Series) -> float:
    """Share of filled values that look like the canonical column (0 when not checkable)."""
    text = clean_text(values.cast(pl.Utf8)).drop_nulls().head(500)
    if len(text) == 0:
        return 0.0
    if canonical == "domain":
        # a domain parses as one and identifies an account: "01.High" (an ordinal index) has a
        # numeric first label and few distinct values
        domains = normalise_domains(text)
        looks = (
            domains.is_not_null()
            & text.str.contains(r"\.")
            & domains.str.contains(_DOMAIN).fill_null(False)
        )
        if len(text) >= 20 and text.n_unique() < 0.3 * len(text):
            return 0.0
        return _share(looks)
    if canonical == "country":
        if _share(text.str.to_lowercase().is_in(list(_FLAG_WORDS))) >= 0.5:
            return 0.0  # "No"/"Yes" is a flag, not Norway
        return _share(normalise_countries(text)[0].is_not_null())
    if canonical == "stage":
        known = {"won", "lost", "closedwon", "closedlost", "open", "prospecting", "engaging"}
        keys = text.str.to_lowercase().str.replace_all(r"[^0-9a-z]", "")
        return _share(keys.is_in(list(known)))
    if canonical == "email":
        return _share(text.str.contains(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"))
    return 0.0


def _name_guess(
    canonical: str, column: str, table: str, preset: Preset | None
) -> tuple[float, str]:
    if preset and column in preset.columns.get(table, {}).get(canonical, ()):
        return 1.0, f"{preset.name} preset"
    if canonical in ("name", "account_id") and people_name(column) is not None:
        return 0.0, ""  # "KA_name", "owner_name": the rep's name, never the account's
    names = {canonical, *SYNONYMS.get(canonical, ())}
    if PRIMARY_ID.get(table) == canonical:
        names |= {"id", "record id"}
    flats = {_flat(n) for n in names}
    flat = _flat(column)
    if flat in flats:
        return 0.9, "name"
    ratio = max(_similarity(flat, f) for f in flats)
    return (round(ratio * 0.85, 2), "similar name") if ratio >= 0.8 else (0.0, "")


def _similarity(a: str, b: str) -> float:
    """The names' similarity when it is at least 0.8, else 0."""
    ratio = similarity(a, b)
    return ratio if ratio >= 0.8 else 0.0


def _overlap(values: pl.Series, known: pl.Series) -> float:
    """Share of the filled values of a column found among ``known`` values."""
    text = clean_text(values.cast(pl.Utf8)).drop_nulls()
    return _share(text.is_in(known.implode())) if len(text) else 0.0


def _worded_columns(frame: pl.DataFrame) -> set[str]:
    """Columns whose first values hold a letter (only they can hold domains, countries, stages or
    e-mails); one ``select`` for every column, so wide files stay linear."""
    text = [c for c, t in frame.schema.items() if t == pl.Utf8]
    if not text:
        return set()
    row = batch.scalars(frame, [pl.col(c).head(500).str.contains("[A-Za-z]").any() for c in text])
    return {c for c, has in zip(text, row, strict=True) if has}


def guess_columns(
    frame: pl.DataFrame, table: str, preset: Preset | None, account_ids: pl.Series | None = None
) -> list[ColumnGuess]:
    """Best file column for each canonical column of ``table`` (one column per canonical)."""
    options: list[tuple[float, str, str, str]] = []
    worded = _worded_columns(frame)
    for canonical in (*SCHEMA[table], *FLAG_COLUMNS.get(table, ())):
        for column in frame.columns:
            confidence, reason = _name_guess(canonical, column, table, preset)
            content = canonical in {"domain", "country", "stage", "email"} and column in worded
            if confidence < 0.9 and content:
                share = _content_guess(canonical, frame[column])
                if share >= 0.8 and share * 0.8 > confidence:
                    confidence, reason = share * 0.8, f"{share:.0%} of values look like {canonical}"
            if confidence > 0:
                options.append((confidence, canonical, column, reason))
    if account_ids is not None and table != "accounts" and "account_id" in SCHEMA[table]:
        for column in frame.columns:
            share = _overlap(frame[column], account_ids)
            if share >= 0.5:
                options.append(
                    (share, "account_id", column, f"{share:.0%} of values are account ids")
                )
    return _pick(options, table)


def _pick(options: list[tuple[float, str, str, str]], table: str) -> list[ColumnGuess]:
    chosen: dict[str, ColumnGuess] = {}
    used: dict[str, str] = {}
    for confidence, canonical, column, reason in sorted(options, key=lambda o: -o[0]):
        shared = {canonical, used.get(column)} == {"account_id", "name"} and table == "accounts"
        if canonical in chosen or (column in used and not shared):
            continue
        chosen[canonical] = ColumnGuess(table, canonical, column, round(confidence, 2), reason)
        used.setdefault(column, canonical)
    return sorted(
        chosen.values(),
        key=lambda g: (
            list(SCHEMA[table]).index(g.canonical) if g.canonical in SCHEMA[table] else 99
        ),
    )


def _name_score(stem: str, table: str, preset: Preset | None) -> float:
    names = FILE_NAMES[table] + (preset.file_names.get(table, ()) if preset else ())
    flat = _flat(stem)
    if any(_flat(n) == flat for n in names):
        return 1.0
    if any(_flat(n) in flat for n in names):
        return 0.8
    return max(similarity(flat, _flat(n)) for n in names) * 0.6


def _table_score(stem: str, table: str, guesses: list[ColumnGuess], preset: Preset | None) -> float:
    found = {g.canonical for g in guesses}
    missing = [
        c for c in REQUIRED[table] if c not in found and not (c == "stage" and "is_won" in found)
    ]
    score = 2 * _name_score(stem, table, preset) + sum(g.confidence for g in guesses) / 3
    return score * (0.3 if missing else 1.0)


def _detect_preset(frames: dict[str, pl.DataFrame]) -> tuple[Preset | None, str]:
    columns = {c for f in frames.values() for c in f.columns}
    best, best_hits = None, 0
    for preset in PRESETS.values():
        names = {n for cols in preset.columns.values() for ns in cols.values() for n in ns}
        # Names that are canonical anyway ('Name', 'Industry') say nothing about the CRM.
        hits = len({n for n in names & columns if _flat(n) not in _CANONICAL_FLAT})
        if hits > best_hits:
            best, best_hits = preset, hits
    if best is None or best_hits < 4:
        return None, "no preset matched (fewer than 4 of a preset's column names found)"
    return best, f"detected: {best_hits} of its column names found"


def detect_preset(frames: dict[str, pl.DataFrame]) -> tuple[Preset | None, str]:
    """The CRM preset whose column names the frames' headers use most (at least 4 names that
    are not canonical anyway), and why; ``(None, reason)`` when none does."""
    return _detect_preset(frames)


_MAX_COLUMNS = WorkspaceConfig.model_fields["max_columns"].default
_CANONICAL_FLAT = {re.sub(r"[^0-9a-z]", "", c) for cols in SCHEMA.values() for c in cols}


def _read_candidates(
    directory: Path,
) -> tuple[dict[str, pl.DataFrame], dict[str, tuple[str, str | None]], list[Problem]]:
    frames: dict[str, pl.DataFrame] = {}
    origin: dict[str, tuple[str, str | None]] = {}
    problems: list[Problem] = []
    for path, sql_table in _candidates(directory):
        relative = path.relative_to(directory).as_posix()
        key = f"{relative}:{sql_table}" if sql_table else relative
        try:
            # the width limit check applies, on the header before any row is parsed: a
            # 100,000-column file is skipped in a second, not guessed at for minutes
            frame = read_table(path, table=sql_table or None, max_columns=_MAX_COLUMNS)
        except SchemaError as exc:
            problems += [
                Problem(**{**p.to_dict(), "severity": "warning", "file": relative})  # type: ignore[arg-type]
                for p in exc.problems
            ]
            continue
        if frame.height:
            frames[key] = _sample(frame)
            origin[key] = (relative, sql_table or None)
    return frames, origin, problems


def _sample(frame: pl.DataFrame) -> pl.DataFrame:
    """At most ``SAMPLE_ROWS`` rows, chosen and ordered by a hash of each row's content (its first
    ``_KEY_COLUMNS`` columns, so a wide file stays cheap): the same sample, so the same guesses,
    whatever the order of the rows in the file."""
    key = frame.columns[:_KEY_COLUMNS]
    row = pl.concat_str(pl.col(key).cast(pl.Utf8).fill_null("\x00"), separator="\x1f")
    keyed = frame.with_columns(row.hash(seed=5).alias("__hash"), row.alias("__text"))
    ordered = keyed.sort("__hash", "__text", maintain_order=True)
    return ordered.head(SAMPLE_ROWS).drop("__hash", "__text")


def _assign_tables(
    frames: dict[str, pl.DataFrame], preset: Preset | None
) -> dict[str, tuple[str, float, list[ColumnGuess]]]:
    """table → (file key, score, column guesses), best pairs first, one file per table."""
    scored = []
    for key, frame in frames.items():
        stem = Path(key.split(":")[-1] if ":" in key else key).stem
        for table in TABLES:
            guesses = guess_columns(frame, table, preset)
            scored.append((_table_score(stem, table, guesses, preset), table, key, guesses))
    assigned: dict[str, tuple[str, float, list[ColumnGuess]]] = {}
    taken: set[str] = set()
    for score, table, key, guesses in sorted(scored, key=lambda s: -s[0]):
        if score >= 1.0 and table not in assigned and key not in taken:
            assigned[table] = (key, score, guesses)
            taken.add(key)
    accounts = assigned.get("accounts")
    if accounts is not None:  # second pass: account columns recognised by their values
        ids_guess = next((g for g in accounts[2] if g.canonical == "account_id"), None)
        if ids_guess is not None:
            ids = clean_text(frames[accounts[0]][ids_guess.column].cast(pl.Utf8)).drop_nulls()
            for table, (key, score, _) in list(assigned.items()):
                if table != "accounts":
                    assigned[table] = (key, score, guess_columns(frames[key], table, preset, ids))
    return assigned


def _reference_role(
    frame: pl.DataFrame, tables: dict[str, pl.DataFrame]
) -> tuple[str, float] | None:
    """(reason, share) when a leftover file lists the values of a column of a loaded table."""
    for column in frame.columns:
        name = snake_name(column)
        for table, data in tables.items():
            matches = [c for c in data.columns if snake_name(c) == name]
            if matches:
                share = _overlap(data[matches[0]], clean_text(frame[column].cast(pl.Utf8)))
                if share >= 0.5:
                    return (
                        f"lists the values of {table} column {matches[0]!r} ({share:.0%} found)",
                        share,
                    )
    return None


def _tag_columns(frame: pl.DataFrame, mapped: set[str]) -> list[str]:
    """Unmapped text columns where ≥ 30 % of filled values hold ';' or '|' separated items."""
    tags = []
    schema = frame.schema
    for column in frame.columns:
        if column in mapped or schema[column] != pl.Utf8:
            continue
        filled = frame[column].drop_nulls()
        if len(filled) and _share(filled.str.contains(r"[;|]")) >= 0.3:
            tags.append(column)
    return tags


def _source_entry(
    origin: tuple[str, str | None], guesses: list[ColumnGuess], frame: pl.DataFrame
) -> dict[str, Any]:
    path, sql_table = origin
    entry: dict[str, Any] = {"path": path}
    if sql_table:
        entry["table"] = sql_table
    entry["columns"] = {g.canonical: g.column for g in guesses}
    tags = _tag_columns(frame, {g.column for g in guesses})
    if tags:
        entry["tag_columns"] = tags
    return entry


def _outcome_guess(
    frame: pl.DataFrame, guesses: list[ColumnGuess], given: str | None, file: str
) -> tuple[str | None, str, list[Problem]]:
    """(outcome column, reason, problems) for a single-table lead or account export."""
    if given is not None:
        if given not in frame.columns:
            close = closest(given, frame.columns)
            hint = f"; did you mean {close!r}?" if close else ""
            raise ConfigError(
                f"--outcome {given!r}: {file} has no such column (columns: "
                f"{column_listing(frame.columns)}){hint}"
            )
        share = looks_like_outcome(frame[given])
        problems = []
        if share < 0.9:
            problems.append(
                Problem(
                    file=file,
                    column=given,
                    severity="warning",
                    code="outcome_values",
                    message=f"only {share:.0%} of the values of {given!r} read as won or lost; "
                    "set stage_values in icpkit.toml for the others",
                )
            )
        return given, "given with --outcome", problems
    mapped = {g.column for g in guesses}
    best: tuple[float, str] | None = None
    for column in frame.columns:
        if column in mapped:
            continue
        name = snake_name(column)
        if not any(
            name == n or name.endswith(f"_{n}") or name.startswith(f"{n}_") for n in OUTCOME_NAME
        ):
            continue
        share = looks_like_outcome(frame[column])
        if share >= 0.9 and (best is None or share > best[0]):
            best = (share, column)
    if best is None:
        return None, "", []
    return best[1], f"{best[0]:.0%} of its values read as won or lost", []


def _repeated_id(frame: pl.DataFrame, guesses: list[ColumnGuess], file: str) -> Problem | None:
    """A warning when the column guessed as the account id repeats values (a spreadsheet that
    turned long numbers into '2.02E+12'; one lead listed twice): it cannot be an id."""
    column = next((g.column for g in guesses if g.canonical == "account_id"), None)
    if column is None:
        return None
    values = clean_text(frame[column].cast(pl.Utf8)).drop_nulls()
    counts = values.value_counts(name="n").filter(pl.col("n") > 1)
    counts = counts.sort(["n", column], descending=[True, False])
    if counts.height == 0:
        return None
    example, n = counts.row(0)
    return Problem(
        file=file,
        column=column,
        severity="warning",
        code="id_repeats",
        value=str(example),
        message=f"{column!r} cannot be the account id: {counts.height:,} values repeat (e.g. "
        f"{str(example)!r} {n} times); each row's number is its id instead (id_is_row_number)",
    )


def _outcome_holder(
    frames: dict[str, pl.DataFrame], outcome: str, preset: Preset | None
) -> tuple[str, float, list[ColumnGuess]] | None:
    """The file holding the ``--outcome`` column, as the accounts table (first by name)."""
    for key in sorted(frames):
        if outcome in frames[key].columns:
            return key, 1.0, guess_columns(frames[key], "accounts", preset)
    return None


def _only_wins(
    frames: dict[str, pl.DataFrame], deals: tuple[str, float, list[ColumnGuess]]
) -> bool:
    """Whether the deals file's stage column says 'won' on every row (closed deals of winners)."""
    key, _, guesses = deals
    stage = next((g.column for g in guesses if g.canonical == "stage"), None)
    if stage is None:
        return False
    values = frames[key][stage].cast(pl.Utf8).drop_nulls()
    return len(values) > 0 and set(normalise_stages(values)[0].unique().to_list()) == {"won"}


def _outcome_date(frame: pl.DataFrame, outcome: str) -> str | None:
    """A creation-date column of a lead list (named like 'created', 'date added'), if any."""
    for column in frame.columns:
        name = snake_name(column)
        if column == outcome or not re.search(r"creat|added|sign_?up|inquiry|lead_date", name):
            continue
        values = frame[column]
        if values.dtype.is_temporal():
            return column
        parsed = parse_dates(values.cast(pl.Utf8))
        if parsed.values.is_not_null().mean() >= 0.9:  # type: ignore[operator]
            return column
    return None


def _no_table_reasons(
    directory: Path,
    frames: dict[str, pl.DataFrame],
    origin: dict[str, tuple[str, str | None]],
    problems: list[Problem],
    preset: Preset | None,
) -> str:
    """Why no file became the accounts table, file by file."""
    lines = []
    for key, frame in frames.items():
        guesses = guess_columns(frame, "accounts", preset)
        found = {g.canonical for g in guesses}
        missing = [c for c in REQUIRED["accounts"] if c not in found]
        why = (
            f"no column looks like {', '.join(missing)} (an id per row); columns: "
            f"{column_listing(frame.columns, limit=12)}"
            if missing
            else "its name and columns do not look like an accounts table"
        )
        lines.append(
            f"  - {origin[key][0]}{f' (table {origin[key][1]})' if origin[key][1] else ''}: {why}"
        )
    lines += [f"  - {p.file}: {p.message}" for p in problems]
    return (
        f"{directory}: found no usable accounts table, so no icpkit.toml was written:\n"
        + "\n".join(lines)
        + "\nName the id column account_id (or write [sources.accounts] by hand)."
    )


def guess_config(
    directory: Path, preset: str | None = None, outcome: str | None = None
) -> GuessResult:
    """Guess an icpkit.toml for the data files in ``directory`` (for ``icpkit init``).

    Parameters
    ----------
    directory : folder with the CRM exports (CSV, Excel, Parquet, SQLite, DuckDB).
    preset : 'hubspot', 'salesforce' or 'maven' to use that CRM's column names first; None to
        detect one from the column names.
    outcome : the accounts file's outcome column (``--outcome``), for a single-table lead or
        account export; None to recognise one (converted, won, status … with won/lost values)
        when no deals file is found.

    Returns
    -------
    GuessResult whose ``config`` can be written with tomli-w (paths relative to ``directory``)
    and whose ``files``/``columns`` explain every guess with a confidence.

    Raises
    ------
    ConfigError
        The folder does not exist, holds no readable data file, no file can be the accounts
        table (the message says why, file by file), the preset is unknown or the ``outcome``
        column does not exist.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError(f"{directory}: not a folder")
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r} (choose one of: {', '.join(PRESETS)})")
    frames, origin, problems = _read_candidates(directory)
    if not frames:
        reasons = "".join(f"\n  - {p.file}: {p.message}" for p in problems)
        raise ConfigError(
            f"{directory}: no readable data file with rows (looked for "
            f"{', '.join(sorted(DATA_SUFFIXES))}){reasons}"
        )
    chosen, preset_reason = (PRESETS[preset], "given") if preset else _detect_preset(frames)
    assigned = _assign_tables(frames, chosen)
    if "accounts" not in assigned and outcome is not None:
        holder = _outcome_holder(frames, outcome, chosen)
        if holder is not None:
            assigned["accounts"] = holder
    if "accounts" not in assigned:
        raise ConfigError(_no_table_reasons(directory, frames, origin, problems, chosen))
    files, columns, sources = [], [], {}
    for table in TABLES:
        if table in assigned:
            key, score, guesses = assigned[table]
            files.append(
                FileGuess(
                    origin[key][0],
                    table,
                    round(min(score / 4, 1.0), 2),
                    f"file name and {len(guesses)} recognised columns",
                    origin[key][1],
                )
            )
            if table == "accounts" and ("deals" not in assigned or outcome is not None):
                found, why, notes = _outcome_guess(frames[key], guesses, outcome, origin[key][0])
                # the outcome is the answer: it is mapped onto no other column ("No" ≠ Norway)
                guesses = [g for g in guesses if g.column != found]
            columns += guesses
            sources[table] = _source_entry(origin[key], guesses, frames[key])
            repeated = _repeated_id(frames[key], guesses, origin[key][0])
            if table == "accounts" and outcome is not None and repeated is not None:
                problems.append(repeated)
                guesses = [g for g in guesses if g.canonical != "account_id"]
                sources[table]["columns"].pop("account_id", None)
            if (
                table == "accounts"
                and outcome is not None
                and "account_id" not in {g.canonical for g in guesses}
            ):
                sources[table]["id_is_row_number"] = True
                columns.append(
                    ColumnGuess(
                        table, "account_id", "(row number)", 0.9, "no id column: a row's number"
                    )
                )
            else:
                problems += _missing_required(table, guesses, origin[key][0])
            if table == "accounts" and ("deals" not in assigned or outcome is not None):
                problems += notes
                if found is not None:
                    sources[table]["outcome_column"] = found
                    columns.append(ColumnGuess(table, "outcome", found, 0.9, why))
                    dated = _outcome_date(frames[key], found)
                    if dated is not None:
                        sources[table]["outcome_date_column"] = dated
                        columns.append(
                            ColumnGuess(table, "outcome_date", dated, 0.8, "a creation date")
                        )
                    if "deals" in assigned:
                        problems.append(
                            Problem(
                                file=origin[key][0],
                                severity="warning",
                                code="config",
                                message="--outcome given: the deals file found is not used",
                            )
                        )
                        assigned.pop("deals")
    if "accounts" in sources and "deals" in assigned and _only_wins(frames, assigned["deals"]):
        sources["accounts"]["outcome_missing_is_lost"] = True
        problems.append(
            Problem(
                file=origin[assigned["deals"][0]][0],
                severity="warning",
                code="only_wins",
                message="every deal here is won: accounts without a deal are counted as lost "
                "(outcome_missing_is_lost = true in icpkit.toml); remove it if they are not",
            )
        )
    loaded = {t: frames[k] for t, (k, _, _) in assigned.items()}
    used = {k for k, _, _ in assigned.values()}
    for key in (k for k in frames if k not in used):
        files.append(_leftover(key, origin[key], frames[key], loaded, sources))
    config = {
        "name": directory.resolve().name or "icp",
        "preset": chosen.name if chosen else "none",
        "sources": sources,
    }
    files.insert(0, FileGuess("(column names)", f"preset {config['preset']}", 1.0, preset_reason))
    return GuessResult(config, tuple(files), tuple(columns), tuple(problems))


def _leftover(
    key: str,
    origin: tuple[str, str | None],
    frame: pl.DataFrame,
    loaded: dict[str, pl.DataFrame],
    sources: dict[str, Any],
) -> FileGuess:
    """A file that is no canonical table: a reference table (added to sources) or ignored."""
    found = _reference_role(frame, loaded)
    if found is None:
        return FileGuess(origin[0], "ignored", 0.0, "not recognised as a table", origin[1])
    name = snake_name(Path(origin[1] or origin[0]).stem)
    if closest(name, TABLES, cutoff=0.8) or name in sources:
        name = f"ref_{name}"
    sources[name] = {"path": origin[0], **({"table": origin[1]} if origin[1] else {})}
    return FileGuess(origin[0], "reference", round(found[1], 2), found[0], origin[1])


def _missing_required(table: str, guesses: list[ColumnGuess], file: str) -> list[Problem]:
    found = {g.canonical for g in guesses}
    return [
        Problem(
            file=file,
            column=c,
            severity="warning",
            code="missing_column",
            message=f"no column found for required {table}.{c}; set it in icpkit.toml "
            f"[sources.{table}.columns]",
        )
        for c in REQUIRED[table]
        if c not in found and not (c == "stage" and "is_won" in found)
    ]
