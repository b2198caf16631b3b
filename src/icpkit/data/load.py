"""Load a workspace: read every source, map, normalise, validate — and report every problem at once.

``load_workspace`` raises one SchemaError carrying all fatal problems; ``check_workspace`` never
raises for the data and returns a CheckReport for ``icpkit check``. A source whose name is not a
canonical table (e.g. ``products``) is a *reference table*: it is not mapped, but the values of any
column that a canonical table shares with it by name (deals.product vs products.product) are
checked against it, which is how a product spelled 'GTXPro' in deals and 'GTX Pro' in products.csv
is caught.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from icpkit.config import SourceConfig, WorkspaceConfig
from icpkit.data import schema
from icpkit.data.attributes import ColumnFate
from icpkit.data.frames import as_polars
from icpkit.data.mapping import PRESETS, ROW, column_listing, map_columns, snake_name
from icpkit.data.model import TABLES, UNLOCKS, CrmData
from icpkit.data.normalize import as_text
from icpkit.data.outcome_column import outcome_deals
from icpkit.data.paths import resolve_source
from icpkit.data.readers import header_problems, read_table
from icpkit.data.similar import closest
from icpkit.data.tables import normalise_table
from icpkit.errors import ConfigError, Problem, SchemaError


@dataclass
class _Loaded:
    frames: dict[str, pl.DataFrame] = field(default_factory=dict)
    references: dict[str, pl.DataFrame] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _reference_name_problem(name: str, file: str) -> Problem | None:
    """A source name one typo away from a canonical table is a mistake, not a reference table."""
    close = closest(name, TABLES, cutoff=0.8)
    if not close:
        return None
    return Problem(
        file=file,
        code="config",
        value=name,
        expected=", ".join(TABLES),
        message=f"source {name!r} is not a canonical table; did you mean {close!r}?",
    )


def _read_source(
    name: str, source: SourceConfig, root: Path, loaded: _Loaded, config: WorkspaceConfig
) -> pl.DataFrame | None:
    file = source.path
    try:
        raw = read_table(
            resolve_source(config, root, source.path, f"sources.{name}.path"),
            table=source.table,
            query=source.query,
            sheet=source.sheet,
            delimiter=source.delimiter,
            encoding=source.encoding,
            max_columns=config.max_columns,
        )
    except SchemaError as exc:
        loaded.problems += [_relabel(p, file) for p in exc.problems]
        return None
    except ConfigError as exc:  # e.g. a refused query: name the source it belongs to
        raise ConfigError(f"[sources.{name}] {exc.message}") from None
    loaded.files[name] = file
    loaded.problems += header_problems(file, raw)
    if raw.height == 0:
        loaded.problems.append(
            Problem(
                file=file,
                code="no_rows",
                expected="at least one data row",
                message=f"has a header ({', '.join(raw.columns[:8])}{', …' * (raw.width > 8)})"
                " but no data rows",
            )
        )
        return None
    return raw


def _relabel(problem: Problem, file: str) -> Problem:
    """Name the file as written in icpkit.toml rather than its absolute path."""
    return Problem(**{**problem.to_dict(), "file": file})  # type: ignore[arg-type]


def _load_sources(config: WorkspaceConfig, root: Path) -> _Loaded:
    loaded = _Loaded()
    preset = PRESETS.get(config.preset)
    if "accounts" not in config.sources:
        loaded.problems.append(
            Problem(
                file="icpkit.toml",
                code="config",
                expected="a [sources.accounts] section",
                message="no accounts source is configured; accounts is the one required table",
            )
        )
    for name, source in config.sources.items():
        if name not in TABLES and (wrong := _reference_name_problem(name, source.path)):
            loaded.problems.append(wrong)
            continue
        raw = _read_source(name, source, root, loaded, config)
        if raw is None:
            continue
        if name not in TABLES:
            loaded.references[name] = raw.rename(snake_name)
            continue
        raw = raw.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
        raw, source = _with_default_stage(name, raw, source)
        raw, source = _with_row_number_id(name, raw, source)
        outcome_raw = _outcome_part(name, raw, source, config, loaded)
        if outcome_raw is not None:
            raw = raw.drop(str(source.outcome_column))  # the answer is never an attribute
        mapped = map_columns(raw, name, source, preset, source.path)
        frame, problems = normalise_table(
            name, mapped, source, source.path, na_values=config.na_values
        )
        if outcome_raw is not None:
            deals, notes = outcome_deals(frame, outcome_raw, source, source.path)
            loaded.frames["deals"] = deals
            loaded.files["deals"] = source.path
            problems += notes
        if name == "accounts" and source.collapse_to_accounts:
            frame, note = collapse_to_accounts(frame, source.path)
            problems.append(note)
        loaded.frames[name] = frame
        loaded.problems += problems
    accounts = config.sources.get("accounts")
    if (
        accounts is not None
        and accounts.outcome_missing_is_lost
        and accounts.outcome_column is None
    ):
        _accounts_without_deals_lost(loaded, accounts.path)
    return loaded


def _outcome_part(
    name: str, raw: pl.DataFrame, source: SourceConfig, config: WorkspaceConfig, loaded: _Loaded
) -> pl.DataFrame | None:
    """The row numbers, outcome and outcome-date columns when accounts carry their outcome."""
    column = source.outcome_column
    if column is None:
        if source.outcome_date_column is not None:
            loaded.problems.append(
                Problem(
                    file=source.path,
                    column=source.outcome_date_column,
                    severity="warning",
                    code="config",
                    message=f"outcome_date_column {source.outcome_date_column!r} is not used: "
                    "it dates the outcome of outcome_column, and the outcome here comes from "
                    "the deals, dated by their own created_at/closed_at (map a date column of "
                    "the deals file instead, or remove the setting)",
                )
            )
        return None
    where = source.path
    wanted = [c for c in (column, source.outcome_date_column) if c is not None]
    missing = [c for c in wanted if c not in raw.columns]
    fatal = [
        Problem(
            file=where,
            column=c,
            code="missing_column",
            message=f"outcome column {c!r} is not in the file; columns found: "
            f"{column_listing([c for c in raw.columns if c != ROW])}",
            expected=f"a column named {c!r}",
        )
        for c in missing
    ]
    if name != "accounts":
        fatal.append(
            Problem(file=where, code="config", message="outcome_column is for accounts only")
        )
    if "deals" in config.sources:
        fatal.append(
            Problem(
                file=where,
                code="config",
                message="outcome_column and a deals source are both configured; use one "
                "(the outcome column becomes the deals table)",
            )
        )
    if fatal:
        loaded.problems += fatal
        return None
    return raw.select(ROW, *dict.fromkeys(wanted))


def _with_row_number_id(
    name: str, raw: pl.DataFrame, source: SourceConfig
) -> tuple[pl.DataFrame, SourceConfig]:
    """With ``id_is_row_number``: the row's number in the file becomes the account id."""
    if name != "accounts" or not source.id_is_row_number or "account_id" in source.columns:
        return raw, source
    column = "row_number"
    while column in raw.columns:
        column = f"{column}_"
    raw = raw.with_columns(pl.col(ROW).cast(pl.Utf8).alias(column))
    return raw, source.model_copy(update={"columns": {**source.columns, "account_id": column}})


def _accounts_without_deals_lost(loaded: _Loaded, file: str) -> None:
    """Give every account without a closed deal one lost deal (a list of leads joined to the deals
    of those that won: the others did not buy), and say how many."""
    accounts, deals = loaded.frames.get("accounts"), loaded.frames.get("deals")
    if accounts is None or deals is None:
        return
    closed = deals.filter(pl.col("stage").is_in(["won", "lost"]))["account_id"].unique()
    without = accounts.filter(~pl.col("account_id").is_in(closed.implode())).select("account_id")
    without = without.filter(pl.col("account_id").is_not_null())
    if without.height == 0:
        return
    added = without.select(
        (pl.col("account_id") + "-no-deal").alias("deal_id"),
        "account_id",
        pl.lit("lost").alias("stage"),
    )
    loaded.frames["deals"] = pl.concat([deals, added], how="diagonal_relaxed")
    loaded.problems.append(
        Problem(
            file=file,
            severity="warning",
            code="outcome",
            message=f"{without.height:,} accounts without a closed deal counted as lost "
            "(outcome_missing_is_lost = true)",
        )
    )


STAGE_COLUMN = "__stage_default"


def _with_default_stage(
    name: str, raw: pl.DataFrame, source: SourceConfig
) -> tuple[pl.DataFrame, SourceConfig]:
    """A deals file without a stage column (order lines, invoices) gets the configured stage."""
    if name != "deals" or source.stage_default is None or "stage" in source.columns:
        return raw, source
    raw = raw.with_columns(pl.lit(source.stage_default).alias(STAGE_COLUMN))
    columns = {**source.columns, "stage": STAGE_COLUMN}
    return raw, source.model_copy(update={"columns": columns})


def collapse_to_accounts(frame: pl.DataFrame, file: str) -> tuple[pl.DataFrame, Problem]:
    """One row per account from a file with several: the most frequent value of each text or tag
    column (ties: the first seen), the median of each number; the first source row is kept."""
    aggregations = []
    for column, dtype in frame.schema.items():
        if column == "account_id":
            continue
        if column == ROW:
            aggregations.append(pl.col(column).min())
        elif dtype.is_numeric():
            aggregations.append(pl.col(column).median().cast(dtype, strict=False))
        else:
            aggregations.append(pl.col(column).drop_nulls().mode().first().alias(column))
    collapsed = frame.group_by("account_id", maintain_order=True).agg(aggregations)
    collapsed = collapsed.select(frame.columns)
    note = Problem(
        file=file,
        severity="warning",
        code="collapsed",
        message=f"{frame.height:,} rows collapsed into {collapsed.height:,} accounts "
        "(most frequent value of each text column, median of each number)",
    )
    return collapsed, note


def _validate(frames: dict[str, pl.DataFrame], files: dict[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    accounts = frames.get("accounts")
    if accounts is not None:
        problems += schema.check_accounts(accounts, files["accounts"])
    for table, frame in frames.items():
        if table != "accounts" and accounts is not None and "account_id" in frame.columns:
            if table == "signals" and frame["account_id"].null_count() == frame.height:
                continue  # signals may be keyed by domain only
            problems += schema.check_links(frame, table, accounts["account_id"], files[table])
    if "deals" in frames:
        problems += schema.check_deals(frames["deals"], files["deals"])
    if "subscriptions" in frames:
        problems += schema.check_subscriptions(frames["subscriptions"], files["subscriptions"])
    return problems


def _check_references(loaded: _Loaded) -> list[Problem]:
    """Compare every canonical-table column with a same-named column of a reference table."""
    problems: list[Problem] = []
    for ref_name, reference in loaded.references.items():
        for table, frame in loaded.frames.items():
            types = frame.schema
            for column in set(reference.columns) & set(frame.columns):
                if types[column] != pl.Utf8 or column == ROW:
                    continue
                listed = reference[column].cast(pl.Utf8).str.strip_chars()
                if not frame[column].is_in(listed.implode()).any():
                    continue  # same name, unrelated content: nothing to compare
                problems += schema.check_reference(
                    frame, column, listed, loaded.files[table], loaded.files[ref_name]
                )
    return problems


def _finish(loaded: _Loaded) -> CrmData:
    problems = loaded.problems + _validate(loaded.frames, loaded.files) + _check_references(loaded)
    fatal = [p for p in problems if p.severity == "fatal"]
    if fatal or "accounts" not in loaded.frames:
        n = len(fatal)
        raise SchemaError(
            f"{n} fatal problem{'s' if n != 1 else ''} in the data; nothing was loaded", fatal
        )
    frames = {t: f.drop(ROW) if ROW in f.columns else f for t, f in loaded.frames.items()}
    sources = dict(loaded.files)
    return CrmData(**frames, problems=problems, sources=sources)


def load_workspace(config: WorkspaceConfig, root: Path) -> CrmData:
    """Read, map, normalise and validate every source of a workspace.

    Parameters
    ----------
    config : the parsed icpkit.toml.
    root : the workspace folder; source paths are relative to it.

    Returns
    -------
    CrmData with the canonical frames, the warnings in ``problems`` and ``sources`` mapping each
    table (and reference table) to its file.

    Raises
    ------
    SchemaError
        With every fatal problem of every source at once.
    """
    return _finish(_load_sources(config, Path(root)))


def crm_from_frames(frames: dict[str, Any], name: str = "frames") -> CrmData:
    """Normalise and validate frames already in (or near) canonical shape (polars or pandas).

    Column names are matched as in a source without a preset; ``name`` labels the frames in
    problem messages (e.g. ``frames/deals``).

    Raises
    ------
    SchemaError
        A frame names an unknown table, or the data has fatal problems.
    """
    loaded = _Loaded()
    for table, given in frames.items():
        file = f"{name}/{table}"
        frame, _ = as_polars(given, file)
        if table not in TABLES:
            loaded.problems.append(
                Problem(
                    file=file,
                    code="config",
                    value=table,
                    message=f"{table!r} is not a canonical table",
                    expected=", ".join(TABLES),
                )
            )
            continue
        raw = frame.drop(ROW, strict=False).with_row_index(ROW, offset=1)
        objects = [as_text(raw[c]) for c, t in raw.schema.items() if t == pl.Object]
        raw = raw.with_columns(objects) if objects else raw
        mapped = map_columns(
            raw.with_columns(pl.col(ROW).cast(pl.Int64)),
            table,
            SourceConfig.model_validate({"path": file}),
            None,
            file,
        )
        normalised, problems = normalise_table(
            table, mapped, SourceConfig.model_validate({"path": file}), file
        )
        loaded.frames[table], loaded.files[table] = normalised, file
        loaded.problems += problems
    if "accounts" not in frames:
        loaded.problems.append(
            Problem(
                file=name, code="missing_table", message="no accounts frame; accounts is required"
            )
        )
    return _finish(loaded)


@dataclass(frozen=True)
class CheckReport:
    """What ``icpkit check`` shows: every problem, row counts, what missing tables unlock."""

    problems: tuple[Problem, ...]
    row_counts: dict[str, int]
    sources: dict[str, str]
    missing: dict[str, str]
    references: tuple[str, ...] = ()
    columns: tuple[ColumnFate, ...] = ()  # every accounts column's fate, when it loaded

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "fatal"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when nothing is fatal: ``load_workspace`` would succeed."""
        return not self.fatal

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "row_counts": dict(self.row_counts),
            "sources": dict(self.sources),
            "missing": dict(self.missing),
            "references": list(self.references),
            "n_fatal": len(self.fatal),
            "n_warnings": len(self.warnings),
            "problems": [p.to_dict() for p in self.problems],
            "columns": [c.to_dict() for c in self.columns],
        }

    def to_frame(self) -> pl.DataFrame:
        """One row per problem (severity, file, row, column, value, expected, message, code)."""
        names = ["severity", "file", "row", "column", "value", "expected", "message", "code"]
        rows = [{k: p.to_dict()[k] for k in names} for p in self.problems]
        schema = {k: pl.Int64 if k == "row" else pl.Utf8 for k in names}
        return pl.DataFrame(rows, schema=schema, orient="row")

    def summary_lines(self) -> list[str]:
        """Plain-text lines for a terminal: tables, missing tables, problems, verdict."""
        lines = ["Tables:"]
        for table, n in self.row_counts.items():
            kind = " (reference)" if table in self.references else ""
            lines.append(f"  {table + kind:<24} {n:>10,} rows  {self.sources.get(table, '')}")
        if self.missing:
            lines.append("Optional tables not configured (add them to unlock more):")
            lines += [f"  {table:<14} {unlocks}" for table, unlocks in self.missing.items()]
        if self.columns:
            used = sum(c.fate in ("attribute", "grouped") for c in self.columns)
            lines.append(f"Accounts columns: {used} of {len(self.columns)} used as attributes")
            width = min(max(len(c.column) for c in self.columns), 28)
            lines += [
                f"  {c.column[:width]:<{width}}  {c.fate:<16} {c.reason}" for c in self.columns
            ]
        lines.append(f"Problems: {len(self.fatal)} fatal, {len(self.warnings)} warnings")
        lines += [f"  FATAL    {p}" for p in self.fatal]
        lines += [f"  warning  {p}" for p in self.warnings]
        verdict = (
            "OK: the data can be loaded"
            if self.ok
            else ("NOT OK: fix the fatal problems above and run `icpkit check` again")
        )
        return [*lines, verdict]


def check_workspace(config: WorkspaceConfig, root: Path) -> CheckReport:
    """Load and validate like ``load_workspace`` but return every problem instead of raising.

    Returns
    -------
    CheckReport with fatal problems and warnings, row counts per table, the files read, the
    optional tables that are missing with what each would unlock, and ``ok``.
    """
    return check_and_load(config, root)[0]


def check_and_load(config: WorkspaceConfig, root: Path) -> tuple[CheckReport, CrmData | None]:
    """The CheckReport and, when nothing is fatal, the loaded CrmData (read once, not twice)."""
    loaded = _load_sources(config, Path(root))
    problems = loaded.problems + _validate(loaded.frames, loaded.files) + _check_references(loaded)
    crm = None
    if "accounts" in loaded.frames and not any(p.severity == "fatal" for p in problems):
        frames = {t: f.drop(ROW) if ROW in f.columns else f for t, f in loaded.frames.items()}
        crm = CrmData(**frames, problems=problems, sources=dict(loaded.files))
    counts = {t: f.height for t, f in loaded.frames.items()}
    counts.update({t: f.height for t, f in loaded.references.items()})
    missing = {
        t: UNLOCKS[t] for t in TABLES[1:] if t not in config.sources and t not in loaded.frames
    }
    report = CheckReport(
        problems=tuple(sorted(problems, key=lambda p: p.severity != "fatal")),
        row_counts=counts,
        sources=dict(loaded.files),
        missing=missing,
        references=tuple(loaded.references),
    )
    return report, crm
