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

import polars as pl
import pyarrow.csv as pacsv
import tomli_w

from icpkit.atomic import atomic_path, write_text_atomic
from icpkit.config import CONFIG_NAME, WorkspaceConfig, config_from_dict, load_config
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
from icpkit.errors import ConfigError, InsufficientDataError
from icpkit.evaluation.backtest import default_cut_date, split_at
from icpkit.evaluation.validation import ValidationResult, evaluate
from icpkit.lifecycle.diff import ProfileDiff, diff_profiles
from icpkit.lifecycle.drift import DriftResult, drift_report
from icpkit.lifecycle.store import Store, fingerprint
from icpkit.outcomes import Outcomes, compute_outcomes
from icpkit.profile import IcpProfile
from icpkit.report.render import SUFFIX, ReportInput, render
from icpkit.scoring import csv_safe, fit_scorecard_and_tiers, score_file, score_frame
from icpkit.signals import learn_signals, prepare_signals
from icpkit.signals.backtest import backtest_intent
from icpkit.signals.intent import intent_scores, trigger_sentence
from icpkit.signals.priority import prioritize
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
    discovery = find_icp(crm.accounts, labels, config.discovery)
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
    scored = score_frame(profile, crm.accounts)
    result = None
    if validate:
        result = _try_validate(crm, config, costs)
        if result is not None:
            profile = profile.model_copy(update={"validation": result.to_dict()})
    profile = with_signals(profile, crm, config, scored, as_of=as_of, validate=validate)
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
    workspace: Workspace, note: str = "", *, as_of: date | None = None
) -> tuple[int, BuildResult]:
    """Build from the workspace's data and save the result as a new version.

    ``as_of`` builds from what was known on that date only (deals created before it, outcomes as
    they stood then), so a version can be checked later against what happened after it.
    """
    crm = workspace.load()
    if as_of is not None:
        crm, _ = split_at(crm, as_of)
    result = build_icp(crm, workspace.config, as_of=as_of, costs=workspace.costs())
    version = workspace.store.save(
        result.profile.to_json(),
        config_hash=workspace.config.content_hash(),
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


# --- Buying signals and "why now" (issue 15) -------------------------------------------------


@dataclass(frozen=True)
class Priorities:
    """This week's ranked accounts (fit tier x intent), the date intent is scored for, a note."""

    frame: pl.DataFrame
    as_of: date
    note: str = ""


def with_signals(
    profile: IcpProfile,
    crm: CrmData,
    config: WorkspaceConfig,
    scored: pl.DataFrame,
    *,
    as_of: date | None = None,
    validate: bool = True,
) -> IcpProfile:
    """The profile with its signals section (and the out-of-time backtest when validating).

    Signals are compared within the fit tiers just scored; the statement gains the triggers.
    """
    tiers = scored.select("account_id", "tier") if "tier" in scored.columns else None
    section = learn_signals(crm, tiers, config.signals, as_of)
    if section.available and validate:
        section = section.model_copy(update={"backtest": _signals_backtest(crm, config)})
    sentence = trigger_sentence(section) if section.available else ""
    statement = f"{profile.statement} {sentence}".strip() if sentence else profile.statement
    return profile.model_copy(update={"signals": section, "statement": statement})


def _signals_backtest(crm: CrmData, config: WorkspaceConfig) -> dict[str, Any]:
    """Fit + intent vs fit alone after the validation cut, everything learned before it."""
    try:
        cut = _configured_cut(config) or default_cut_date(
            crm.deals, config.validation.holdout_share
        )
        before, _ = split_at(crm, cut)
        built = build_icp(before, config, validate=False)
    except InsufficientDataError as exc:
        return {"available": False, "reason": str(exc)}
    section = built.profile.signals
    if section is None or not section.available or before.signals is None:
        reason = section.reason if section is not None else "no signals before the cut"
        return {"available": False, "reason": reason or "no signals before the cut"}
    fit = score_frame(built.profile, crm.accounts, reasons=False)
    events = prepare_signals(before.signals, crm.accounts, cut)
    intent = intent_scores(section, events, cut, config.signals, crm.accounts["account_id"])
    assert crm.deals is not None
    result = backtest_intent(fit, intent, crm.deals, cut, config.signals.horizon_days)
    return {"available": True, **result}


def intent_for(
    profile: IcpProfile, crm: CrmData, config: WorkspaceConfig, as_of: date | None = None
) -> tuple[pl.DataFrame | None, date, str]:
    """(intent columns per account or None, the date scored for, a note when unavailable)."""
    section = profile.signals
    if section is None or not section.available:
        reason = section.reason if section is not None else "the profile has no signals section"
        return None, as_of or date.today(), f"intent unavailable: {reason}"
    if crm.signals is None:
        return None, as_of or date.today(), "intent unavailable: no signals table was loaded"
    latest = crm.signals["date"].max() if crm.signals.height else None
    day = as_of or min(date.today(), latest if isinstance(latest, date) else date.today())
    events = prepare_signals(crm.signals, crm.accounts, day)
    frame = intent_scores(section, events, day, config.signals, crm.accounts["account_id"])
    return frame, day, "; ".join(events.intake.notes())


def prioritize_accounts(
    workspace: Workspace,
    version: str | int = "latest",
    *,
    as_of: date | None = None,
    top: int | None = None,
) -> Priorities:
    """This week's account list: fit tier, intent score, priority (the matrix) and why now.

    Without usable signals every account is ranked by fit alone and the note says why.
    """
    profile = workspace.store.get(version).profile()
    crm = workspace.load()
    fit = score_frame(profile, crm.accounts, reasons=False)
    intent, day, note = intent_for(profile, crm, workspace.config, as_of)
    if intent is None:
        intent = pl.DataFrame(
            {"account_id": crm.accounts["account_id"].cast(pl.Utf8)}
        ).with_columns(
            intent_score=pl.lit(None, pl.Float64),
            intent=pl.lit("cold"),
            why_now=pl.lit(""),
        )
    frame = prioritize(fit, intent, top)
    return Priorities(frame, day, note)


def add_intent_columns(
    workspace: Workspace, profile: IcpProfile, output: Path, as_of: date | None = None
) -> str:
    """Add intent_score, intent and why_now to a scored file when the workspace has signals.

    Returns a note for the user ('' when the columns were added or signals are not configured).
    """
    if "signals" not in workspace.config.sources:
        return ""
    intent, day, note = intent_for(profile, workspace.load(), workspace.config, as_of)
    if intent is None:
        return note
    csv = output.suffix.lower() == ".csv"
    scored = pl.read_csv(output, infer_schema_length=0) if csv else pl.read_parquet(output)
    if "account_id" not in scored.columns:
        return "intent columns skipped: the scored file has no account_id to match signals to"
    joined = scored.with_columns(pl.col("account_id").cast(pl.Utf8)).join(
        intent.drop("intent_lift"), on="account_id", how="left", maintain_order="left"
    )
    joined = joined.with_columns(
        pl.col("intent_score").fill_null(0.0),
        pl.col("intent").fill_null("cold"),
        pl.col("why_now").fill_null(""),
    )
    write_frame(joined, output)
    return f"intent as of {day}" + (f" ({note})" if note else "")


def write_frame(frame: pl.DataFrame, path: Path) -> Path:
    """Write a result table as CSV (formula-safe) or Parquet, atomically; other suffixes refused."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError(f"{path}: expected a .csv or .parquet output file; got {suffix!r}")
    with atomic_path(Path(path)) as tmp:
        if suffix == ".csv":
            pacsv.write_csv(csv_safe(frame.to_arrow()), str(tmp))
        else:
            frame.write_parquet(tmp)
    return Path(path)
