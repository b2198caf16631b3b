"""The functions every edge calls: build, score, validate, and the workspace around them.

The CLI, the HTTP API and a Python user call the same functions here, so one test covers all.
Nothing here parses arguments or prints; results are plain objects.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import tomli_w

from icpkit.atomic import write_text_atomic
from icpkit.config import (
    CONFIG_NAME,
    IcpPartition,
    PersonasConfig,
    WorkspaceConfig,
    config_from_dict,
    load_config,
)
from icpkit.data import (
    CheckReport,
    CrmData,
    GuessResult,
    guess_config,
    read_table,
)
from icpkit.data import load_workspace as load_crm
from icpkit.data.attributes import choose_attributes, fate_order
from icpkit.data.frames import as_polars
from icpkit.data.guard import screen_attributes
from icpkit.data.load import check_and_load
from icpkit.data.mapping import closest_column
from icpkit.data.paths import resolve_source
from icpkit.data.prospects import ProspectColumns, kinds_of_frame
from icpkit.data.readers import read_batches
from icpkit.data.writers import write_table
from icpkit.discovery import IcpDiscovery, find_icp
from icpkit.discovery.compare import PartitionIcp, compare_icps
from icpkit.errors import ConfigError, IcpError, InsufficientDataError, SchemaError
from icpkit.evaluation.backtest import default_cut_date, split_at, stratified_folds
from icpkit.evaluation.validation import evaluate, with_held_out
from icpkit.lifecycle import experiment
from icpkit.lifecycle.audit import current_user
from icpkit.lifecycle.audit import record as audit_record
from icpkit.lifecycle.diff import ProfileDiff, diff_profiles
from icpkit.lifecycle.drift import DriftResult, drift_report
from icpkit.lifecycle.experiment import ExperimentPlan, ExperimentReport
from icpkit.lifecycle.store import Store, fingerprint
from icpkit.outcomes import Outcomes, compute_outcomes
from icpkit.personas.analysis import find_personas
from icpkit.personas.hygiene import TitleFileResult, classify_file, workspace_lexicon
from icpkit.personas.missing import held_personas, personas_missing
from icpkit.profile import (
    ColumnFate,
    DataQualitySection,
    ExcludedAttribute,
    IcpProfile,
    MessagingSection,
    PartitionsSection,
    PqaCheck,
    Provenance,
    ReportedSegment,
    SignalsBacktest,
    SuccessDefinition,
    TableFingerprint,
    ValidationSection,
)
from icpkit.rules import Condition, Segment, parse_segment
from icpkit.scoring import fit_scorecard_and_tiers, score_file, score_frame
from icpkit.scoring.bands import BandScale
from icpkit.scoring.bulk import MAX_COLUMNS, score_rows
from icpkit.scoring.learn import choose_target
from icpkit.scoring.tiers import forcing_disqualifiers
from icpkit.signals import learn_signals, prepare_signals
from icpkit.signals.backtest import backtest_intent
from icpkit.signals.intent import intent_scores, trigger_sentence
from icpkit.signals.priority import prioritize
from icpkit.themes.analysis import ThemeAnalysis, find_themes
from icpkit.themes.messaging import build_messaging
from icpkit.themes.summary import themes_section
from icpkit.timing import StepClock
from icpkit.usage.build import check_usage, load_usage, reading, with_behaviour, with_usage
from icpkit.usage.features import UsageFeatures, seats_of, usage_features
from icpkit.usage.pqa import HORIZON_DAYS as PQA_HORIZON
from icpkit.usage.pqa import known_on, pqa_check, pqa_scores
from icpkit.version import VERSION

if TYPE_CHECKING:
    from icpkit.themes.offload import ThemesInBackground


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
        crm = load_crm(self.config, self.root)
        crm = with_enrichment(crm, self.root, self.config)
        # product usage (issue 28): the events export, lazy, mapped onto the (enriched) accounts
        crm.usage = load_usage(self.config, self.root, crm.accounts, crm.contacts)
        if crm.usage is not None:
            crm.sources["usage"] = self.config.usage.path
        return crm

    def check(self) -> CheckReport:
        """Every data problem, plus the columns the leakage/identifier guard would leave out."""
        report, crm = check_and_load(self.config, self.root)
        if crm is None:
            return report
        report = _with_usage_check(report, crm, self.config, self.root)
        order = fate_order(crm.accounts)
        try:
            outcomes = compute_outcomes(crm, self.config.success)
        except IcpError:  # no outcomes yet: nothing to guard against, the rest still shown
            choice = choose_attributes(crm.accounts, self.config.discovery)
            return dataclasses.replace(report, columns=tuple(choice.fates(order)))
        labels = outcomes.labels_for(crm.accounts)
        screening = screen_attributes(crm.accounts, crm.deals, labels, self.config.discovery)
        file = crm.sources.get("accounts", "accounts")
        return dataclasses.replace(
            report,
            problems=(*report.problems, *screening.problems(file)),
            columns=tuple(screening.choice.fates(order)),
        )

    def costs(self) -> pl.DataFrame | None:
        """The acquisition-spend table for CAC (``validation.cost_source``), if configured."""
        source = self.config.validation.cost_source
        if source is None:
            return None
        return read_table(resolve_source(self.config, self.root, source, "validation.cost_source"))

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
    validation: ValidationSection | None


def init_workspace(
    directory: Path,
    preset: str | None = None,
    *,
    workspace: Path | None = None,
    force: bool = False,
    outcome: str | None = None,
) -> GuessResult:
    """Guess the mapping of the files in ``directory`` and write an icpkit.toml.

    The config goes to ``workspace`` (default: ``directory`` itself) with source paths relative to
    it, so a read-only or shared data folder can be used without writing into it. ``outcome``
    names the accounts file's outcome column (a single-table lead or account export).
    """
    directory = Path(directory)
    workspace = Path(workspace) if workspace is not None else directory
    target = workspace / CONFIG_NAME
    if target.exists() and not force:
        raise ConfigError(f"{target} exists already (use --force to overwrite it)")
    guess = guess_config(directory, preset, outcome=outcome)
    config = _rebase_sources(guess.config, directory, workspace)
    config_from_dict(config, origin="guessed config")  # never write a config we cannot read
    write_text_atomic(target, tomli_w.dumps(config))
    return guess


def _rebase_sources(config: dict[str, Any], directory: Path, workspace: Path) -> dict[str, Any]:
    """Source paths relative to the workspace instead of the data folder."""
    if directory.resolve() == workspace.resolve():
        return config
    data_dir = os.path.relpath(directory.resolve(), workspace.resolve())
    sources = {
        table: {
            **source,
            "path": os.path.relpath((directory / source["path"]).resolve(), workspace.resolve()),
        }
        for table, source in config.get("sources", {}).items()
    }
    return {**config, "sources": sources, "data_dirs": [data_dir]}


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
    themes: bool = True,
    root: Path | None = None,
    progress: Callable[[str], None] | None = None,
    clock: StepClock | None = None,
    core_only: bool = False,
) -> BuildResult:
    """Outcomes → discovery → scorecard → tiers (→ out-of-time validation) → an IcpProfile.

    With a notes table (and ``themes``), the profile also gets pain themes and messaging. With a
    contacts table, the buyer personas and buying committee are added (``root`` is the
    workspace folder that relative settings such as ``personas.title_overrides`` are read from).
    ``progress`` is called with each stage's name (:data:`BUILD_STAGES`) as it starts; each
    stage's wall time goes to the profile's ``timings`` (on ``clock`` when the caller started one
    for steps of its own, as :func:`build_and_save` does). ``core_only`` stops after the scorecard
    and tiers (no partitions, signals, themes or personas): what the held-out builds of the
    backtests score with, at a fraction of the time. With ``[build] workers = 2`` the themes of
    a large notes table are found in a second process meanwhile (the same profile).
    """
    with contextlib.ExitStack() as background:  # a second process never outlives the build
        return _build_icp(
            crm, config, validate=validate, as_of=as_of, costs=costs, themes=themes, root=root,
            progress=progress, clock=clock, core_only=core_only, background=background,
        )  # fmt: skip


def _build_icp(
    crm: CrmData,
    config: WorkspaceConfig,
    *,
    validate: bool,
    as_of: date | None,
    costs: pl.DataFrame | None,
    themes: bool,
    root: Path | None,
    progress: Callable[[str], None] | None,
    clock: StepClock | None,
    core_only: bool,
    background: contextlib.ExitStack,
) -> BuildResult:
    clock = clock or StepClock(progress)
    step = clock.step
    # product usage (issue 28): behavioural features as of each account's first outcome, and
    # usage surges/drops as signals; a no-op without a usage table
    crm = with_usage(crm, config.usage, as_of)
    step("outcomes")
    outcomes = compute_outcomes(crm, config.success, as_of=as_of)
    labels = outcomes.labels_for(crm.accounts)
    pending = None if core_only or not themes else _themes_in_background(crm, config, outcomes)
    if pending is not None:
        background.callback(pending.close)
    # one attribute choice for discovery and scorecard: personal data, dates, leakage guard
    step("guard")
    screening = screen_attributes(crm.accounts, crm.deals, labels, config.discovery)
    step("discovery")
    discovery = find_icp(
        crm.accounts, labels, screening.settings, value=_discovery_value(outcomes, crm, config)
    )
    segments = [ReportedSegment.model_validate(s.to_dict()) for s in discovery.segments.segments]
    # only disqualifiers with enough evidence may override the score; weaker ones subtract points
    disqualifiers = forcing_disqualifiers(
        discovery.disqualifiers, config.tiers.disqualifier_evidence, config.discovery.alpha
    )
    # which target the numbers mean: configured, or 'won' for a binary outcome (a lead list)
    target = choose_target(config.scoring.target, crm.deals)
    scoring = config.scoring.model_copy(update={"target": target.target})
    step("scorecard")
    scorecard, tiers = fit_scorecard_and_tiers(
        crm.accounts,
        labels,
        discovery.criteria,
        disqualifiers,
        scoring,
        config.tiers,
        segments=[s.rule for s in segments],
        deals=crm.deals,
        discovery=screening.settings,
    )
    profile = IcpProfile(
        name=config.name,
        statement=discovery.statement,
        criteria=discovery.criteria,
        disqualifiers=disqualifiers,
        success_definition=SuccessDefinition.model_validate(
            {**outcomes.definition(), "scoring_target": target}
        ),
        counts=_counts(crm, outcomes),
        single_traits=discovery.single_traits,
        segments=segments,
        scorecard=scorecard,
        tiers=tiers,
        data_quality=_data_quality(crm),
        caveats=[*discovery.caveats, *outcomes.notes, *screening.caveats()],
        provenance=_provenance(crm, config),
        excluded_attributes=[ExcludedAttribute.model_validate(e) for e in screening.excluded()],
        column_fates=[
            ColumnFate(**f.to_dict()) for f in screening.choice.fates(fate_order(crm.accounts))
        ],
    )
    if core_only:
        step("scoring")
        scored = score_frame(profile, crm.accounts)
        return BuildResult(
            profile.model_copy(update={"timings": clock.section()}), outcomes, discovery, scored,
            None,
        )  # fmt: skip
    if crm.usage is not None:  # product usage: the behaviour clause, from evidence only
        profile = with_behaviour(profile, crm, config)
    if config.icps:
        step("partitions")
        profile = profile.model_copy(update={"partitions": compare_partitions(crm, config, as_of)})
    step("scoring")
    scored = score_frame(profile, crm.accounts)
    result = None
    held_out: _HeldOutBuilds = {}  # the backtest and the signals backtest cut at the same date
    if validate:
        step("validation")
        result, dropped = _try_validate(crm, config, costs, reuse=held_out)
        profile = with_held_out(profile, result, dropped)
    step("signals")
    profile = with_signals(
        profile, crm, config, scored, as_of=as_of, validate=validate, reuse=held_out
    )
    # after signals: the themes' statement ends with the triggers signals learned
    if themes:
        step("themes")
        profile = _with_themes(profile, crm, config, outcomes, scored, pending)
        if pending is not None and pending.done is not None:
            clock.beside("themes", pending.done.seconds, pending.done.peak_rss_mb)
    step("personas")
    profile = _with_personas(profile, crm, config, scored, root)
    profile = profile.model_copy(update={"timings": clock.section()})
    return BuildResult(profile, outcomes, discovery, scored, result)


def score_export(
    workspace: Workspace,
    profile: IcpProfile,
    input_path: Path,
    output_path: Path,
    progress: Any = None,
    *,
    max_columns: int = MAX_COLUMNS,
    missing: Callable[[list[str]], None] | None = None,
    annotations: tuple[Any, ...] = (),
    bands: BandScale | None = None,
) -> int:
    """Score a file in the same export format as the workspace's accounts source (``--map``).

    Columns are found under the export's own names through the accounts source's mapping, and
    read with its delimiter, encoding and date format; the export's columns are written back
    untouched, with icpkit's columns appended, so the file can be imported again.
    """
    accounts = workspace.config.sources.get("accounts")
    if accounts is None:
        raise ConfigError("the workspace has no [sources.accounts] whose mapping could be reused")
    return score_file(
        profile,
        input_path,
        output_path,
        progress=progress,
        source=accounts,
        preset=workspace.config.preset,
        max_columns=max_columns,
        missing=missing,
        annotations=annotations,
        bands=bands or band_scale(workspace),
    )


def score_accounts(
    profile: IcpProfile,
    data: Any,
    *,
    workspace: Workspace | None = None,
    contacts: Path | str | pl.DataFrame | None = None,
) -> Any:
    """Fit score, tier, reasons and points for any account table or file.

    ``data`` is a polars or pandas DataFrame (the same type comes back) or the path of a CSV,
    Parquet or Excel file (a polars frame comes back). Its cells are typed exactly as
    ``icpkit score`` types them ('51-200' employees, '$12.5M' revenue, tag cells, dates), so the
    same rows scored here and through the CLI get identical scores. With ``workspace``, columns
    are found through its accounts source's mapping, as ``icpkit score --map`` does, and when the
    workspace has signals the ``intent_score``, ``intent`` and ``why_now`` columns are added as
    ``icpkit score`` adds them; with ``contacts`` (a file or a frame with account_id and title),
    ``personas_missing`` too.
    """
    source = preset = None
    if workspace is not None:
        source = workspace.config.sources.get("accounts")
        preset = workspace.config.preset
    if isinstance(data, str | Path):
        frame = read_table(
            data,
            sheet=source.sheet if source else None,
            delimiter=source.delimiter if source else None,
            encoding=source.encoding if source else None,
        )
        origin, back = str(data), None
    else:
        (frame, back), origin = as_polars(data), "input"
    people = Path(contacts) if isinstance(contacts, str) else contacts
    annotations, _ = score_annotations(
        workspace, profile, frame.columns, contacts=people, mapped=workspace is not None
    )
    scored = score_rows(
        profile, frame, source=source, preset=preset, origin=origin, annotations=annotations,
        bands=band_scale(workspace),
    )  # fmt: skip
    return scored if back is None else back(scored)


def band_scale(workspace: Workspace | None) -> BandScale:
    """The workspace's ``[bands]`` scale of ``calibrated_score`` / ``fit_band`` (MadKudu's when
    there is no workspace)."""
    return BandScale.from_config(workspace.config.bands if workspace is not None else None)


def validate_icp(
    crm: CrmData,
    config: WorkspaceConfig,
    cut: date | None = None,
    *,
    costs: pl.DataFrame | None = None,
    reuse: _HeldOutBuilds | None = None,
) -> ValidationSection:
    """Out-of-time backtest: build from what was known before the cut, measure on deals after it.

    ``reuse`` keeps the build before each cut, for the signals backtest of the same build.
    """
    if crm.deals is None:
        raise InsufficientDataError("a backtest needs a deals table with dates")
    cut = (
        cut
        or _configured_cut(config)
        or default_cut_date(crm.deals, config.validation.holdout_share)
    )
    _, after = split_at(crm, cut)
    _, built = _built_before(crm, config, cut, reuse)
    scored = score_frame(built.profile, crm.accounts, reasons=False)
    return evaluate(scored, after, costs=costs, cut=cut, profile=built.profile)


def build_and_save(
    workspace: Workspace,
    note: str = "",
    *,
    as_of: date | None = None,
    by: str | None = None,
    progress: Callable[[str], None] | None = None,
    candidate: bool = False,
    who: str | None = None,
) -> tuple[int, BuildResult]:
    """Build from the workspace's data and save the result as a new version.

    A plain build becomes the version in use at once (what scoring, the server and exports
    follow); ``candidate=True`` stores it beside the live one for the promotion gate or
    ``icpkit promote`` (``icpkit build --candidate``). The build is written to the audit log as
    ``who`` (an API key's name; default the OS user).

    ``as_of`` builds from what was known on that date only (deals created before it, outcomes as
    they stood then), so a version can be checked later against what happened after it. ``by``
    also builds one ICP per value of that accounts column and compares them (``[[icps]]``).
    Reps' feedback on earlier versions (``.icpkit/feedback.jsonl``) is summarised into the
    profile's ``feedback`` section. ``progress`` gets each stage's name (:data:`BUILD_STAGES`).
    """
    clock = StepClock(progress)
    step = clock.step
    workspace.store.check_writable()  # a read-only workspace is refused before a long build
    step("loading")
    crm = workspace.load()
    if as_of is not None:
        crm, _ = split_at(crm, as_of)
    config = workspace.config
    if by:
        config = config.model_copy(update={"icps": partitions_by(crm.accounts, by)})
    result = build_icp(
        crm, config, as_of=as_of, costs=workspace.costs(), root=workspace.root, clock=clock
    )
    step("feedback")
    result = with_feedback(result, workspace, crm, as_of=as_of)
    step("saving")
    stored = result.profile.model_copy(update={"timings": clock.section(close=False)})
    version = workspace.store.save(
        stored.to_json(),
        config_hash=config.content_hash(),
        fingerprint=fingerprint(crm),
        validation=None if result.validation is None else result.validation.to_dict(),
        note=note,
        candidate=candidate,
        data_until=data_until(crm),
        who=who or current_user(),
        config_json=config.model_dump_json(exclude={"web", "alerts", "refresh", "lookalikes"}),
    )
    kind = "candidate" if candidate else "version in use"
    audit_record(
        workspace.root, "build", f"built v{version} ({kind}) from {crm.accounts.height} accounts",
        version=version, who=who, details={"candidate": candidate, "as_of": as_of, "by": by},
    )  # fmt: skip
    # the saving step is known only now: in the returned profile (icp-profile.json), not the store
    return version, dataclasses.replace(
        result, profile=result.profile.model_copy(update={"timings": clock.section()})
    )


def data_until(crm: CrmData) -> str | None:
    """The last day of data a build saw: the newest deal's created_at (ISO), or None."""
    deals = crm.deals
    if deals is None or "created_at" not in deals.columns or deals.height == 0:
        return None
    newest = deals["created_at"].max()
    if isinstance(newest, datetime):
        newest = newest.date()
    return newest.isoformat() if isinstance(newest, date) else None


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
    if profile.success_definition.as_of is None:  # a hand-written spec: no data date
        raise InsufficientDataError(
            "this version has no data date (a hand-written spec): drift is measured from the "
            "data a build learned from; build from data to check drift"
        )
    built_on = date.fromisoformat(str(profile.success_definition.as_of))
    before, after = split_at(crm, built_on + timedelta(days=1))
    current = crm.accounts
    if against is not None:  # typed like the accounts, through the accounts source's mapping
        raw = read_table(against)
        columns = ProspectColumns.resolve(
            raw.columns,
            kinds_of_frame(before.accounts),
            source=workspace.config.sources.get("accounts"),
            preset=workspace.config.preset,
            file=str(against),
            required=False,
        )
        # a column the file does not have is not comparable (not "all missing")
        current = columns.normalise(raw).drop(list(columns.absent), strict=False)
        if current.height == 0:
            raise InsufficientDataError(
                f"{against}: the prospect list has no rows; nothing to compare"
            )
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
        settings=workspace.config.drift,
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
    from icpkit.report.render import SUFFIX, ReportInput, render  # jinja2: not needed by a build

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
    from icpkit.enrich.store import load_market
    from icpkit.enrich.store import load_summary as load_enrichment
    from icpkit.lifecycle.store import STORE_DIR
    from icpkit.lookalikes.runinfo import load_summary

    report = ReportInput(
        profile=profile, version=stored.version, version_note=stored.note, diff_text=changelog,
        lookalikes=load_summary(workspace.root / STORE_DIR),  # "Where to find more"
        enrichment=load_enrichment(workspace.root), market=load_market(workspace.root),
        enrichment_examples=tuple(enrichment_examples(workspace)),
    )  # fmt: skip
    target = output or workspace.root / "reports" / f"icp-v{stored.version}{SUFFIX[fmt]}"
    return render(report, fmt, target)


def _scored_deals(crm: CrmData, tiers: pl.DataFrame) -> pl.DataFrame | None:
    if crm.deals is None:
        return None
    deals = crm.deals.join(tiers, on="account_id", how="inner")
    return deals.join(crm.accounts, on="account_id", how="left", suffix="_account")


def _try_validate(
    crm: CrmData,
    config: WorkspaceConfig,
    costs: pl.DataFrame | None,
    *,
    reuse: _HeldOutBuilds | None = None,
) -> tuple[ValidationSection | None, list[str]]:
    """The held-out test the data allows, and in words what could not be done and why.

    Out-of-time first (deals after a cut date). When the dates cannot support it (no deals table,
    every deal on one date, too few dated closed deals) or it leaves no won-vs-lost contrast to
    measure, a stratified cross-validated estimate instead (``validation.cv_folds``), which every
    report names as such. A build without either is still a build; the notes say so out loud.
    """
    notes: list[str] = []
    result: ValidationSection | None = None
    if crm.deals is None or "created_at" not in crm.deals.columns:
        why = "no deals table" if crm.deals is None else "the deals have no created_at dates"
        notes.append(f"out-of-time backtest not possible: {why}")
    else:
        try:
            result = validate_icp(crm, config, costs=costs, reuse=reuse)
        except InsufficientDataError as exc:
            notes.append(f"out-of-time backtest dropped: {exc.message}")
    if result is not None and (result.verdict is None or result.verdict.status != "missing"):
        return result, []
    if result is not None:
        notes.append(
            "out-of-time backtest gave no verdict: "
            + "; ".join(result.verdict.reasons if result.verdict is not None else [])
        )
    if config.validation.cv_folds < 2:
        notes.append("no cross-validated estimate either (validation.cv_folds < 2)")
        return result, notes
    try:
        cv = cross_validate_icp(crm, config, costs=costs)
    except InsufficientDataError as exc:
        notes.append(f"cross-validated estimate not possible: {exc.message}")
        return result, notes
    caveats = ("the held-out figures are cross-validated, not out-of-time", *cv.caveats)
    # the dropped out-of-time backtest is said out loud: in the profile's caveats (build output)
    return cv.model_copy(update={"caveats": list(caveats)}), notes


# The core builds before a cut date, by date: the out-of-time backtest and the signals backtest of
# one build cut the same data at the same date, so the second reuses the first's build.
_HeldOutBuilds = dict[date, tuple[CrmData, "BuildResult"]]


def _built_before(
    crm: CrmData, config: WorkspaceConfig, cut: date, reuse: _HeldOutBuilds | None
) -> tuple[CrmData, BuildResult]:
    """The data before ``cut`` and the core build from it (from ``reuse`` when it has them)."""
    if reuse is not None and cut in reuse:
        return reuse[cut]
    before, _ = split_at(crm, cut)
    built = build_icp(before, config, validate=False, core_only=True)
    if reuse is not None:
        reuse[cut] = (before, built)
    return before, built


def cross_validate_icp(
    crm: CrmData, config: WorkspaceConfig, *, costs: pl.DataFrame | None = None
) -> ValidationSection:
    """A stratified k-fold estimate: every ranked account scored by an ICP built without it.

    Folds are stratified by the best label and fixed by a hash of the account id (row order never
    matters). Each fold's ICP is built from the other folds' accounts and their deals only, then
    scores the held-out accounts. With won and lost deals the pooled held-out scores are measured
    on those deals exactly like the out-of-time backtest; without (no deals table, or every deal
    won) each ranked account counts once, 'won' meaning labelled best by the success score.
    """
    k = config.validation.cv_folds
    outcomes = compute_outcomes(crm, config.success)
    ranked = outcomes.to_frame().filter(pl.col("label") != "unranked").select("account_id", "label")
    is_best = ranked["label"] == "best"
    n_best = int(is_best.sum())
    if min(n_best, ranked.height - n_best) < 2 * k:
        raise InsufficientDataError(
            f"{k}-fold cross-validation needs at least {2 * k} best and {2 * k} other ranked "
            f"accounts; found {n_best} and {ranked.height - n_best}"
        )
    folds = ranked.with_columns(
        stratified_folds(ranked["account_id"], is_best, k, config.discovery.seed).alias("_fold")
    )
    parts = []
    for fold in range(k):
        held = folds.filter(pl.col("_fold") == fold).select("account_id")
        train = _without_accounts(crm, held)
        built = build_icp(train, config, validate=False, core_only=True)
        held_accounts = crm.accounts.join(held, on="account_id", how="semi")
        parts.append(
            score_frame(built.profile, held_accounts, reasons=False).select(
                "account_id", "fit_score", "fit_probability", "tier"
            )
        )
    scored = pl.concat(parts)
    deals = crm.deals
    closed = (
        deals.filter(pl.col("stage").is_in(["won", "lost"]))["stage"]
        if deals is not None and "stage" in deals.columns
        else pl.Series([], dtype=pl.Utf8)
    )
    if closed.n_unique() == 2:
        return evaluate(
            scored, crm, costs=costs, method="cross-validated", outcome="won vs lost deals"
        )
    pseudo = ranked.select(
        "account_id",
        pl.col("account_id").cast(pl.Utf8).alias("deal_id"),
        pl.when(pl.col("label") == "best")
        .then(pl.lit("won"))
        .otherwise(pl.lit("lost"))
        .alias("stage"),
    )
    labelled = CrmData(accounts=crm.accounts, deals=pseudo)
    return evaluate(
        scored,
        labelled,
        method="cross-validated",
        outcome="best vs the rest by success score (one per account)",
    )


def _without_accounts(crm: CrmData, held: pl.DataFrame) -> CrmData:
    """The CRM without the held-out accounts and every row of theirs in the other tables."""
    frames = {
        name: frame.join(held, on="account_id", how="anti")
        if "account_id" in frame.columns
        else frame
        for name, frame in crm.frames().items()
    }
    return CrmData(**frames, problems=list(crm.problems), sources=dict(crm.sources))


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
) -> PartitionsSection:
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
                criteria=found.criteria,
                disqualifiers=found.disqualifiers,
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
    frame = outcomes.to_frame()
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


def _data_quality(crm: CrmData) -> DataQualitySection:
    warnings = [str(p) for p in crm.problems if p.severity == "warning"]
    return DataQualitySection(
        warnings=warnings[:200],
        n_warnings=len(warnings),
        tables={k: v.height for k, v in crm.frames().items()},
        missing_tables=crm.missing(),
    )


def _provenance(crm: CrmData, config: WorkspaceConfig) -> Provenance:
    return Provenance(
        icpkit_version=VERSION,
        config_hash=config.content_hash(),
        sources=dict(crm.sources),
        fingerprint={k: TableFingerprint.model_validate(v) for k, v in fingerprint(crm).items()},
    )


def _sql_export(
    workspace: Workspace | None,
    table: str,
    dialect: str,
    *,
    version: str | int,
    spec: Path | None,
    id_column: str,
    tags: str,
) -> tuple[Any, dict[str, str | int]]:
    """The SqlExport of a version (or a hand-written spec) and its dbt meta (the ICP version)."""
    from icpkit.export import scorecard_sql
    from icpkit.scoring import load_spec

    if spec is not None:
        profile, number = load_spec(spec), None
    elif workspace is not None:
        stored = workspace.store.get(version)
        profile, number = stored.profile(), stored.version
    else:
        raise ConfigError("export sql needs a workspace with a built version, or --spec")
    if tags not in ("auto", "array", "delimited"):
        raise ConfigError(f"--tags must be auto, array or delimited; got {tags!r}")
    export = scorecard_sql(
        profile, table, dialect, id_column=id_column, tags=tags,  # type: ignore[arg-type]
        bands=band_scale(workspace),
    )  # fmt: skip
    meta: dict[str, str | int] = {
        "icp_version": number if number is not None else "hand-written",
        "icpkit_version": VERSION,
    }
    return export, meta


def export_sql(
    workspace: Workspace | None,
    table: str,
    dialect: str,
    *,
    version: str | int = "latest",
    spec: Path | None = None,
    id_column: str = "account_id",
    tags: str = "auto",
    dbt: bool = False,
) -> str:
    """The scorecard of a version (or a hand-written spec) as one SELECT over ``table``.

    With ``dbt`` the text is a dbt model file (``{{ config(...) }}`` header with the ICP version,
    the table read through ``source()`` or ``ref()``) rather than a bare query; ``export_dbt``
    writes it with its schema.yml and sources.yml.
    """
    export, meta = _sql_export(
        workspace, table, dialect, version=version, spec=spec, id_column=id_column, tags=tags
    )
    return export.dbt_model(meta) if dbt else export.sql + "\n"


def export_dbt(
    workspace: Workspace | None,
    table: str,
    dialect: str,
    folder: Path,
    *,
    version: str | int = "latest",
    spec: Path | None = None,
    id_column: str = "account_id",
    tags: str = "auto",
    model: str = "icp_score",
) -> list[Path]:
    """The dbt package of the scorecard in ``folder``: ``<model>.sql``, ``schema.yml`` with
    column descriptions and tests, ``sources.yml`` for a schema-qualified table
    (:mod:`icpkit.export.dbt`). Returns the files written."""
    from icpkit.export.dbt import write_dbt_package

    export, meta = _sql_export(
        workspace, table, dialect, version=version, spec=spec, id_column=id_column, tags=tags
    )
    return write_dbt_package(export, Path(folder), model=model, meta=meta)


def score_on_spark(
    profile: IcpProfile,
    source: str,
    output: Path,
    *,
    master: str = "local[*]",
    workspace: Workspace | None = None,
) -> int:
    """Score ``source`` on Spark with the same batch function as local scoring (see
    engines.spark); with ``workspace``, columns are found through its accounts mapping (--map)."""
    from icpkit.engines.spark import score_spark

    mapping = workspace.config.sources.get("accounts") if workspace is not None else None
    if workspace is not None and mapping is None:
        raise ConfigError("the workspace has no [sources.accounts] whose mapping could be reused")
    preset = workspace.config.preset if workspace is not None else None
    return score_spark(
        profile, source, output, master=master, mapping=mapping, preset=preset,
        bands=band_scale(workspace),
    )  # fmt: skip


def _check_universe_names(columns: dict[str, str], profile: IcpProfile) -> None:
    """Refuse a ``--columns`` name that is neither an accounts column nor an attribute the
    profile reads: it would map a column to nothing, and the attribute meant would silently
    score as missing."""
    from icpkit.data.model import SCHEMA
    from icpkit.scoring.apply import ScoringPlan

    known = {*SCHEMA["accounts"], *ScoringPlan.from_profile(profile).columns}
    unknown = [name for name in columns if name not in known]
    if unknown:
        near = {n: closest_column(n, sorted(known)) for n in unknown}
        hints = "; ".join(f"{n} ~ {m!r}" for n, m in near.items() if m)
        raise ConfigError(
            f"--columns maps {unknown} which the profile does not read and accounts do not "
            f"have" + (f" (closest: {hints})" if hints else "") + "; the names on the left of "
            "'=' are icpkit's attribute names"
        )


def find_targets(
    workspace: Workspace,
    universe_path: Path,
    output: Path,
    *,
    version: str | int = "latest",
    top: int = 500,
    map_columns: bool = False,
    columns: dict[str, str] | None = None,
    include_customers: bool = False,
    show_names: bool = False,
    index: str | None = None,
) -> Any:
    """Rank a company universe against a version's ICP and write the targets (CSV or Parquet).

    The universe is read like an accounts source: with ``map_columns`` through the workspace's own
    accounts mapping, with ``columns`` (canonical → file column) through that mapping, otherwise as
    a file already in icpkit's column names (a Parquet file of that kind is streamed in batches).
    ``index`` ("exact" or "ann") overrides the workspace's ``lookalikes.index``.
    Returns the :class:`~icpkit.lookalikes.Lookalikes` result (the list and its summary).
    """
    import pyarrow.parquet as pq

    from icpkit.config import SourceConfig
    from icpkit.lookalikes import rank_universe

    stored = workspace.store.get(version)
    profile = stored.profile()
    crm = workspace.load()
    universe_path = Path(universe_path)
    if not universe_path.exists():
        raise ConfigError(f"{universe_path}: no such universe file")
    if universe_path.resolve() == Path(output).resolve():
        raise ConfigError(
            f"{output}: the output would replace the universe file; choose another -o"
        )
    frames: Any
    if universe_path.suffix.lower() == ".parquet" and not map_columns and not columns:
        from icpkit.lookalikes.dedup import Rereadable

        batch_rows = workspace.config.lookalikes.batch_rows

        def batches() -> Any:  # re-readable: the aliases of early duplicates are fetched again
            # pre_buffer keeps every row group's bytes until the reader closes: memory grew with
            # the file
            reader = pq.ParquetFile(universe_path, pre_buffer=False)
            return (pl.from_arrow(batch) for batch in reader.iter_batches(batch_size=batch_rows))

        frames = Rereadable(batches)
    else:
        accounts = workspace.config.sources.get("accounts")
        if map_columns and accounts is None:
            raise ConfigError(
                "--map needs a workspace whose [sources.accounts] mapping can be reused"
            )
        base = accounts if map_columns and accounts is not None else SourceConfig(path="")
        update: dict[str, Any] = {"path": str(universe_path.resolve())}
        if columns:
            _check_universe_names(columns, profile)
            update["columns"] = {**base.columns, **columns}
        source = base.model_copy(update=update)
        # the universe is a file the user named on the command line, not a workspace source
        config = workspace.config.model_copy(
            update={"sources": {"accounts": source}, "allow_outside_workspace": True}
        )
        frames = load_crm(config, workspace.root).accounts
    settings = workspace.config.lookalikes
    result = rank_universe(
        profile, frames, crm, top=top, include_customers=include_customers,
        show_names=show_names, index=index or settings.index, nlist=settings.nlist,
        nprobe=settings.nprobe, batch_rows=settings.batch_rows,
        text_weight=settings.text_weight, text_neighbours=settings.text_neighbours,
    )  # fmt: skip
    write_table(result.frame, output, list_separator="; ")
    # --- the report's "Where to find more" (lookalikes.runinfo) ---
    from icpkit.lifecycle.store import STORE_DIR
    from icpkit.lookalikes.runinfo import run_summary, save_summary

    summary = run_summary(
        result, universe=str(universe_path), output=str(output), version=stored.version, top=top
    )
    save_summary(workspace.root / STORE_DIR, summary)
    return result


# --- pain themes and messaging (icpkit.themes) ---


@dataclass(frozen=True)
class ThemesResult:
    """Themes of the notes and the messaging assembled from them."""

    analysis: ThemeAnalysis
    messaging: MessagingSection

    def profile_sections(self) -> dict[str, Any]:
        """The profile's ``themes`` and ``messaging`` fields."""
        return {
            "themes": themes_section(self.analysis),
            "messaging": self.messaging,
        }


def pain_themes(
    crm: CrmData,
    config: WorkspaceConfig,
    outcomes: Outcomes,
    scored: pl.DataFrame | None = None,
    statement: str = "",
    triggers: list[str] | None = None,
    analysis: ThemeAnalysis | None = None,
) -> ThemesResult:
    """Themes of ``crm.notes`` tested against outcomes, and messaging per tier and persona.

    ``triggers`` are "why now" events (from signals) for the statement; None says not enough
    evidence. ``analysis`` is :func:`find_themes`' result when it was found already (in a second
    process). Raises InsufficientDataError without a notes table or with under 10 usable notes.
    """
    if crm.notes is None:
        raise InsufficientDataError(
            "themes need a notes table (add [sources.notes] to icpkit.toml)"
        )
    if analysis is None:
        analysis = find_themes(crm.notes, outcomes.to_frame(), _contact_names(crm), config.themes)
    first = (
        statement.split(". Avoid ")[0].rstrip(".") + "."
        if statement
        else "Our ideal customer is not yet clear from the data."
    )
    accounts = scored if scored is not None else crm.accounts
    messaging = build_messaging(
        analysis, first, outcomes.to_frame(), accounts, crm.contacts, crm.notes, triggers
    )
    return ThemesResult(analysis, messaging)


def _contact_names(crm: CrmData) -> list[str] | None:
    """The contacts' names, which themes keep out of quotes and keywords (None: no names)."""
    if crm.contacts is not None and "name" in crm.contacts.columns:
        return list(crm.contacts["name"].drop_nulls().cast(pl.Utf8).to_list())
    return None


def workspace_themes(workspace: Workspace) -> ThemesResult:
    """Themes of a workspace's notes; tiers and statement from the latest saved version if any."""
    crm = workspace.load()
    outcomes = compute_outcomes(crm, workspace.config.success)
    scored, statement = None, ""
    if workspace.store.list():
        profile = workspace.store.latest().profile()
        scored, statement = score_frame(profile, crm.accounts, reasons=False), profile.statement
    return pain_themes(crm, workspace.config, outcomes, scored, statement)


def _signal_triggers(profile: IcpProfile) -> list[str] | None:
    """The learned triggers ("they raise funding (effect half-life 31 days)") for the statement
    that themes complete, or None when signals taught nothing."""
    if profile.signals is None:
        return None
    sentence = trigger_sentence(profile.signals)
    prefix = "They typically start searching when "
    return [sentence.removeprefix(prefix).rstrip(".")] if sentence.startswith(prefix) else None


def _with_themes(
    profile: IcpProfile,
    crm: CrmData,
    config: WorkspaceConfig,
    outcomes: Outcomes,
    scored: pl.DataFrame,
    pending: ThemesInBackground | None = None,
) -> IcpProfile:
    """The profile with themes and messaging when notes allow; else a caveat says why not.

    ``pending``: the themes being found in a second process (:func:`_themes_in_background`).
    """
    if crm.notes is None or not config.themes.enabled:
        return profile
    try:
        analysis = None if pending is None else pending.result().analysis
        found = pain_themes(
            crm, config, outcomes, scored, profile.statement, triggers=_signal_triggers(profile),
            analysis=analysis,
        )  # fmt: skip
    except InsufficientDataError as exc:
        return profile.model_copy(
            update={"caveats": [*profile.caveats, f"No themes: {exc.message}"]}
        )
    return profile.model_copy(update=found.profile_sections())


def _themes_in_background(
    crm: CrmData, config: WorkspaceConfig, outcomes: Outcomes
) -> ThemesInBackground | None:
    """The themes started in a second process when ``[build] workers = 2``, the machine has a
    second CPU and the notes are many enough to be worth it; else None (found in this one)."""
    notes = crm.notes
    if notes is None or not config.themes.enabled or config.build.workers < 2:
        return None
    from icpkit.themes.offload import ThemesInBackground, usable_cpus  # only large builds

    if notes.height < config.build.parallel_min_notes or usable_cpus() < 2:
        return None
    return ThemesInBackground(notes, outcomes.to_frame(), _contact_names(crm), config.themes)


# ---------------------------------------------------------------------------------------------
# Personas: job titles → function × seniority (issue 13)


def classify_title_file(
    input_path: Path,
    output_path: Path,
    column: str | None = None,
    workspace: Workspace | None = None,
) -> TitleFileResult:
    """Add function, seniority and confidence to a contacts file (the workspace's overrides apply)."""
    config = workspace.config.personas if workspace is not None else PersonasConfig()
    lexicon = workspace_lexicon(config, workspace.root if workspace is not None else None)
    return classify_file(
        input_path, output_path, column, lexicon=lexicon, min_confidence=config.min_confidence
    )


def _with_personas(
    profile: IcpProfile,
    crm: CrmData,
    config: WorkspaceConfig,
    scored: pl.DataFrame,
    root: Path | None,
) -> IcpProfile:
    """The profile with its personas section when contacts and deals allow one, else a caveat."""
    if crm.contacts is None or crm.deals is None:
        return profile
    lexicon = workspace_lexicon(config.personas, root)
    try:
        section = find_personas(
            crm.contacts, crm.deals, scored.select("account_id", "tier"), config.personas, lexicon
        )
    except InsufficientDataError as exc:
        return profile.model_copy(
            update={"caveats": [*profile.caveats, f"Personas not analysed: {exc}"]}
        )
    return profile.model_copy(update={"personas": section})


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
    reuse: _HeldOutBuilds | None = None,
) -> IcpProfile:
    """The profile with its signals section (and the out-of-time backtest when validating).

    Signals are compared within the fit tiers just scored; the statement gains the triggers.
    """
    tiers = scored.select("account_id", "tier") if "tier" in scored.columns else None
    section = learn_signals(crm, tiers, config.signals, as_of)
    if section.available and validate:
        backtest = _signals_backtest(crm, config, reuse)
        section = section.model_copy(update={"backtest": backtest})
    sentence = trigger_sentence(section) if section.available else ""
    statement = f"{profile.statement} {sentence}".strip() if sentence else profile.statement
    return profile.model_copy(update={"signals": section, "statement": statement})


def _signals_backtest(
    crm: CrmData, config: WorkspaceConfig, reuse: _HeldOutBuilds | None = None
) -> SignalsBacktest:
    """Fit + intent vs fit alone after the validation cut, everything learned before it (the
    build before the cut is the backtest's own when ``reuse`` holds it: same data, same cut)."""
    try:
        cut = _configured_cut(config) or default_cut_date(
            crm.deals, config.validation.holdout_share
        )
        # the scorecard and the signals learned before the cut; themes and personas play no part
        before, built = _built_before(crm, config, cut, reuse)
        section = with_signals(built.profile, before, config, built.scored, validate=False).signals
    except InsufficientDataError as exc:
        return SignalsBacktest(available=False, reason=str(exc))
    if section is None or not section.available or before.signals is None:
        reason = section.reason if section is not None else "no signals before the cut"
        return SignalsBacktest(available=False, reason=reason or "no signals before the cut")
    fit = score_frame(built.profile, crm.accounts, reasons=False)
    events = prepare_signals(before.signals, crm.accounts, cut)
    intent = intent_scores(section, events, cut, config.signals, crm.accounts["account_id"])
    assert crm.deals is not None
    result = backtest_intent(fit, intent, crm.deals, cut, config.signals.horizon_days)
    return SignalsBacktest.model_validate({"available": True, **result})


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
    return frame, day, "; ".join(events.intake.notes)


def prioritize_accounts(
    workspace: Workspace,
    version: str | int = "latest",
    *,
    as_of: date | None = None,
    top: int | None = None,
) -> Priorities:
    """This week's account list: name, domain, fit tier, intent score, priority (the matrix)
    and why now (the web's worklist adds owner, territory and filters: :mod:`icpkit.worklist`).

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
    from icpkit.worklist import with_names

    frame = with_names(prioritize(fit, intent, top), crm.accounts)
    return Priorities(frame, day, note)


@dataclass(frozen=True)
class IntentColumns:
    """``intent_score``, ``intent`` and ``why_now`` of each row of a batch, looked up by account
    id in the workspace's intent (bounded by its accounts, not by the file being scored)."""

    intent: pl.DataFrame  # account_id (text), intent_score, intent, why_now: one row per account
    id_column: str = "account_id"
    names: tuple[str, ...] = ("intent_score", "intent", "why_now")

    def __call__(self, batch: Any) -> Any:
        ids = _batch_ids(batch, self.id_column)
        joined = ids.join(self.intent, on="account_id", how="left", maintain_order="left")
        return joined.select(
            pl.col("intent_score").fill_null(0.0),
            pl.col("intent").fill_null("cold"),
            pl.col("why_now").fill_null(""),
        ).to_arrow()


@dataclass(frozen=True)
class PersonasColumns:
    """``personas_missing`` of each row of a batch, from contacts classified once."""

    section: Any  # PersonasSection | None
    held: pl.DataFrame
    id_column: str = "account_id"
    names: tuple[str, ...] = ("personas_missing",)
    gaps: list[int] = dataclasses.field(default_factory=list, compare=False)  # per batch

    def __call__(self, batch: Any) -> Any:
        ids = _batch_ids(batch, self.id_column)
        empty = pl.DataFrame(schema={"account_id": pl.Utf8, "title": pl.Utf8})
        column = personas_missing(ids, empty, self.section, held=self.held)
        self.gaps.append(int((column != "").sum()))
        return pl.DataFrame([column]).to_arrow()

    @property
    def accounts_missing(self) -> int:
        """Accounts scored so far that miss at least one winning persona."""
        return sum(self.gaps)


def _batch_ids(batch: Any, column: str) -> pl.DataFrame:
    """A batch's account ids as one text column ``account_id`` (a polars or Arrow batch)."""
    values = batch[column] if isinstance(batch, pl.DataFrame) else pl.Series(batch.column(column))
    return pl.DataFrame({"account_id": values.cast(pl.Utf8)})


def score_annotations(
    workspace: Workspace | None,
    profile: IcpProfile,
    columns: list[str] | Path,
    *,
    contacts: Path | pl.DataFrame | None = None,
    mapped: bool = False,
    as_of: date | None = None,
) -> tuple[tuple[Any, ...], list[str]]:
    """The per-batch columns ``score`` adds beside the score, and notes for the user: intent
    when the workspace has signals, ``personas_missing`` with ``contacts``. ``columns`` is the
    header of the file to score (its account id is found there, through the accounts mapping
    when ``mapped``), or the file itself (its header is read)."""
    wanted = (
        workspace is not None and "signals" in workspace.config.sources
    ) or contacts is not None
    if not wanted:
        return (), []
    if isinstance(columns, Path):
        source = workspace.config.sources.get("accounts") if workspace and mapped else None
        columns = read_batches(
            columns,
            sheet=source.sheet if source else None,
            delimiter=source.delimiter if source else None,
            encoding=source.encoding if source else None,
            batch_rows=1,
        ).columns
    id_column = "account_id"
    if mapped and workspace is not None:
        accounts = workspace.config.sources.get("accounts")
        if accounts is not None and "account_id" not in columns:
            id_column = accounts.columns.get("account_id", "account_id")
    found = id_column in columns
    annotations: list[Any] = []
    notes: list[str] = []
    if workspace is not None and "signals" in workspace.config.sources:
        intent, day, note = intent_for(profile, workspace.load(), workspace.config, as_of)
        if intent is None:
            notes.append(note)
        elif not found:
            notes.append("intent columns skipped: the file has no account_id to match signals to")
        else:
            frame = intent.select(
                pl.col("account_id").cast(pl.Utf8), "intent_score", "intent", "why_now"
            ).unique(subset="account_id", keep="first", maintain_order=True)
            annotations.append(IntentColumns(frame, id_column))
            notes.append(f"intent as of {day}" + (f" ({note})" if note else ""))
    if contacts is not None:
        people = contacts if isinstance(contacts, pl.DataFrame) else read_table(contacts)
        if "account_id" not in people.columns:
            raise SchemaError(
                f"{contacts if not isinstance(contacts, pl.DataFrame) else 'contacts'}: contacts "
                f"need an account_id column to be matched to accounts (columns found: "
                f"{people.columns[:30]})"
            )
        if not found:
            raise SchemaError(
                f"personas_missing needs the accounts' {id_column} column to match contacts to "
                f"(columns found: {columns[:30]})"
            )
        config = workspace.config.personas if workspace is not None else PersonasConfig()
        lexicon = workspace_lexicon(config, workspace.root if workspace is not None else None)
        people = people.with_columns(pl.col("account_id").cast(pl.Utf8))
        held = held_personas(people, lexicon, config.min_confidence)
        annotations.append(PersonasColumns(profile.personas, held, id_column))
    return tuple(annotations), notes


def write_frame(frame: pl.DataFrame, path: Path) -> Path:
    """Write a result table as CSV or Excel (formula-safe) or Parquet, atomically (the one
    table writer, ``icpkit.data.writers``); other suffixes refused."""
    return write_table(frame, path)


def export_crm(
    workspace: Workspace,
    crm: str,
    output: Path,
    *,
    version: str | int = "latest",
    key: str = "domain",
    external_id: str | None = None,
    id_property: str | None = None,
) -> Any:
    """Write-back files for HubSpot or Salesforce: every workspace account with its ICP tier,
    fit score, reasons and version, plus the custom property / field definitions to create.
    Salesforce rows are keyed by Account Id, or with ``external_id`` by that external ID field.

    Returns the :class:`~icpkit.export.crm.CrmExport` (files written, rows, rows left out and why).
    """
    from icpkit.export.crm import HUBSPOT_ID_PROPERTY, hubspot_files, salesforce_files

    stored = workspace.store.get(version)
    scale = band_scale(workspace)
    scored = score_frame(stored.profile(), workspace.load().accounts, bands=scale)
    if crm == "hubspot":
        return hubspot_files(
            scored, stored.version, output, key=key,  # type: ignore[arg-type]
            id_property=id_property or HUBSPOT_ID_PROPERTY, bands=scale.names,
        )  # fmt: skip
    if crm == "salesforce":
        return salesforce_files(
            scored, stored.version, output, external_id=external_id, bands=scale.names
        )
    raise ConfigError(f"unknown CRM {crm!r} (expected hubspot or salesforce)")


def push_hubspot(
    workspace: Workspace,
    folder: Path,
    *,
    token: str | None = None,
    dry_run: bool = False,
    id_property: str | None = None,
    base_url: str | None = None,
    version: str | int = "latest",
    max_wait: float | None = None,
    only: Collection[str] | None = None,
    who: str | None = None,
    create: bool = False,
    transport: Any = None,
) -> dict[str, Any]:
    """Export the HubSpot files into ``folder``, build the CRM v3 batch requests, and send them
    (resumably, logged in ``folder/push-log.jsonl``) unless ``dry_run``, which writes them.
    ``max_wait``: the longest Retry-After obeyed, in seconds (default 120). ``only``: push just
    these account ids (``icpkit refresh`` sends the rows whose tier or score changed).

    Companies are updated (batch update by Record ID, or by the unique ``id_property``); only
    ``create`` upserts (batch upsert by ``id_property``), creating the companies no value
    matches. ``transport``: an httpx transport instead of the network (tests)."""
    from icpkit.export.http import DEFAULT_MAX_WAIT
    from icpkit.export.push import CREATE_NEEDS_KEY, HUBSPOT, deliver, hubspot_requests

    key = "record-id" if id_property is None else "account-id"
    if create and not id_property:  # before anything is written
        raise ConfigError(CREATE_NEEDS_KEY)
    export = export_crm(
        workspace, "hubspot", folder, version=version, key=key, id_property=id_property
    )
    companies = _only_rows(
        pl.read_csv(folder / "hubspot-companies.csv", infer_schema_length=0), only
    )
    requests = hubspot_requests(companies, id_property=id_property, create=create)
    needs = "set HUBSPOT_TOKEN (a private app token) to push, or use --dry-run"
    summary = {
        "rows": companies.height,
        "left_out": export.skipped,
        **deliver(requests, folder, crm=HUBSPOT, token=token, base_url=base_url,
                  dry_run=dry_run, needs=needs,
                  max_wait=DEFAULT_MAX_WAIT if max_wait is None else max_wait,
                  transport=transport),
    }  # fmt: skip
    _audit_push(workspace, "HubSpot", summary, version, dry_run, who)
    return summary


def _only_rows(table: pl.DataFrame, only: Collection[str] | None) -> pl.DataFrame:
    """The rows whose key (the first column: a record id or account_id) is in ``only``."""
    if only is None:
        return table
    return table.filter(pl.col(table.columns[0]).is_in(list(only)))


def _audit_push(
    workspace: Workspace,
    crm: str,
    summary: dict[str, Any],
    version: str | int,
    dry_run: bool,
    who: str | None,
) -> None:
    """One audit line per push that sent something (a dry run sends nothing)."""
    if dry_run:
        return
    refused = len(summary.get("failed") or [])
    audit_record(
        workspace.root, "push",
        f"pushed {summary['rows']} rows to {crm}: {summary.get('sent', 0)} batches sent, "
        f"{refused} records refused",
        version=workspace.store.get(version).version, who=who,
        details={"crm": crm, "rows": summary["rows"], "sent": summary.get("sent", 0),
                 "refused": refused},
    )  # fmt: skip


def push_salesforce(
    workspace: Workspace,
    folder: Path,
    *,
    token: str | None = None,
    instance_url: str | None = None,
    dry_run: bool = False,
    external_id: str | None = None,
    version: str | int = "latest",
    max_wait: float | None = None,
    only: Collection[str] | None = None,
    who: str | None = None,
) -> dict[str, Any]:
    """Export the Salesforce files into ``folder``, build the sObject Collections requests (update
    by Account Id, or upsert by the ``external_id`` field) and send them to ``instance_url``
    (resumably, logged in ``folder/push-log.jsonl``) unless ``dry_run``, which writes them.
    ``max_wait``: the longest Retry-After obeyed, in seconds (default 120).

    The summary's ``failed`` lists the records Salesforce refused, by account id and status code.
    """
    from icpkit.export.http import DEFAULT_MAX_WAIT
    from icpkit.export.push import SALESFORCE, deliver, salesforce_requests

    export = export_crm(workspace, "salesforce", folder, version=version, external_id=external_id)
    accounts = _only_rows(
        pl.read_csv(folder / "salesforce-accounts.csv", infer_schema_length=0), only
    )
    requests = salesforce_requests(accounts, external_id=external_id)
    needs = (
        "set SALESFORCE_INSTANCE_URL (https://<MyDomain>.my.salesforce.com) and "
        "SALESFORCE_ACCESS_TOKEN (an OAuth access token) to push, or use --dry-run"
    )
    if instance_url and not instance_url.startswith(("https://", "http://")):
        raise ConfigError(
            f"the Salesforce instance URL must start with https://; got {instance_url!r}"
        )
    summary = {
        "rows": accounts.height,
        "left_out": export.skipped,
        **deliver(requests, folder, crm=SALESFORCE, token=token, base_url=instance_url,
                  dry_run=dry_run, needs=needs,
                  max_wait=DEFAULT_MAX_WAIT if max_wait is None else max_wait),
    }  # fmt: skip
    _audit_push(workspace, "Salesforce", summary, version, dry_run, who)
    return summary


# --- Feedback from the field and build progress (issue 17) -----------------------------------

# The stages of `build_and_save`, in order, as passed to its ``progress`` callback.
BUILD_STAGES: tuple[str, ...] = (
    "loading", "outcomes", "guard", "discovery", "scorecard", "partitions", "scoring",
    "validation", "signals", "themes", "personas", "feedback", "saving",
)  # fmt: skip


def feedback_summary(
    workspace: Workspace, crm: CrmData | None = None, *, as_of: date | None = None
) -> Any:
    """Reps' feedback of a workspace summarised (a FeedbackSection), or None without any."""
    from icpkit.lifecycle.feedback import FeedbackLog, summarize

    entries, warnings = FeedbackLog(workspace.root).read()
    if not entries:
        return None
    deals = (crm if crm is not None else workspace.load()).deals
    return summarize(entries, deals, warnings=warnings, as_of=as_of)


def with_feedback(
    result: BuildResult, workspace: Workspace, crm: CrmData, *, as_of: date | None = None
) -> BuildResult:
    """The build with its profile's ``feedback`` section (unchanged when nobody gave feedback)."""
    section = feedback_summary(workspace, crm, as_of=as_of)
    if section is None:
        return result
    profile = result.profile.model_copy(update={"feedback": section})
    return dataclasses.replace(result, profile=profile)


# ----------------------------------------------------------------------------- holdout experiment


def start_experiment(
    workspace: Workspace,
    version: str | int = "latest",
    *,
    holdout_share: float = 0.1,
    start: date | None = None,
    seed: int | None = None,
    min_lift: float = 0.2,
    alpha: float = 0.05,
    power: float = 0.8,
    include_customers: bool = False,
    dry_run: bool = False,
    replace: bool = False,
) -> tuple[ExperimentPlan, pl.DataFrame]:
    """Plan a holdout experiment on the version's Tier 1/2 accounts and (unless ``dry_run``) store it.

    Returns the plan and the write-back rows (account_id, name, domain, tier, icp_experiment_arm).
    """
    stored = workspace.store.get(version)
    crm = workspace.load()
    scored = score_frame(stored.profile(), crm.accounts, reasons=False)
    day = start or date.today()
    plan, assignments = experiment.start_experiment(
        scored,
        crm.deals,
        start=day,
        holdout_share=holdout_share,
        seed=seed,
        version=stored.version,
        include_customers=include_customers,
        min_lift=min_lift,
        alpha=alpha,
        power=power,
    )
    if not dry_run:
        experiment.save_experiment(workspace.root, plan, assignments, replace=replace)
        audit_record(
            workspace.root,
            "experiment",
            f"experiment {plan.experiment_id} started: {plan.holdout} of {plan.accounts} "
            f"Tier 1/2 accounts held out",
            version=plan.version,
            details={"accounts": plan.accounts, "holdout": plan.holdout},
        )
    return plan, experiment.writeback_frame(assignments, crm.accounts)


def experiment_report(workspace: Workspace, as_of: date | None = None) -> ExperimentReport:
    """Read out the workspace's experiment on its current deals (default: up to the latest deal day)."""
    plan, assignments = experiment.load_experiment(workspace.root)
    deals = workspace.load().deals
    if as_of is None:
        as_of = _latest_deal_day(deals) or plan.started_on
        as_of = max(plan.started_on, min(as_of, plan.stopped_on or date.today()))
    return experiment.experiment_report(plan, assignments, deals, as_of)


def _latest_deal_day(deals: pl.DataFrame | None) -> date | None:
    if deals is None or deals.height == 0:
        return None
    days = [deals[c].max() for c in ("created_at", "closed_at") if c in deals.columns]
    known = [d for d in days if isinstance(d, date)]
    return max(known) if known else None


# --- enrichment and market size (icpkit.enrich, issue 29) ---


def with_enrichment(crm: CrmData, root: Path, config: WorkspaceConfig) -> CrmData:
    """The CRM with the stored enrichment laid over the accounts (``enrich.apply``) and duplicate
    accounts folded (``enrich.fold_duplicates``); unchanged when the workspace was never enriched."""
    from icpkit.enrich.store import FOLDER, apply_enrichment, fold_duplicates

    if not (root / FOLDER).exists():
        return crm
    if config.enrich.apply:
        crm = dataclasses.replace(crm, accounts=apply_enrichment(crm.accounts, root))
    if config.enrich.fold_duplicates:
        crm = fold_duplicates(crm, root, config.enrich.threshold)
    return crm


def enrich_workspace(
    workspace: Workspace,
    universes: list[Path] | None = None,
    *,
    overwrite: bool | None = None,
    threshold: float | None = None,
) -> Any:
    """Link the workspace's accounts to the universes (waterfall order), fill missing
    firmographics, find duplicate accounts, and keep it all in ``.icpkit/enrich/``.

    Returns the :class:`~icpkit.enrich.Enrichment` (its ``summary`` is what `check` shows).
    """
    from icpkit.enrich import enrich_accounts, find_duplicates, read_universe
    from icpkit.enrich.store import save_enrichment

    settings = workspace.config.enrich
    paths = [Path(p) for p in (universes or [])] or [
        resolve_source(workspace.config, workspace.root, p, "enrich.universes")
        for p in settings.universes
    ]
    if not paths:
        raise ConfigError(
            "no universe to enrich from: pass --universe FILE or set enrich.universes in icpkit.toml"
        )
    for path in paths:
        if not path.exists():
            raise ConfigError(f"{path}: no such universe file")
    read = [read_universe(p) for p in paths]
    names = [u.name for u in read]
    for i, name in enumerate(names):  # two files with one stem: tell them apart in provenance
        if names.count(name) > 1:
            read[i] = dataclasses.replace(read[i], name=f"{name} ({i + 1})")
    crm = load_crm(workspace.config, workspace.root)
    cut = settings.threshold if threshold is None else threshold
    result = enrich_accounts(
        crm.accounts, read, threshold=cut, fields=list(settings.fields),
        overwrite=settings.overwrite if overwrite is None else overwrite,
        industry_map=settings.industry_map,
    )  # fmt: skip
    duplicates = find_duplicates(crm.accounts, cut)
    result = dataclasses.replace(
        result, summary=result.summary.model_copy(update={"duplicates": duplicates})
    )
    save_enrichment(workspace.root, result)
    return result


def enrichment_lines(workspace: Workspace) -> list[str]:
    """What `check` says about the stored enrichment: the waterfall's fill rates, conflicts and
    duplicates, with each source named ('industry: +412 from FinanceDatabase')."""
    from icpkit.enrich.store import load_summary

    summary = load_summary(workspace.root)
    if summary is None:
        return []
    applied = "applied" if workspace.config.enrich.apply else "not applied (enrich.apply = false)"
    lines = [f"Enrichment ({summary.at[:10]}, match ≥ {summary.threshold:.2f}, {applied}):"]
    for source in summary.sources:
        filled = ", ".join(f"{f} +{n:,}" for f, n in source.filled.items() if n)
        lines.append(
            f"  {source.universe}: {source.matched:,} of {summary.accounts:,} accounts matched "
            f"({source.match_rate:.0%}); filled {filled or 'nothing'}"
        )
    for field in summary.fill_after:
        lines.append(
            f"  {field}: filled {summary.fill_before[field]:.0%} → {summary.fill_after[field]:.0%}"
        )
    if summary.n_conflicts:
        lines.append(f"  {summary.n_conflicts:,} conflicting values (first source kept), e.g.:")
        for c in summary.conflicts[:3]:
            lines.append(
                f"    {c.account_id} {c.field}: kept {c.kept!r} ({c.kept_from}), "
                f"not {c.other!r} ({c.other_from})"
            )
    if summary.duplicates:
        fold = "folded by build" if workspace.config.enrich.fold_duplicates else "not folded"
        lines.append(f"  {len(summary.duplicates):,} duplicate account pairs ({fold}), e.g.:")
        for d in summary.duplicates[:3]:
            lines.append(
                f"    {d.account_id} = {d.duplicate_id} (match {d.probability:.2f}: {d.evidence})"
            )
    return lines


def enrichment_summary(workspace: Workspace) -> dict[str, Any] | None:
    """The last enrichment run as JSON data (for `check --json`), or None."""
    from icpkit.enrich.store import load_summary

    summary = load_summary(workspace.root)
    return None if summary is None else summary.model_dump(mode="json")


def enrichment_examples(workspace: Workspace, per_field: int = 1) -> list[str]:
    """A filled value per field with its provenance ('industry: from FinanceDatabase (record
    AALB.AS), match 0.97, 2026-12-07'), for the report; values themselves are not shown."""
    from icpkit.enrich.store import load_provenance, provenance_label

    prov = load_provenance(workspace.root)
    if prov is None or prov.height == 0:
        return []
    picked = (
        prov.sort(["field", "account_id"]).group_by("field", maintain_order=True).head(per_field)
    )
    return [f"account {r['account_id']}: {provenance_label(r)}" for r in picked.to_dicts()]


def account_enrichment(workspace: Workspace, account_id: str) -> list[dict[str, Any]]:
    """One account's enriched values with their provenance (the account page and API)."""
    from icpkit.enrich.store import account_provenance

    return account_provenance(workspace.root, account_id)


def market_workspace(
    workspace: Workspace,
    universe_path: Path,
    *,
    version: str | int = "latest",
    seed: int = 0,
) -> Any:
    """The size of the market in a universe file under a version's ICP (``profile.MarketSize``)."""
    from icpkit.enrich.fill import industry_mapper
    from icpkit.enrich.link import best_matches, linkage_frame, predict_pairs
    from icpkit.enrich.market import market_size
    from icpkit.enrich.universe import read_universe
    from icpkit.scoring.apply import ScoringPlan

    universe_path = Path(universe_path)
    if not universe_path.exists():
        raise ConfigError(f"{universe_path}: no such universe file")
    stored = workspace.store.get(version)
    profile = stored.profile()
    crm = workspace.load()
    raw = read_table(universe_path)
    universe = read_universe(universe_path, frame=raw)
    canon = universe.frame
    vocab = (  # least frequent first: of two spellings of one word, the commoner is kept
        crm.accounts["industry"]
        .drop_nulls()
        .cast(pl.Utf8)
        .value_counts(sort=True)["industry"]
        .reverse()
        .to_list()
    )
    to_vocab, _ = industry_mapper(vocab, workspace.config.enrich.industry_map)
    mapped = [to_vocab(v) if vocab else v for v in canon["industry"].to_list()]
    frame = raw.with_columns(
        *[
            canon[c]
            for c in ("country", "employees", "annual_revenue", "founded_year")
            if canon[c].null_count() < canon.height
        ],
        pl.Series("industry", mapped, dtype=pl.Utf8),
    )
    need = ScoringPlan.from_profile(profile).columns
    missing = [c for c in need if c not in frame.columns]
    frame = frame.with_columns([pl.lit(None, dtype=pl.Utf8).alias(c) for c in missing])
    scored = score_rows(profile, frame, reasons=False, origin=str(universe_path))
    crm_tiers = score_frame(profile, crm.accounts, reasons=False).select("account_id", "tier")
    deals = (
        crm.deals
        if crm.deals is not None
        else pl.DataFrame(schema={"account_id": pl.Utf8, "stage": pl.Utf8})
    )
    won = deals.filter(pl.col("stage") == "won")["account_id"].cast(pl.Utf8).unique()
    customers = crm.accounts.filter(pl.col("account_id").cast(pl.Utf8).is_in(won.implode()))
    is_customer = pl.repeat(False, canon.height, eager=True)
    if customers.height:
        pairs, _ = predict_pairs(
            linkage_frame(customers, "account_id", "crm"),
            linkage_frame(canon, "record_id", "universe"),
        )
        matched = best_matches(pairs, workspace.config.enrich.threshold)["id_r"]
        is_customer = canon["record_id"].is_in(matched.implode())
    table = scored.select("tier").with_columns(
        canon["country"].alias("country"),
        pl.Series("industry", mapped, dtype=pl.Utf8),
        is_customer.alias("is_customer"),
    )
    result = market_size(
        table, crm_tiers, deals, universe_name=universe.name, version=stored.version,
        currency=workspace.config.currency, draws=workspace.config.enrich.draws, seed=seed,
    )  # fmt: skip
    if missing:
        result = result.model_copy(
            update={
                "warnings": [
                    *result.warnings,
                    f"the universe has no {', '.join(missing)}: scored as missing",
                ]
            }
        )
    from icpkit.enrich.store import save_market

    save_market(workspace.root, result)  # the report's market section
    return result


def provisional_from_seeds(
    workspace: Workspace | None, seeds: Path, universe_path: Path, output: Path, *, top: int = 500
) -> Any:
    """A thin CRM's provisional ICP: seed accounts against a universe, lookalikes written to
    ``output`` (CSV/Parquet) and the traits beside it (``<output>.provisional.json``), labelled
    PROVISIONAL (:mod:`icpkit.enrich.seeds`)."""
    import json

    from icpkit.enrich.seeds import provisional_icp
    from icpkit.enrich.universe import read_universe

    for path in (seeds, universe_path):
        if not Path(path).exists():
            raise ConfigError(f"{path}: no such file")
    seed_frame = read_universe(seeds).frame.rename({"record_id": "account_id"})
    universe = read_universe(universe_path)
    threshold = workspace.config.enrich.threshold if workspace else 0.9
    result = provisional_icp(seed_frame, universe.frame, threshold=threshold, top=top)
    if result.matched == 0:
        raise InsufficientDataError(
            f"{seeds}: none of the {result.seeds} seed accounts was found in {universe_path} "
            "(match on name + country or domain); nothing to learn from"
        )
    write_table(result.ranked, output)
    side = Path(output).with_suffix(".provisional.json")
    write_text_atomic(side, json.dumps(result.to_dict(), indent=2))
    return result


# ----------------------------------------------------------------------------- product usage (issue 28)


def _with_usage_check(
    report: CheckReport, crm: CrmData, config: WorkspaceConfig, root: Path
) -> CheckReport:
    """The check report with the usage export's problems (unmapped users, skew, bots …)."""
    if not config.usage.path:
        return report
    try:
        events = load_usage(config, root, crm.accounts, crm.contacts)
    except SchemaError as exc:
        return dataclasses.replace(report, problems=(*exc.problems, *report.problems))
    if events is None:
        return report
    try:
        with reading(root / config.usage.path, config.usage.path):
            problems, counts = check_usage(events, crm.accounts, config.usage, config.usage.path)
    except SchemaError as exc:
        return dataclasses.replace(report, problems=(*exc.problems, *report.problems))
    return dataclasses.replace(
        report,
        problems=(*report.problems, *problems),
        row_counts={**report.row_counts, "usage": counts["events"]},
        sources={**report.sources, "usage": config.usage.path},
    )


def usage_features_of(workspace: Workspace, as_of: date | None = None) -> UsageFeatures:
    """Behavioural features of every account as of a date (default: after the last event)."""
    crm = workspace.load()
    if crm.usage is None:
        raise ConfigError("no usage export is configured: set [usage] path in icpkit.toml")
    with reading(workspace.root / workspace.config.usage.path, workspace.config.usage.path):
        return usage_features(
            crm.usage.lazy(),
            workspace.config.usage,
            as_of=as_of,
            seats=seats_of(crm.accounts, crm.contacts, workspace.config.usage),
            accounts=crm.accounts["account_id"].cast(pl.Utf8),
        )


@dataclasses.dataclass(frozen=True)
class PqaResult:
    """Open accounts ranked by PQA (fit × usage) and the held-out check."""

    scores: pl.DataFrame
    check: PqaCheck | None
    as_of: date
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "accounts": self.scores.select("account_id", "band", "pqa", "fit", "usage").to_dicts(),
            "check": self.check.model_dump() if self.check is not None else None,
            "reason": self.reason,
        }


def product_qualified(
    workspace: Workspace, as_of: date | None = None, horizon_days: int = PQA_HORIZON
) -> PqaResult:
    """PQA (fit × usage, learned) for the open accounts at ``as_of`` (default: today), and the
    held-out check one horizon earlier, whose fit comes from the ICP built on the CRM as it
    stood on that cut (:func:`icpkit.usage.pqa.known_on`).
    """
    crm = workspace.load()
    if crm.usage is None:
        raise ConfigError("no usage export is configured: set [usage] path in icpkit.toml")
    day = as_of or date.today()
    built = build_icp(crm, workspace.config, validate=False, as_of=day, themes=False)
    blank = [c for c in built.scored.columns if c.startswith("usage_")]
    firmographic = crm.accounts.with_columns(pl.lit(None, pl.Float64).alias(c) for c in blank)
    fit = score_frame(built.profile, firmographic, reasons=False)
    with reading(workspace.root / workspace.config.usage.path, workspace.config.usage.path):
        scores = pqa_scores(crm, workspace.config.usage, day, fit, horizon_days)
    try:
        # the check's fit is built on the CRM as it stood on the cut, so no later outcome
        # reaches the accounts it ranks
        cut = day - timedelta(days=horizon_days)
        then = known_on(crm, cut)
        built_then = build_icp(then, workspace.config, validate=False, as_of=cut, themes=False)
        firmographic_then = then.accounts.with_columns(
            pl.lit(None, pl.Float64).alias(c)
            for c in built_then.scored.columns
            if c.startswith("usage_")
        )
        fit_then = score_frame(built_then.profile, firmographic_then, reasons=False)
        check = pqa_check(crm, workspace.config.usage, cut, fit_then, horizon_days)
        reason = ""
    except InsufficientDataError as exc:
        check, reason = None, str(exc)
    return PqaResult(scores=scores, check=check, as_of=day, reason=reason)
