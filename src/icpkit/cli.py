"""The `icpkit` command line: parse → pipeline/store/report → print.

Every IcpError becomes one line on stderr and the error's exit code; no traceback ever reaches a
user for a problem in their data. Handlers stay short: logic lives in the core.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from icpkit.errors import IcpError
from icpkit.version import VERSION

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="icpkit",
    help="Derive an evidence-backed Ideal Customer Profile from CRM data, then score, tier, "
    "validate and document it.\n\nStart with `icpkit demo` or `icpkit init DIR`.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

WorkspaceOpt = Annotated[
    Path, typer.Option("--workspace", "-w", help="Workspace folder (holds icpkit.toml).")
]


def handled(func: F) -> F:
    """Translate IcpError into one line (plus the problem list) and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except IcpError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted; nothing was written")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        out.print(f"icpkit {VERSION}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """icpkit command line."""


@app.command()
@handled
def demo(
    directory: Annotated[Path, typer.Argument(help="Folder for the synthetic workspace.")] = Path(
        "demo"
    ),
    accounts: Annotated[int, typer.Option(help="Number of synthetic accounts.")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 7,
) -> None:
    """Write a synthetic CRM with a planted ICP and run the whole pipeline on it.

    Example: icpkit demo demo/ --accounts 3000
    """
    from icpkit import datasets, pipeline

    crm = datasets.make_crm(accounts, seed=seed)
    crm.write_workspace(directory)
    out.print(
        f"synthetic CRM written to {directory} (planted ICP: {'; '.join(crm.truth.icp.segments)})",
        markup=False,
    )
    workspace = pipeline.Workspace.open(directory)
    version, result = pipeline.build_and_save(workspace, note="demo")
    _print_profile(result.profile, version)
    _render_reports(workspace, version)


@app.command()
@handled
def init(
    directory: Annotated[Path, typer.Argument(help="Folder with the CRM export files.")],
    preset: Annotated[str | None, typer.Option(help="hubspot | salesforce | maven")] = None,
    workspace: Annotated[
        Path | None,
        typer.Option("--workspace", "-w", help="Where to write icpkit.toml (default: DIR itself)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing icpkit.toml.")] = False,
) -> None:
    """Write icpkit.toml for the files in DIR, guessing the column mapping, and show the guess.

    Example: icpkit init exports/ --preset hubspot -w my-icp/
    """
    from icpkit import pipeline

    guess = pipeline.init_workspace(directory, preset, workspace=workspace, force=force)
    for line in guess.explanation_lines():
        out.print(line, markup=False)
    where = workspace if workspace is not None else directory
    out.print(
        f"\nwrote {where / 'icpkit.toml'} — correct any guess there, then run "
        f"`icpkit check -w {where}`",
        markup=False,
    )


@app.command()
@handled
def check(workspace: WorkspaceOpt = Path(".")) -> None:
    """Load and validate every source; list every problem with file, row and column.

    Exit code 1 when any problem is fatal. Example: icpkit check -w exports/
    """
    from icpkit import pipeline

    report = pipeline.Workspace.open(workspace).check()
    for line in report.summary_lines():
        out.print(line, markup=False)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
@handled
def customers(
    workspace: WorkspaceOpt = Path("."),
    top: Annotated[int, typer.Option(help="How many best and worst customers to list.")] = 10,
) -> None:
    """List the best and the worst customers with the reason for each rank.

    Example: icpkit customers -w exports/ --top 20
    """
    from icpkit import pipeline

    outcomes = pipeline.customers(pipeline.Workspace.open(workspace))
    counts = outcomes.counts()
    out.print("success = " + "; ".join(outcomes.notes), markup=False)
    out.print(
        f"{counts['best']} best, {counts['worst']} worst, {counts['rest']} rest, "
        f"{counts['unranked']} without outcomes",
        markup=False,
    )
    for label in ("best", "worst"):
        group = outcomes.group(label)
        if label == "worst":
            group = group.reverse()
        _customer_table(label, group.head(top), outcomes)


@app.command()
@handled
def build(
    workspace: WorkspaceOpt = Path("."),
    note: Annotated[str, typer.Option(help="A note saved with this version.")] = "",
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Where to write the profile JSON (default: WS/icp-profile.json)."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Build from what was known on this date (YYYY-MM-DD) only."),
    ] = None,
) -> None:
    """Outcomes → discovery → scorecard → tiers → backtest; save a new version; print the ICP.

    Example: icpkit build -w exports/ --note "after Q3 data"
    """
    from icpkit import pipeline
    from icpkit.atomic import write_text_atomic

    ws = pipeline.Workspace.open(workspace)
    version, result = pipeline.build_and_save(ws, note=note, as_of=_date(as_of, "--as-of"))
    _print_profile(result.profile, version)
    target = output if output is not None else ws.root / "icp-profile.json"
    write_text_atomic(target, result.profile.to_json())
    out.print(f"profile JSON written to {target}", markup=False)


@app.command()
@handled
def score(
    input: Annotated[Path, typer.Argument(help="Accounts file: CSV, Parquet or Excel.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file (.csv or .parquet).")],
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[str, typer.Option(help="Profile version to score with.")] = "latest",
    spec: Annotated[
        Path | None, typer.Option(help="A hand-written ICP spec (TOML) instead of a version.")
    ] = None,
    map_columns: Annotated[
        bool,
        typer.Option(
            "--map",
            help="INPUT is in the export format of the workspace's accounts source (e.g. a "
            "HubSpot companies export): map and normalise it the same way first.",
        ),
    ] = False,
    engine: Annotated[
        str,
        typer.Option(help="local, or spark: INPUT is Parquet/CSV or a Spark table; OUT a folder."),
    ] = "local",
    master: Annotated[
        str, typer.Option(help="Spark master URL with --engine spark (default: local[*]).")
    ] = "local[*]",
) -> None:
    """Add fit_score, tier, fit_probability, reasons and criteria_met to any accounts file.

    Example: icpkit score prospects.csv -o scored.csv   (or: icpkit score hubspot_export.csv
    -o scored.csv --map; on Spark: icpkit score universe.parquet -o scored/ --engine spark)
    """
    from rich.progress import Progress

    from icpkit import pipeline
    from icpkit.scoring import load_spec, score_file

    ws = pipeline.Workspace.open(workspace) if map_columns or spec is None else None
    profile = load_spec(spec) if spec else _profile(ws, version)
    if engine == "spark":
        n = pipeline.score_on_spark(profile, str(input), output, master=master)
        out.print(f"scored {n:,} accounts on Spark → {output}", markup=False)
        return
    if engine != "local":
        raise IcpError(f"--engine must be local or spark; got {engine!r}")
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("scoring", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        if map_columns and ws is not None:
            n = pipeline.score_export(ws, profile, input, output, progress=progress)
        else:
            n = score_file(profile, input, output, progress=progress)
    out.print(f"scored {n:,} accounts → {output}", markup=False)


@app.command()
@handled
def report(
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[
        str, typer.Option(help="Version to render (latest, previous, 3, v3).")
    ] = "latest",
    format: Annotated[str, typer.Option("--format", "-f", help="html | pdf | md | json")] = "html",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file.")] = None,
) -> None:
    """Render a version as the one-page ICP plus the detailed report.

    Example: icpkit report --format pdf -o icp.pdf
    """
    from icpkit import pipeline

    ws = pipeline.Workspace.open(workspace)
    path = _render(ws, version, format, output)
    out.print(f"report written to {path}", markup=False)


@app.command()
@handled
def versions(workspace: WorkspaceOpt = Path(".")) -> None:
    """List the saved versions of the ICP.

    Example: icpkit versions -w exports/
    """
    from icpkit import pipeline

    listed = pipeline.Workspace.open(workspace).store.list()
    if not listed:
        out.print("no versions yet: run `icpkit build`", markup=False)
    for info in listed:
        out.print(info.summary_line(), markup=False)


@app.command()
@handled
def diff(
    a: Annotated[str, typer.Argument(help="Older version (e.g. 1, v1, previous).")] = "previous",
    b: Annotated[str, typer.Argument(help="Newer version (e.g. 2, latest).")] = "latest",
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Explain in words what changed between two versions, with a tier migration table.

    Example: icpkit diff 1 2
    """
    from icpkit import pipeline

    changes = pipeline.diff_versions(pipeline.Workspace.open(workspace), a, b)
    out.print(changes.to_text(), markup=False)


@app.command()
@handled
def drift(
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[str, typer.Option(help="Version to check.")] = "latest",
    against: Annotated[
        Path | None, typer.Option(help="A prospect list to compare with the training data.")
    ] = None,
) -> None:
    """Say whether the ICP still holds: keep, review or rebuild, with the reasons.

    Example: icpkit drift --against new_prospects.csv
    """
    from icpkit import pipeline

    result = pipeline.drift_check(pipeline.Workspace.open(workspace), version, against)
    out.print(result.to_text(), markup=False)


# ----------------------------------------------------------------------------- printing


def _date(text: str | None, option: str) -> Any:
    from datetime import date

    from icpkit.errors import ConfigError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option}: {text!r} is not a date (expected YYYY-MM-DD)") from None


def _profile(ws: Any, version: str) -> Any:
    from icpkit.profile import IcpProfile

    return IcpProfile.from_json(ws.store.get(version).profile_json)


def _print_profile(profile: Any, version: int) -> None:
    out.print(f"\nICP version {version}: {profile.statement}", markup=False)
    for title, rules, group in (
        ("Core criteria", profile.criteria, "best"),
        ("Disqualifiers", profile.disqualifiers, "worst"),
    ):
        out.print(f"\n{title}:", markup=False)
        if not rules:
            out.print("  (none with enough evidence)", markup=False)
        for i, r in enumerate(rules, 1):
            out.print(f"  {i}. {r.rule}", markup=False)
            out.print(
                f"     {r.support} accounts · covers {r.coverage:.0%} of {group} · "
                f"precision {r.precision:.0%} · lift {r.lift:.1f} "
                f"[{r.lift_ci[0]:.1f}, {r.lift_ci[1]:.1f}] · q {r.q_value:.2g} · "
                f"{r.evidence} evidence",
                markup=False,
            )
    out.print("", markup=False)
    for caveat in profile.caveats:
        out.print(f"note: {caveat}", markup=False)


def _customer_table(label: str, group: Any, outcomes: Any) -> None:
    table = Table(
        "rank", "account", "score", "reason", title=f"{label} customers", title_justify="left"
    )
    for row in group.iter_rows(named=True):
        account = row.get("name") or row["account_id"]
        table.add_row(str(row["rank"]), str(account), f"{row['success_score']:.2f}", row["reason"])
    out.print(table)


def _render(ws: Any, version: str, fmt: str, output: Path | None) -> Path:
    from icpkit import pipeline

    return pipeline.render_report(ws, version, fmt, output)


def _render_reports(ws: Any, version: int) -> None:
    try:
        for fmt in ("html", "pdf"):
            path = _render(ws, str(version), fmt, None)
            out.print(f"{fmt.upper()} report: {path}", markup=False)
    except IcpError as exc:  # a missing PDF engine must not hide the HTML report
        err.print(f"note: {exc}", markup=False)


def run() -> None:  # pragma: no cover - console entry for `python -m icpkit`
    app(prog_name="icpkit")
    sys.exit(0)


export_app = typer.Typer(
    name="export",
    help="Take the ICP outside icpkit: the scorecard as SQL for a warehouse.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(export_app, name="export")


@export_app.command("sql")
@handled
def export_sql(
    table: Annotated[str, typer.Option("--table", "-t", help="Table to score (schema.table).")],
    dialect: Annotated[
        str,
        typer.Option(
            "--dialect",
            "-d",
            help="duckdb, postgres, sqlite, snowflake, bigquery, spark, databricks, redshift, "
            "tsql or trino.",
        ),
    ] = "duckdb",
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[str, typer.Option(help="Profile version to export.")] = "latest",
    spec: Annotated[
        Path | None, typer.Option(help="A hand-written ICP spec (TOML) instead of a version.")
    ] = None,
    id_column: Annotated[str, typer.Option("--id", help="The table's key column.")] = "account_id",
    tags: Annotated[
        str,
        typer.Option(help="Tag columns as 'array' or 'delimited' text (';'); auto: by dialect."),
    ] = "auto",
    dbt: Annotated[bool, typer.Option("--dbt", help="Write a dbt model file.")] = False,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to a file (default: stdout).")
    ] = None,
) -> None:
    """The scorecard as one SELECT: fit_score, tier, fit_probability, criteria, reasons per row.

    Example: icpkit export sql --dialect snowflake --table crm.accounts -o icp_score.sql
    """
    from icpkit import pipeline
    from icpkit.atomic import write_text_atomic

    ws = pipeline.Workspace.open(workspace) if spec is None else None
    sql = pipeline.export_sql(
        ws, table, dialect, version=version, spec=spec, id_column=id_column, tags=tags, dbt=dbt
    )
    if output is None:
        sys.stdout.write(sql)
    else:
        write_text_atomic(output, sql)
        err.print(f"{dialect} SQL written to {output}", markup=False)


@app.command()
@handled
def lookalikes(
    universe: Annotated[Path, typer.Argument(help="Company universe: CSV, Parquet or Excel.")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Targets file (.csv or .parquet).")
    ],
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[str, typer.Option(help="Profile version to rank with.")] = "latest",
    top: Annotated[int, typer.Option(help="How many targets to keep.")] = 500,
    map_columns: Annotated[
        bool,
        typer.Option("--map", help="UNIVERSE uses the headers of the workspace's accounts export."),
    ] = False,
    columns: Annotated[
        str | None,
        typer.Option(
            help="Map the universe's own headers: 'account_id=symbol,industry=sector,domain=website'."
        ),
    ] = None,
    include_customers: Annotated[
        bool,
        typer.Option(
            "--include-customers",
            help="Keep existing customers and open deals, with the CRM account they match and how.",
        ),
    ] = False,
    show_names: Annotated[
        bool,
        typer.Option("--show-names", help="Name the nearest best customers (target lists travel)."),
    ] = False,
) -> None:
    """Rank a company universe by fit and likeness to your best customers; customers excluded.

    Example: icpkit lookalikes companies.parquet -o targets.csv --top 200
    """
    from icpkit import pipeline

    mapping = _pairs(columns) if columns else None
    result = pipeline.find_targets(
        pipeline.Workspace.open(workspace), universe, output, version=version, top=top,
        map_columns=map_columns, columns=mapping, include_customers=include_customers,
        show_names=show_names,
    )  # fmt: skip
    s = result.summary()
    tiers = ", ".join(f"{t} {n:,}" for t, n in s["tiers"].items())
    out.print(f"universe: {s['n_universe']:,} companies ({tiers})", markup=False)
    out.print(
        f"excluded {s['n_excluded_customers']:,} existing customers or open deals; folded "
        f"{s['n_duplicates']:,} duplicate listings; {s['n_best_customers']:,} best customers as "
        "neighbours",
        markup=False,
    )
    if s["missing_attributes"]:
        out.print(
            f"the universe lacks {', '.join(s['missing_attributes'])}: scored as missing",
            markup=False,
        )
    out.print(f"top {result.frame.height:,} targets → {output}", markup=False)


def _pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in text.split(","):
        canonical, sep, column = item.partition("=")
        if not sep or not canonical.strip() or not column.strip():
            raise IcpError(
                f"--columns takes canonical=column pairs separated by commas; got {item!r}"
            )
        pairs[canonical.strip()] = column.strip()
    return pairs


# ----------------------------------------------------------------------------- web: serve, keys


@app.command()
@handled
def serve(
    workspace: WorkspaceOpt = Path("."),
    host: Annotated[
        str, typer.Option(help="Address to bind (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the JSON API (/v1, /openapi.json) and the web app for reps and RevOps.

    Every request needs an API key (`icpkit keys create`). Needs the `web` extra.
    Example: icpkit serve -w my-icp/ --port 8000
    """
    try:
        import uvicorn

        from icpkit.web.app import create_app
    except ImportError:
        raise IcpError("`icpkit serve` needs the web extra: pip install 'icpkit[web]'") from None
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    application = create_app(workspace)
    if not application.state.service.keys.records():
        err.print(
            "note: no API key yet; create one with `icpkit keys create -w WS --scope read`",
            markup=False,
        )
    out.print(f"serving {workspace} on http://{host}:{port}/ (Ctrl-C stops)", markup=False)
    # uvicorn's own access log prints query strings (account names); icpkit.web logs routes only.
    uvicorn.run(application, host=host, port=port, access_log=False, log_level="warning")


keys_app = typer.Typer(
    name="keys",
    help="API keys of the web app and API: create, list, revoke (stored hashed in .icpkit/).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
@handled
def keys_create(
    workspace: WorkspaceOpt = Path("."),
    scope: Annotated[
        str, typer.Option(help="read: look up and score; write: also upload lists.")
    ] = "read",
    name: Annotated[str, typer.Option(help="A label for the key (who or what uses it).")] = "",
) -> None:
    """Create an API key; it is printed once and stored only as a salted hash.

    Example: icpkit keys create --scope write --name revops
    """
    from icpkit.config import load_config
    from icpkit.web.keys import KeyStore

    load_config(workspace)  # a key belongs to a workspace: refuse a folder that is none
    key, record = KeyStore(workspace).create(scope, name)
    err.print(
        f"key {record.key_id} ({record.scope}) created; it is shown once, store it now:",
        markup=False,
    )
    out.print(key, markup=False)


@keys_app.command("list")
@handled
def keys_list(workspace: WorkspaceOpt = Path(".")) -> None:
    """List the API keys (ids, scopes, dates; never the keys).

    Example: icpkit keys list
    """
    from icpkit.web.keys import KeyStore

    records = KeyStore(workspace).records()
    if not records:
        out.print("no API keys: create one with `icpkit keys create`", markup=False)
    for r in records:
        state = f"revoked {r.revoked_at}" if r.revoked_at else "active"
        label = f"  {r.name}" if r.name else ""
        out.print(f"{r.key_id}  {r.scope:<5}  created {r.created_at}  {state}{label}", markup=False)


@keys_app.command("revoke")
@handled
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `icpkit keys list`).")],
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """Revoke an API key at once (the server checks the key file on every request).

    Example: icpkit keys revoke 3f9a1c2e
    """
    from icpkit.web.keys import KeyStore

    record = KeyStore(workspace).revoke(key_id)
    out.print(f"key {record.key_id} revoked at {record.revoked_at}", markup=False)


# ----------------------------------------------------------------------------- export: CRM write-back


@export_app.command("hubspot")
@handled
def export_hubspot(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the files.")],
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[str, typer.Option(help="Profile version to score with.")] = "latest",
    key: Annotated[
        str,
        typer.Option(
            help="domain (Company Domain Name) or record-id (account_id is the Record ID)."
        ),
    ] = "domain",
) -> None:
    """HubSpot companies import CSV (icp_tier, icp_fit_score, icp_reasons, icp_version) and the
    property definitions (body of POST /crm/v3/properties/companies/batch/create).

    Example: icpkit export hubspot -o crm/ --key record-id
    """
    from icpkit import pipeline

    result = pipeline.export_crm(
        pipeline.Workspace.open(workspace), "hubspot", output, version=version, key=key
    )
    for line in result.summary_lines():
        out.print(line, markup=False)


@export_app.command("salesforce")
@handled
def export_salesforce(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the files.")],
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[str, typer.Option(help="Profile version to score with.")] = "latest",
) -> None:
    """Salesforce Account update CSV by Id (ICP_Tier__c, ICP_Fit_Score__c, ICP_Reasons__c,
    ICP_Version__c) and the CustomField metadata (SFDX source + package.xml, and JSON).

    Example: icpkit export salesforce -o crm/
    """
    from icpkit import pipeline

    result = pipeline.export_crm(
        pipeline.Workspace.open(workspace), "salesforce", output, version=version
    )
    for line in result.summary_lines():
        out.print(line, markup=False)


push_app = typer.Typer(
    name="push",
    help="Send the ICP fields to a CRM over its API (resumable; --dry-run writes the requests).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(push_app, name="push")


@push_app.command("hubspot")
@handled
def push_hubspot(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for files and the log.")],
    workspace: WorkspaceOpt = Path("."),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write the request bodies; send nothing.")
    ] = False,
    id_property: Annotated[
        str | None,
        typer.Option(help="Upsert by this unique company property (value: account_id)."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="API base URL (default: https://api.hubapi.com).")
    ] = None,
    version: Annotated[str, typer.Option(help="Profile version to score with.")] = "latest",
) -> None:
    """Update companies by Record ID (CRM v3 batch update), or upsert by --id-property; the token
    is read from HUBSPOT_TOKEN. Re-running with the same -o resumes where a push stopped.

    Example: icpkit push hubspot -o crm/ --dry-run
    """
    import os

    from icpkit import pipeline

    summary = pipeline.push_hubspot(
        pipeline.Workspace.open(workspace), output, token=os.environ.get("HUBSPOT_TOKEN"),
        dry_run=dry_run, id_property=id_property, base_url=base_url, version=version,
    )  # fmt: skip
    out.print(f"{summary['rows']:,} companies", markup=False)
    for why, n in summary["left_out"].items():
        if n:
            out.print(f"  left out {n:,}: {why}", markup=False)
    if dry_run:
        out.print(
            f"{len(summary['requests'])} requests written to {output / 'requests'}", markup=False
        )
    else:
        out.print(
            f"{summary['sent']} batches sent, {summary['skipped']} already sent before "
            f"(of {summary['batches']})",
            markup=False,
        )
