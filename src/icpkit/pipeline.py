"""The functions every edge calls: build, score, validate, and the workspace around them.

The CLI, the HTTP API and a Python user call the same functions here, so one test covers all.
Nothing here parses arguments or prints; results are plain objects.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import tomli_w

from icpkit.atomic import write_text_atomic
from icpkit.config import (
    CONFIG_NAME,
    IcpPartition,
    WorkspaceConfig,
    config_from_dict,
    load_config,
)
from icpkit.data import (
    CheckReport,
    CrmData,
    GuessResult,
    check_workspace,
    guess_config,
    read_table,
)
from icpkit.data import load_workspace as load_crm
from icpkit.discovery import IcpDiscovery, find_icp
from icpkit.discovery.compare import PartitionIcp, compare_icps
from icpkit.errors import ConfigError, IcpError, InsufficientDataError
from icpkit.evaluation.backtest import default_cut_date, split_at
from icpkit.evaluation.validation import ValidationResult, evaluate
from icpkit.lifecycle.diff import ProfileDiff, diff_profiles
from icpkit.lifecycle.drift import DriftResult, drift_report
from icpkit.lifecycle.store import Store, fingerprint
from icpkit.outcomes import Outcomes, compute_outcomes
from icpkit.profile import IcpProfile
from icpkit.report.render import SUFFIX, ReportInput, render
from icpkit.rules import Condition, Segment, parse_segment
from icpkit.scoring import fit_scorecard_and_tiers, score_file, score_frame
from icpkit.version import VERSION


@dataclass(frozen=True)
class Workspace:
    """A folder with icpkit.toml and the .icpkit/ version store."""

    root: Path
    config: WorkspaceConfig

    @classmethod
    def open(cls, root: Path | str = ".") -> Workspace:
        root = Path(root)
        return cls(root=root, config=load_config(root))

    def load(self) -> CrmData:
        return load_crm(self.config, self.root)

    def check(self) -> CheckReport:
        return check_workspace(self.config, self.root)

    def costs(self) -> pl.DataFrame | None:
        """The acquisition-spend table for CAC (``validation.cost_source``), if configured."""
        source = self.config.validation.cost_source
        return None if source is None else read_table(self.root / source)

    @property
    def store(self) -> Store:
        return Store(self.root)


@dataclass(frozen=True)
class BuildResult:
    """Everything one build produced: the profile and the intermediate results behind it."""

    profile: IcpProfile
    outcomes: Outcomes
    discovery: IcpDiscovery
    scored: pl.DataFrame
    validation: ValidationResult | None


def init_workspace(
    directory: Path,
    preset: str | None = None,
    *,
    workspace: Path | None = None,
    force: bool = False,
) -> GuessResult:
    """Guess the mapping of the files in ``directory`` and write an icpkit.toml.

    The config goes to ``workspace`` (default: ``directory`` itself) with source paths relative to
    it, so a read-only or shared data folder can be used without writing into it.
    """
    directory = Path(directory)
    workspace = Path(workspace) if workspace is not None else directory
    target = workspace / CONFIG_NAME
    if target.exists() and not force:
        raise ConfigError(f"{target} exists already (use --force to overwrite it)")
    guess = guess_config(directory, preset)
    config = _rebase_sources(guess.config, directory, workspace)
    config_from_dict(config, origin="guessed config")  # never write a config we cannot read
    write_text_atomic(target, tomli_w.dumps(config))
    return guess


def _rebase_sources(config: dict[str, Any], directory: Path, workspace: Path) -> dict[str, Any]:
    """Source paths relative to the workspace instead of the data folder."""
    if directory.resolve() == workspace.resolve():
        return config
    sources = {
        table: {
            **source,
            "path": os.path.relpath((directory / source["path"]).resolve(), workspace.resolve()),
        }
        for table, source in config.get("sources", {}).items()
    }
    return {**config, "sources": sources}


def customers(workspace: Workspace) -> Outcomes:
    """Outcomes of every account in the workspace: best, worst, rest, with reasons."""
    return compute_outcomes(workspace.load(), workspace.config.success)


def build_icp(
    crm: CrmData,
    config: WorkspaceConfig,
    *,
    validate: bool = True,
    as_of: date | None = None,
    costs: pl.DataFrame | None = None,
) -> BuildResult:
    """Outcomes → discovery → scorecard → tiers (→ out-of-time validation) → an IcpProfile."""
    outcomes = compute_outcomes(crm, config.success, as_of=as_of)
    labels = outcomes.labels_for(crm.accounts)
    discovery = find_icp(
        crm.accounts, labels, config.discovery, value=_discovery_value(outcomes, crm, config)
    )
    segments = discovery.segments.to_dict().get("segments", [])
    scorecard, tiers = fit_scorecard_and_tiers(
        crm.accounts,
        labels,
        discovery.criteria,
        discovery.disqualifiers,
        config.scoring,
        config.tiers,
        segments=[s["rule"] for s in segments],
        deals=crm.deals,
    )
    profile = IcpProfile(
        name=config.name,
        statement=discovery.statement,
        criteria=discovery.criteria,
        disqualifiers=discovery.disqualifiers,
        success_definition=outcomes.definition(),
        counts=_counts(crm, outcomes),
        single_traits=discovery.single_traits,
        segments=segments,
        scorecard=scorecard,
        tiers=tiers,
        data_quality=_data_quality(crm),
        caveats=[*discovery.caveats, *outcomes.notes],
        provenance=_provenance(crm, config),
    )
    if config.icps:
        profile = profile.model_copy(update={"partitions": compare_partitions(crm, config, as_of)})
    scored = score_frame(profile, crm.accounts)
    result = None
    if validate:
        result = _try_validate(crm, config, costs)
        if result is not None:
            profile = profile.model_copy(update={"validation": result.to_dict()})
    return BuildResult(profile, outcomes, discovery, scored, result)


def score_export(
    workspace: Workspace,
    profile: IcpProfile,
    input_path: Path,
    output_path: Path,
    progress: Any = None,
) -> int:
    """Score a file in the same export format as the workspace's accounts source.

    The file is read, mapped and normalised exactly like the accounts source ("Number of
    Employees" = "51-200" becomes employees = 125.5), then scored. It is held in memory; a
    file already in icpkit's column names streams through ``score_file`` instead.
    """
    accounts = workspace.config.sources.get("accounts")
    if accounts is None:
        raise ConfigError("the workspace has no [sources.accounts] whose mapping could be reused")
    source = accounts.model_copy(update={"path": str(Path(input_path).resolve())})
    config = workspace.config.model_copy(update={"sources": {"accounts": source}})
    mapped = load_crm(config, workspace.root).accounts
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "accounts.parquet"
        mapped.write_parquet(staged)
        return score_file(profile, staged, output_path, progress=progress)


def score_accounts(profile: IcpProfile, frame: Any) -> Any:
    """Fit score, tier and reasons for any account table (pandas in → pandas out; polars too)."""
    return score_frame(profile, frame)


def validate_icp(
    crm: CrmData,
    config: WorkspaceConfig,
    cut: date | None = None,
    *,
    costs: pl.DataFrame | None = None,
) -> ValidationResult:
    """Out-of-time backtest: build from what was known before the cut, measure on deals after it."""
    if crm.deals is None:
        raise InsufficientDataError("a backtest needs a deals table with dates")
    cut = (
        cut
        or _configured_cut(config)
        or default_cut_date(crm.deals, config.validation.holdout_share)
    )
    before, after = split_at(crm, cut)
    built = build_icp(before, config, validate=False)
    scored = score_frame(built.profile, crm.accounts, reasons=False)
    return evaluate(scored, after, costs=costs, cut=cut, profile=built.profile)


def build_and_save(
    workspace: Workspace, note: str = "", *, as_of: date | None = None, by: str | None = None
) -> tuple[int, BuildResult]:
    """Build from the workspace's data and save the result as a new version.

    ``as_of`` builds from what was known on that date only (deals created before it, outcomes as
    they stood then), so a version can be checked later against what happened after it. ``by``
    also builds one ICP per value of that accounts column and compares them (``[[icps]]``).
    """
    crm = workspace.load()
    if as_of is not None:
        crm, _ = split_at(crm, as_of)
    config = workspace.config
    if by:
        config = config.model_copy(update={"icps": partitions_by(crm.accounts, by)})
    result = build_icp(crm, config, as_of=as_of, costs=workspace.costs())
    version = workspace.store.save(
        result.profile.to_json(),
        config_hash=config.content_hash(),
        fingerprint=fingerprint(crm),
        validation=result.profile.validation,
        note=note,
    )
    return version, result


def diff_versions(workspace: Workspace, a: str | int, b: str | int) -> ProfileDiff:
    """What changed from version ``a`` to ``b``, with the tier migration of today's accounts."""
    profile_a = workspace.store.get(a).profile()
    profile_b = workspace.store.get(b).profile()
    accounts = workspace.load().accounts
    tiers_a = score_frame(profile_a, accounts, reasons=False).select("account_id", "tier")
    tiers_b = score_frame(profile_b, accounts, reasons=False).select("account_id", "tier")
    return diff_profiles(
        profile_a,
        profile_b,
        tiers_a,
        tiers_b,
        label_a=f"v{workspace.store.get(a).version}",
        label_b=f"v{workspace.store.get(b).version}",
    )


def drift_check(
    workspace: Workspace,
    version: str | int = "latest",
    against: Path | None = None,
    *,
    now: date | None = None,
) -> DriftResult:
    """Keep, review or rebuild: population drift, tier decay on deals since the build, age.

    The training side is the data as it stood at the version's data date; the current side is a
    prospect list (``against``) or today's accounts, and the deals created since that date.
    """
    profile = workspace.store.get(version).profile()
    crm = workspace.load()
    built_on = date.fromisoformat(str(profile.success_definition.get("as_of")))
    before, after = split_at(crm, built_on + timedelta(days=1))
    current = read_table(against) if against is not None else crm.accounts
    tiers = score_frame(profile, crm.accounts, reasons=False).select("account_id", "tier")
    recent = _scored_deals(after, tiers)
    train = _scored_deals(before, tiers)
    return drift_report(
        profile,
        before.accounts,
        current,
        recent if recent is not None and recent.height else None,
        train_scored_deals=train,
        now=now,
    )


def render_report(
    workspace: Workspace,
    version: str | int = "latest",
    fmt: str = "html",
    output: Path | None = None,
) -> Path:
    """Render a saved version with its changelog against the version saved before it.

    The default output is ``<workspace>/reports/icp-v<N>.<format>``. The changelog is computed
    here, so the report only renders.
    """
    if fmt not in SUFFIX:
        raise ConfigError(f"unknown report format {fmt!r} (expected one of {', '.join(SUFFIX)})")
    stored = workspace.store.get(version)
    profile = stored.profile()
    earlier = [info.version for info in workspace.store.list() if info.version < stored.version]
    changelog = None
    if earlier:
        previous = workspace.store.get(max(earlier)).profile()
        changelog = diff_profiles(
            previous, profile, label_a=f"v{max(earlier)}", label_b=f"v{stored.version}"
        ).to_text()
    report = ReportInput(
        profile=profile, version=stored.version, version_note=stored.note, diff_text=changelog
    )
    target = output or workspace.root / "reports" / f"icp-v{stored.version}{SUFFIX[fmt]}"
    return render(report, fmt, target)


def _scored_deals(crm: CrmData, tiers: pl.DataFrame) -> pl.DataFrame | None:
    if crm.deals is None:
        return None
    deals = crm.deals.join(tiers, on="account_id", how="inner")
    return deals.join(crm.accounts, on="account_id", how="left", suffix="_account")


def _try_validate(
    crm: CrmData, config: WorkspaceConfig, costs: pl.DataFrame | None
) -> ValidationResult | None:
    """The backtest when the data allows one; a build without dated deals is still a build."""
    if crm.deals is None or "created_at" not in crm.deals.columns:
        return None
    try:
        return validate_icp(crm, config, costs=costs)
    except InsufficientDataError:
        return None


# --- several ICPs side by side ([[icps]], build --by) -------------------------------------------


_MAX_PARTITIONS = 12  # more ICPs side by side stop being readable (and each needs evidence)


def partitions_by(accounts: pl.DataFrame, column: str) -> list[IcpPartition]:
    """One partition per value of an accounts column, most accounts first (``build --by``)."""
    if column not in accounts.columns:
        raise ConfigError(
            f"--by {column}: the accounts table has no such column "
            f"(columns: {', '.join(accounts.columns)})"
        )
    series = accounts.get_column(column)
    if isinstance(series.dtype, pl.List) or series.dtype.is_float():
        raise ConfigError(
            f"--by {column}: partitions need a column with a few distinct values (a region, "
            f"product line or segment); for a numeric band write [[icps]] with a range rule"
        )
    counts = series.drop_nulls().value_counts(sort=True)
    if counts.height > _MAX_PARTITIONS:
        raise ConfigError(
            f"--by {column}: {counts.height} distinct values; side-by-side ICPs need at most "
            f"{_MAX_PARTITIONS} (group them with [[icps]] rules such as {column} in ('A', 'B'))"
        )
    return [
        IcpPartition(name=str(level), where=str(Segment((Condition(column, "eq", level),))))
        for level in counts.get_column(column).to_list()
    ]


def compare_partitions(
    crm: CrmData, config: WorkspaceConfig, as_of: date | None = None
) -> dict[str, Any]:
    """Outcomes and discovery for each ``[[icps]]`` partition, and their comparison.

    Each partition ranks its own accounts (best and worst within the partition) and runs the same
    discovery; a partition too small for that says so instead of failing the build.
    """
    parts = []
    for icp in config.icps:
        try:
            segment = parse_segment(icp.where)
        except IcpError as exc:
            raise ConfigError(f"icps {icp.name!r}: where = {icp.where!r}: {exc}") from None
        sub = _crm_subset(crm, segment.mask(crm.accounts))
        outcomes = compute_outcomes(sub, config.success, as_of=as_of)
        labels = outcomes.labels_for(sub.accounts)
        try:
            found = find_icp(
                sub.accounts,
                labels,
                config.discovery,
                value=_discovery_value(outcomes, sub, config),
            )
        except InsufficientDataError as exc:
            parts.append(
                PartitionIcp(icp.name, icp.where, sub.accounts, labels, note=f"too small: {exc}")
            )
            continue
        parts.append(
            PartitionIcp(
                icp.name,
                icp.where,
                sub.accounts,
                labels,
                statement=found.statement,
                criteria=[c.model_dump(mode="json") for c in found.criteria],
                disqualifiers=[d.model_dump(mode="json") for d in found.disqualifiers],
            )
        )
    return compare_icps(parts, config.discovery.alpha)


def _crm_subset(crm: CrmData, keep: np.ndarray) -> CrmData:
    """The CRM of some accounts only: their rows in every table with an account_id."""
    accounts = crm.accounts.filter(pl.Series(keep))
    ids = accounts.get_column("account_id")

    def of(frame: pl.DataFrame | None) -> pl.DataFrame | None:
        if frame is None or "account_id" not in frame.columns:
            return frame
        return frame.filter(pl.col("account_id").is_in(ids.implode()))

    return CrmData(
        accounts=accounts,
        deals=of(crm.deals),
        subscriptions=of(crm.subscriptions),
        contacts=of(crm.contacts),
        notes=of(crm.notes),
        signals=of(crm.signals),
        problems=list(crm.problems),
        sources=dict(crm.sources),
    )


def _discovery_value(
    outcomes: Outcomes, crm: CrmData, config: WorkspaceConfig
) -> np.ndarray | None:
    """The outcome metric ``discovery.value`` per account, for ``quality = 'mean_shift'``."""
    if config.discovery.quality != "mean_shift":
        return None
    name = config.discovery.value
    frame = outcomes.frame
    if name not in frame.columns or not frame.schema[name].is_numeric():
        numeric = [c for c, t in frame.schema.items() if t.is_numeric() and c != "rank"]
        raise ConfigError(
            f"discovery.value = {name!r} is not a numeric outcome metric of this workspace; "
            f"available: {', '.join(numeric) or 'none'}"
        )
    joined = crm.accounts.select("account_id").join(
        frame.select("account_id", name), on="account_id", how="left", maintain_order="left"
    )
    return joined[name].cast(pl.Float64).fill_nan(None).fill_null(0.0).to_numpy()


def _configured_cut(config: WorkspaceConfig) -> date | None:
    text = config.validation.cut_date
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"validation.cut_date: {text!r} is not a date (expected YYYY-MM-DD)"
        ) from None


def _counts(crm: CrmData, outcomes: Outcomes) -> dict[str, int]:
    counts = {f"n_{k}": v for k, v in outcomes.counts().items()}
    counts["n_accounts"] = crm.accounts.height
    for name, frame in crm.frames().items():
        if name != "accounts":
            counts[f"n_{name}"] = frame.height
    return counts


def _data_quality(crm: CrmData) -> dict[str, Any]:
    warnings = [str(p) for p in crm.problems if p.severity == "warning"]
    return {
        "warnings": warnings[:200],
        "n_warnings": len(warnings),
        "tables": {k: v.height for k, v in crm.frames().items()},
        "missing_tables": crm.missing(),
    }


def _provenance(crm: CrmData, config: WorkspaceConfig) -> dict[str, Any]:
    return {
        "icpkit_version": VERSION,
        "config_hash": config.content_hash(),
        "sources": dict(crm.sources),
        "fingerprint": fingerprint(crm),
    }
