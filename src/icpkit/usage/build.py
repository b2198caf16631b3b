"""Usage in a workspace: read the export, map it onto accounts, check it, add its features.

``load_usage`` turns ``[usage]`` into a lazy frame of mapped events; ``with_usage`` gives a
CrmData whose accounts carry the behavioural features (each account measured strictly before its
first outcome, so a feature measured after the outcome never explains it) and whose signals
carry the usage surges and drops; ``check_usage`` lists what ``icpkit check`` reports.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from icpkit.atomic import atomic_path
from icpkit.config import UsageConfig, WorkspaceConfig
from icpkit.data.model import CrmData
from icpkit.data.paths import allowed_roots, is_inside
from icpkit.errors import IcpError, Problem, SchemaError
from icpkit.profile import IcpProfile, UsageSection
from icpkit.usage.evidence import behaviour_clause, behaviour_traits
from icpkit.usage.features import (
    PREFIX,
    bot_users,
    deal_starts,
    outcome_cuts,
    seats_of,
    usage_features,
)
from icpkit.usage.mapping import map_accounts
from icpkit.usage.readers import (
    JSON_SUFFIXES,
    USAGE_SUFFIXES,
    canonical,
    find_bad_json_line,
    scan_usage,
)
from icpkit.usage.signals import usage_signals


def _resolve(config: WorkspaceConfig, root: Path, text: str, setting: str) -> Path:
    path = (root / text).resolve()
    if not config.allow_outside_workspace and not is_inside(path, allowed_roots(config, root)):
        raise SchemaError(
            "",
            [
                Problem(
                    file=text,
                    code="outside_workspace",
                    message=f"{setting} = {text!r} is outside the workspace; list its folder "
                    "in data_dirs or move it in",
                )
            ],
        )
    if path.suffix.lower() not in USAGE_SUFFIXES:
        raise SchemaError(
            "",
            [
                Problem(
                    file=text,
                    code="not_a_data_file",
                    message=f"{setting} = {text!r} is not an events export",
                    expected=", ".join(sorted(USAGE_SUFFIXES)),
                )
            ],
        )
    return path


def load_usage(
    config: WorkspaceConfig, root: Path, accounts: pl.DataFrame, contacts: pl.DataFrame | None
) -> pl.LazyFrame | None:
    """The configured events export as mapped canonical events (lazy), or None without one."""
    settings = config.usage
    if not settings.path:
        return None
    root = Path(root)
    path = _resolve(config, root, settings.path, "usage.path")
    events = scan_usage(
        path,
        settings.format,
        group=settings.group_property,
        value=settings.value_property,
        integration=settings.integration_property,
        columns=settings.columns,
        shown=settings.path,
    )
    account_map = None
    if settings.account_map:
        map_path = _resolve(config, root, settings.account_map, "usage.account_map")
        account_map = pl.read_csv(map_path, infer_schema=False)
        if not {"key", "account_id"} <= set(account_map.columns):
            raise SchemaError(
                "",
                [
                    Problem(
                        file=settings.account_map,
                        code="missing_column",
                        message="the account map needs columns 'key' and 'account_id'; found "
                        + ", ".join(account_map.columns),
                    )
                ],
            )
    return map_accounts(
        canonical(events),
        accounts,
        contacts,
        account_map,
        by_email_domain=settings.map_by_email_domain,
    )


def with_usage(
    crm: CrmData, settings: UsageConfig, as_of: date | None = None, *, signals: bool = True
) -> CrmData:
    """The CRM with behavioural features on its accounts (as of each account's first outcome,
    capped at ``as_of``) and usage surges/drops among its signals. Without usage: unchanged."""
    if crm.usage is None:
        return crm
    events = crm.usage.lazy()
    if "account_id" not in events.collect_schema().names():
        events = map_accounts(events, crm.accounts, crm.contacts)
    with reading(crm.sources.get("usage"), crm.sources.get("usage", "usage")):
        return _with_usage(crm, events, settings, as_of, signals)


def _with_usage(
    crm: CrmData, events: pl.LazyFrame, settings: UsageConfig, as_of: date | None, signals: bool
) -> CrmData:
    features = usage_features(
        events,
        settings,
        as_of=as_of,
        cuts=outcome_cuts(crm.deals, crm.subscriptions),
        starts=deal_starts(crm.deals),
        seats=seats_of(crm.accounts, crm.contacts, settings),
        accounts=crm.accounts["account_id"].cast(pl.Utf8),
    )
    keep = ["account_id", *features.columns]
    accounts = crm.accounts.drop([c for c in crm.accounts.columns if c.startswith(PREFIX)])
    accounts = accounts.join(
        features.frame.select(keep), on="account_id", how="left", maintain_order="left"
    )
    problems = list(crm.problems)
    problems += [
        Problem(file="usage", severity="warning", code="usage", message=n) for n in features.notes
    ]
    new_signals = crm.signals
    if signals:
        found = usage_signals(events, settings, as_of)
        if found.height:
            base = crm.signals
            new_signals = (
                found if base is None else pl.concat([base, found], how="diagonal_relaxed")
            )
    return dataclasses.replace(
        crm, accounts=accounts, signals=new_signals, usage=events, problems=problems
    )


def check_usage(
    events: pl.LazyFrame,
    accounts: pl.DataFrame,
    settings: UsageConfig,
    file: str,
    now: datetime | None = None,
) -> tuple[list[Problem], dict[str, int]]:
    """What ``icpkit check`` reports about the events: unmapped users, events before their account
    existed, clock skew (events in the future), bots. No user id is ever named (they are e-mails)."""
    now = now or datetime.now()
    future = now + timedelta(hours=settings.max_clock_skew_hours)
    created_col = settings.created_column
    base = events
    if created_col in accounts.columns:
        created = accounts.select(
            pl.col("account_id").cast(pl.Utf8),
            pl.col(created_col).cast(pl.Datetime("us")).alias("_created"),
        )
        base = base.join(created.lazy(), on="account_id", how="left")
    else:
        base = base.with_columns(pl.lit(None, pl.Datetime("us")).alias("_created"))
    counts = (
        base.select(
            pl.len().alias("events"),
            pl.col("user_id").n_unique().alias("users"),
            pl.col("account_id").is_null().sum().alias("unmapped_events"),
            pl.col("user_id")
            .filter(pl.col("account_id").is_null())
            .n_unique()
            .alias("unmapped_users"),
            pl.col("account_id").drop_nulls().n_unique().alias("accounts"),
            (pl.col("timestamp") < pl.col("_created").dt.date().cast(pl.Datetime("us")))
            .sum()
            .alias("before_created"),
            (pl.col("timestamp") > pl.lit(future)).sum().alias("future"),
        )
        .collect(engine="streaming")
        .row(0, named=True)
    )
    bots = bot_users(events, settings.bot_events_per_minute).collect(engine="streaming")
    counts = {k: int(v or 0) for k, v in counts.items()} | {"bots": bots.height}
    problems = []

    def warn(code: str, message: str, expected: str) -> None:
        problems.append(
            Problem(file=file, severity="warning", code=code, message=message, expected=expected)
        )

    if counts["unmapped_users"]:
        warn(
            "unmapped_users",
            f"{counts['unmapped_users']:,} users ({counts['unmapped_events']:,} events) map to no "
            "account; their events are not used",
            "a group id that is an account id, an e-mail domain of an account, or a row of "
            "usage.account_map",
        )
    if counts["before_created"]:
        warn(
            "before_account",
            f"{counts['before_created']:,} events are dated before their account was created "
            f"(accounts.{created_col})",
            "events on or after the account's creation",
        )
    if counts["future"]:
        warn(
            "clock_skew",
            f"{counts['future']:,} events are dated more than {settings.max_clock_skew_hours:g} "
            "hours in the future (clock skew); they count only once their date has passed",
            "timestamps up to now",
        )
    if bots.height:
        peak = int(bots["peak_per_minute"].to_numpy().max())
        warn(
            "bots",
            f"{bots.height:,} users fire ≥ {settings.bot_events_per_minute:,} events in one minute "
            f"(up to {peak:,}): treated as bots and left out of the features",
            f"fewer than {settings.bot_events_per_minute:,} events a minute per user",
        )
    return problems, counts


def with_behaviour(profile: IcpProfile, crm: CrmData, config: WorkspaceConfig) -> IcpProfile:
    """The profile with its usage section and the statement's behaviour clause (evidence only)."""
    traits = behaviour_traits(
        crm, list(profile.single_traits or []), config.discovery.alpha, config.usage.early_days
    )
    features = [c for c in crm.accounts.columns if c.startswith(PREFIX)]
    notes = [p.message for p in crm.problems if p.code == "usage"]
    section = UsageSection(features=features, behaviour=traits, notes=notes)
    clause = behaviour_clause(traits)
    statement = f"{profile.statement} {clause}".strip() if clause else profile.statement
    return profile.model_copy(update={"usage": section, "statement": statement})


# Parquet of the canonical columns is smaller than the JSON it comes from; this bounds it.
OUTPUT_PER_INPUT_BYTE = 0.6


def convert_usage(events: pl.LazyFrame, source: Path, target: Path) -> Path:
    """Write mapped events to ``target`` (Parquet), streamed, after checking the disk has room.

    Raises
    ------
    IcpError
        The expected output (``OUTPUT_PER_INPUT_BYTE`` × the export's size) does not fit the free
        space of the target's disk; nothing is written.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    expected = int(Path(source).stat().st_size * OUTPUT_PER_INPUT_BYTE)
    free = shutil.disk_usage(target.parent).free
    if expected > free:
        raise IcpError(
            f"{target.name}: converting {Path(source).name} needs about {_size(expected)} and "
            f"{target.parent} has {_size(free)} free; nothing was written (free space, or "
            "write to another disk)"
        )
    with atomic_path(target) as tmp:
        try:
            events.sink_parquet(tmp)
        except pl.exceptions.PolarsError as exc:
            raise IcpError(f"{Path(source).name}: cannot be converted: {exc}") from None
    return target


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} bytes"


@contextlib.contextmanager
def reading(path: Path | str | None, shown: str) -> Iterator[None]:
    """Turn a polars error while streaming the export into one clear SchemaError: the malformed
    JSON line (file and line number) when there is one, else the reader's message."""
    try:
        yield
    except pl.exceptions.PolarsError as exc:
        if path is not None and Path(path).suffix.lower() in JSON_SUFFIXES and Path(path).is_file():
            bad = find_bad_json_line(Path(path))
            if bad is not None:
                raise SchemaError("", [Problem(**{**bad.to_dict(), "file": shown})]) from None  # type: ignore[arg-type]
        raise SchemaError(
            "", [Problem(file=shown, code="unreadable", message=f"cannot be read: {exc}")]
        ) from None
