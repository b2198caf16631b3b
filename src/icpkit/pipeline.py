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
            profile = profile.model_copy(update={"validation": result.to_section()})
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
        validation=None if result.validation is None else result.validation.to_dict(),
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
    built_on = date.fromisoformat(str(profile.success_definition.as_of))
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

    With ``dbt`` the text is a dbt model file (``{{ config(...) }}`` header) rather than a bare query.
    """
    from icpkit.export import scorecard_sql
    from icpkit.scoring import load_spec

    if spec is not None:
        profile = load_spec(spec)
    elif workspace is not None:
        profile = workspace.store.get(version).profile()
    else:
        raise ConfigError("export sql needs a workspace with a built version, or --spec")
    if tags not in ("auto", "array", "delimited"):
        raise ConfigError(f"--tags must be auto, array or delimited; got {tags!r}")
    export = scorecard_sql(profile, table, dialect, id_column=id_column, tags=tags)  # type: ignore[arg-type]
    return export.dbt_model() if dbt else export.sql + "\n"


def score_on_spark(
    profile: IcpProfile, source: str, output: Path, *, master: str = "local[*]"
) -> int:
    """Score ``source`` on Spark with the same batch scorer as local scoring (see engines.spark)."""
    from icpkit.engines.spark import score_spark

    return score_spark(profile, source, output, master=master)


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
) -> Any:
    """Rank a company universe against a version's ICP and write the targets (CSV or Parquet).

    The universe is read like an accounts source: with ``map_columns`` through the workspace's own
    accounts mapping, with ``columns`` (canonical → file column) through that mapping, otherwise as
    a file already in icpkit's column names (a Parquet file of that kind is streamed in batches).
    Returns the :class:`~icpkit.lookalikes.Lookalikes` result (the list and its summary).
    """
    import pyarrow.parquet as pq

    from icpkit.config import SourceConfig
    from icpkit.lookalikes import rank_universe
    from icpkit.scoring.bulk import csv_safe

    profile = workspace.store.get(version).profile()
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
        reader = pq.ParquetFile(universe_path)
        frames = (pl.from_arrow(batch) for batch in reader.iter_batches(batch_size=200_000))
    else:
        accounts = workspace.config.sources.get("accounts")
        if map_columns and accounts is None:
            raise ConfigError(
                "--map needs a workspace whose [sources.accounts] mapping can be reused"
            )
        base = accounts if map_columns and accounts is not None else SourceConfig(path="")
        update: dict[str, Any] = {"path": str(universe_path.resolve())}
        if columns:
            update["columns"] = {**base.columns, **columns}
        source = base.model_copy(update=update)
        config = workspace.config.model_copy(update={"sources": {"accounts": source}})
        frames = load_crm(config, workspace.root).accounts
    result = rank_universe(
        profile, frames, crm, top=top, include_customers=include_customers, show_names=show_names
    )
    table = result.frame.to_arrow()
    with atomic_path(Path(output)) as tmp:
        if Path(output).suffix.lower() == ".parquet":
            pq.write_table(table, tmp)
        else:
            flat = pl.from_arrow(table)
            assert isinstance(flat, pl.DataFrame)
            flat = flat.with_columns(
                pl.col(c).list.join("; ") for c, t in flat.schema.items() if isinstance(t, pl.List)
            )
            import pyarrow.csv as pacsv

            pacsv.write_csv(csv_safe(flat.to_arrow()), tmp)
    return result


def export_crm(
    workspace: Workspace,
    crm: str,
    output: Path,
    *,
    version: str | int = "latest",
    key: str = "domain",
) -> Any:
    """Write-back files for HubSpot or Salesforce: every workspace account with its ICP tier,
    fit score, reasons and version, plus the custom property / field definitions to create.

    Returns the :class:`~icpkit.export.crm.CrmExport` (files written, rows, rows left out and why).
    """
    from icpkit.export.crm import hubspot_files, salesforce_files

    stored = workspace.store.get(version)
    scored = score_frame(stored.profile(), workspace.load().accounts)
    if crm == "hubspot":
        return hubspot_files(scored, stored.version, output, key=key)  # type: ignore[arg-type]
    if crm == "salesforce":
        return salesforce_files(scored, stored.version, output)
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
) -> dict[str, Any]:
    """Export the HubSpot files into ``folder``, build the CRM v3 batch requests, and send them
    (resumably, logged in ``folder/push-log.jsonl``) unless ``dry_run``, which writes them."""
    from icpkit.export.push import HUBSPOT_API, hubspot_requests, push, write_dry_run

    key = "record-id" if id_property is None else "account-id"
    export = export_crm(workspace, "hubspot", folder, version=version, key=key)
    companies = pl.read_csv(folder / "hubspot-companies.csv", infer_schema_length=0)
    requests = hubspot_requests(companies, id_property=id_property)
    summary: dict[str, Any] = {"rows": export.n_rows, "left_out": export.skipped}
    if dry_run:
        summary["requests"] = write_dry_run(requests, folder / "requests")
        return summary
    if not token:
        raise ConfigError("set HUBSPOT_TOKEN (a private app token) to push, or use --dry-run")
    summary.update(
        push(requests, token, folder / "push-log.jsonl", base_url=base_url or HUBSPOT_API)
    )
    return summary
