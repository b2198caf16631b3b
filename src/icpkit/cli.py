"""The `icpkit` command line: parse → pipeline/store/report → print.

Every IcpError becomes one line on stderr and the error's exit code; no traceback ever reaches a
user for a problem in their data. Handlers stay short: logic lives in the core.
"""

from __future__ import annotations

import errno
import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from icpkit.errors import IcpError
from icpkit.version import VERSION

if TYPE_CHECKING:
    from icpkit.profile import PartitionsSection

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="icpkit",
    help="Derive an evidence-backed Ideal Customer Profile from CRM data, then score, tier, "
    "validate and document it.\n\nStart with `icpkit demo` or `icpkit init DIR`.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
# Text that is not ours (account names, rule values, notes, file names) must print as itself: no
# Rich markup ("[/]" would crash, "[link=…]" would print a terminal link), no emoji codes, and no
# terminal control sequences (an OSC 8 escape is a clickable link too).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: object) -> str:
    """``text`` with terminal control characters shown as U+FFFD, for printing data."""
    return _CONTROL.sub("\ufffd", str(text))


class _PlainConsole(Console):
    """A console that prints strings as plain text unless a call asks for markup."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        super().print(*(plain(o) if isinstance(o, str) else o for o in objects), **kwargs)


out = _PlainConsole(highlight=False, soft_wrap=True, emoji=False)
err = _PlainConsole(stderr=True, highlight=False, soft_wrap=True, emoji=False)

WorkspaceOpt = Annotated[
    Path,
    typer.Option(
        "--workspace",
        "-w",
        envvar="ICPKIT_WORKSPACE",
        help="Workspace folder (holds icpkit.toml); default $ICPKIT_WORKSPACE, else the "
        "current folder.",
    ),
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help='Print the result as one JSON document on stdout (an error as {"error": {...}}).',
    ),
]
# Set by the top-level --quiet / --verbose options.
VERBOSITY = {"level": 1}  # 0 quiet, 1 normal, 2 verbose


def say(text: str, *, level: int = 1) -> None:
    """Print a line for people unless --quiet (level 2: only with --verbose)."""
    if VERBOSITY["level"] >= level:
        out.print(text, markup=False)


def emit_json(payload: Any) -> None:
    """One JSON document on stdout (paths, dates and numpy numbers as text or numbers)."""
    import json

    sys.stdout.write(json.dumps(payload, indent=2, default=_json_default) + "\n")
    sys.stdout.flush()


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return str(value)


_DISK_FULL = {errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC)}


def handled(func: F) -> F:
    """Translate IcpError into one line (plus the problem list) and its exit code; with --json,
    into ``{"error": {"type", "message", "exit_code", "problems"}}`` on stdout."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except IcpError as exc:
            if kwargs.get("as_json"):
                detail = {"type": type(exc).__name__, "exit_code": exc.exit_code, **exc.to_dict()}
                detail.setdefault("message", str(exc))
                emit_json({"error": detail})
            else:
                err.print(f"error: {exc}", markup=False)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            if kwargs.get("as_json"):
                emit_json({"error": {"type": "Interrupted", "message": "interrupted"}})
            else:
                err.print("interrupted; nothing was written")
            raise typer.Exit(130) from None
        except OSError as exc:
            from icpkit.atomic import permission_message

            denied = permission_message(exc, kwargs.get("workspace"))
            if denied is not None:
                if kwargs.get("as_json"):
                    emit_json({"error": {"type": "PermissionError", "message": denied}})
                else:
                    err.print(f"error: {denied}", markup=False)
                raise typer.Exit(1) from None
            if exc.errno not in _DISK_FULL:
                raise
            err.print(
                f"error: the disk is full or a file size limit was reached while writing "
                f"{exc.filename or 'output'}; files are written atomically, so nothing was "
                "half-written. Free some space and run again.",
                markup=False,
            )
            raise typer.Exit(1) from None

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
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only results and errors.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also print details (every data warning).")
    ] = False,
) -> None:
    """icpkit command line."""
    VERBOSITY["level"] = 0 if quiet else 2 if verbose else 1


@app.command()
@handled
def demo(
    directory: Annotated[Path, typer.Argument(help="Folder for the synthetic workspace.")] = Path(
        "demo"
    ),
    accounts: Annotated[int, typer.Option(help="Number of synthetic accounts.")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed of the generator.")] = 7,
    as_json: JsonOpt = False,
) -> None:
    """Write a synthetic CRM with a planted ICP and run the whole pipeline on it.

    Example: icpkit demo demo/ --accounts 3000
    """
    from icpkit import datasets, pipeline

    crm = datasets.make_crm(accounts, seed=seed)
    crm.write_workspace(directory)
    if not as_json:
        say(
            f"synthetic CRM written to {directory} "
            f"(planted ICP: {'; '.join(crm.truth.icp.segments)})"
        )
    workspace = pipeline.Workspace.open(directory)
    version, result = pipeline.build_and_save(workspace, note="demo")
    if not as_json:
        _print_profile(result.profile, version)
    reports = _render_reports(workspace, version, quiet=as_json)
    if as_json:
        emit_json(
            {
                "workspace": str(directory),
                "version": version,
                "planted_icp": list(crm.truth.icp.segments),
                "profile": result.profile.to_dict(),
                "reports": [str(r) for r in reports],
            }
        )


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
    outcome: Annotated[
        str | None,
        typer.Option(
            help="The outcome column of a single-table lead or account export (0/1, yes/no, "
            "won/lost, converted …); default: recognised by name and values."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write icpkit.toml for the files in DIR, guessing the column mapping, and show the guess.

    Exits 2 and says why, file by file, when no file can be the accounts table.
    Example: icpkit init exports/ --preset hubspot -w my-icp/   (a lead list: icpkit init
    leads/ --outcome Converted)
    """
    from icpkit import pipeline

    guess = pipeline.init_workspace(
        directory, preset, workspace=workspace, force=force, outcome=outcome
    )
    where = workspace if workspace is not None else directory
    if as_json:
        emit_json({"config": str(where / "icpkit.toml"), **guess.to_dict()})
        return
    for line in guess.explanation_lines():
        say(line)
    say(
        f"\nwrote {where / 'icpkit.toml'} — correct any guess there, then run "
        f"`icpkit check -w {where}`",
        level=0,
    )


@app.command()
@handled
def check(workspace: WorkspaceOpt = Path("."), as_json: JsonOpt = False) -> None:
    """Load and validate every source; list every problem with file, row and column.

    Exit code 1 when any problem is fatal. Example: icpkit check -w exports/
    """
    from icpkit import pipeline

    ws = pipeline.Workspace.open(workspace)
    report = ws.check()
    enriched = pipeline.enrichment_lines(ws)  # where filled values came from (issue 29)
    if as_json:
        summary = pipeline.enrichment_summary(ws)
        emit_json({**report.to_dict(), **({"enrichment": summary} if summary else {})})
    else:
        for line in report.summary_lines():
            say(line, level=0 if line.startswith(("  FATAL", "OK", "NOT OK")) else 1)
        for line in enriched:
            say(line, level=1)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
@handled
def customers(
    workspace: WorkspaceOpt = Path("."),
    top: Annotated[int, typer.Option(help="How many best and worst customers to list.")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """List the best and the worst customers with the reason for each rank.

    Example: icpkit customers -w exports/ --top 20
    """
    from icpkit import pipeline

    outcomes = pipeline.customers(pipeline.Workspace.open(workspace))
    counts = outcomes.counts()
    if as_json:
        lists = {
            label: (outcomes.group(label).reverse() if label == "worst" else outcomes.group(label))
            .head(top)
            .select([c for c in ("account_id", "rank", "success_score", "reason")])
            .to_dicts()
            for label in ("best", "worst")
        }
        emit_json({"notes": list(outcomes.notes), "counts": counts, **lists})
        return
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
    as_json: JsonOpt = False,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Also build one ICP per value of this accounts column (region, product line…) "
            "and compare them in the report (shortcut for [[icps]]).",
        ),
    ] = None,
    candidate: Annotated[
        bool,
        typer.Option(
            "--candidate",
            help="Save as a candidate: the version in use does not change until `icpkit promote` "
            "(or the gate of `icpkit refresh`) makes it live.",
        ),
    ] = False,
) -> None:
    """Outcomes → discovery → scorecard → tiers → backtest; save a new version; print the ICP.

    A plain build becomes the version in use at once; with --candidate it waits for a promote.

    Example: icpkit build -w exports/ --note "after Q3 data"; icpkit build --by region
    """
    import gc

    from icpkit import pipeline
    from icpkit.atomic import write_text_atomic

    # issue 30: the ~170,000 container objects the imports made (modules, classes, functions)
    # live as long as this one-command process, so the collector's full passes need not walk
    # them during the build (one full pass was ~0.1 s of CPU on the Maven CRM). Once per
    # process: a long-lived caller (tests invoking the CLI) freezes only its first build's.
    if gc.get_freeze_count() == 0:
        gc.freeze()
    ws = pipeline.Workspace.open(workspace)
    version, result = pipeline.build_and_save(
        ws, note=note, as_of=_date(as_of, "--as-of"), by=by, candidate=candidate
    )
    target = output if output is not None else ws.root / "icp-profile.json"
    write_text_atomic(target, result.profile.to_json())
    if as_json:
        emit_json({"version": version, "output": str(target), "profile": result.profile.to_dict()})
        return
    _print_profile(result.profile, version)
    _print_partitions(result.profile.partitions)
    _print_feedback(result.profile)
    if candidate:
        say(f"v{version} saved as a candidate; `icpkit promote {version}` puts it in use")
    quality = result.profile.data_quality
    for warning in quality.warnings if quality is not None else []:
        say(f"data warning: {warning}", level=2)  # --verbose
    _print_timings(result.profile.timings)  # --verbose
    say(f"profile JSON written to {target}")


SCORE_COLUMNS = """Output columns: the input's own columns, untouched and under their own headers,
then:

  fit_score          0-100: base_score plus every points_* column of the row, exactly
  fit_probability    calibrated probability of the profile's target (empty for a hand-written spec)
  tier               Tier 1 | Tier 2 | Tier 3 | Non-fit
  reasons            the 3 largest points for, then the 3 largest against, in words:
                     "Software company (+18); under 10 employees (−12)"
  criteria_met       the ICP criteria the row meets (rule text, joined with '; ')
  disqualifiers_hit  the disqualifiers the row hits
  calibrated_score   0-100 on the familiar band scale: the tier cuts map to 85 / 70 / 50
                     (configurable, [bands]); monotone in fit_score
  fit_band           very good (85+) | good (70-84) | medium (50-69) | low (<50), by default
  base_score         the points every account starts with
  points_<attr>      the points of each scorecard attribute (all tags of a tag column together;
                     points_criterion_<n> / points_disqualifier_<n> / points_rule_<n> for rules)

An input column with one of these names is replaced. CSV cells that start with = + - @, a tab or
a carriage return get a leading apostrophe so a spreadsheet cannot run them as formulas (plain
numbers such as -42 are left alone)."""


@app.command(epilog=SCORE_COLUMNS)
@handled
def score(
    input: Annotated[
        str, typer.Argument(help="Accounts file: CSV, Parquet or Excel; '-' reads CSV from stdin.")
    ],
    output: Annotated[
        str,
        typer.Option(
            "-o", "--output", help="Output file (.csv or .parquet); '-' writes CSV to stdout."
        ),
    ],
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
            "HubSpot companies export): find its columns through that mapping. The export's "
            "columns are kept as they are and icpkit's are appended.",
        ),
    ] = False,
    engine: Annotated[
        str,
        typer.Option(help="local, or spark: INPUT is Parquet/CSV or a Spark table; OUT a folder."),
    ] = "local",
    master: Annotated[
        str, typer.Option(help="Spark master URL with --engine spark (default: local[*]).")
    ] = "local[*]",
    force: Annotated[
        bool, typer.Option("--force", help="Allow OUTPUT to be INPUT itself (replaced at the end).")
    ] = False,
    columns: Annotated[
        bool, typer.Option("--columns", help="Describe the output columns and exit.")
    ] = False,
    max_columns: Annotated[
        int, typer.Option("--max-columns", help="Refuse an input with more columns than this.")
    ] = 20_000,
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing",
            help="Score attributes the file has no column for as missing on every row (each "
            "gets its 'no known …' points; they are named in a note) instead of refusing it.",
        ),
    ] = False,
    as_json: JsonOpt = False,
    contacts: Annotated[
        Path | None,
        typer.Option(
            help="Contacts file (account_id, title): add personas_missing, the winning personas "
            "each account has no contact for yet."
        ),
    ] = None,
) -> None:
    """Append fit_score, tier, reasons and every point to any accounts file (see --columns).

    Example: icpkit score prospects.csv -o scored.csv   (or: icpkit score hubspot_export.csv
    -o scored.csv --map; cat prospects.csv | icpkit score - -o - > scored.csv; on Spark:
    icpkit score universe.parquet -o scored/ --engine spark)
    """
    if columns:
        out.print(SCORE_COLUMNS, markup=False)
        return
    import shutil
    import tempfile

    from rich.progress import Progress

    from icpkit import pipeline
    from icpkit.scoring import load_spec

    target = _output_target(input, output, force)
    ws = pipeline.Workspace.open(workspace) if map_columns or spec is None else None
    profile = load_spec(spec) if spec else _profile(ws, version)
    if engine == "spark":
        if target is None:
            raise IcpError("--engine spark writes a folder of Parquet files: give -o FOLDER")
        n = pipeline.score_on_spark(
            profile, str(input), target, master=master, workspace=ws if map_columns else None
        )
        say(f"scored {n:,} accounts on Spark → {target}", level=0)
        return
    if engine != "local":
        raise IcpError(f"--engine must be local or spark; got {engine!r}")
    with tempfile.TemporaryDirectory(prefix="icpkit-score-") as tmp:
        source = Path(input)
        if input == "-":  # a pipe can be read once: kept in a private temporary folder
            source = Path(tmp) / "stdin.csv"
            with source.open("wb") as pipe_in:
                shutil.copyfileobj(sys.stdin.buffer, pipe_in)
        sink = Path(tmp) / "stdout.csv" if target is None else target
        quiet = as_json or target is None or VERBOSITY["level"] == 0
        with Progress(console=err, transient=True, disable=quiet) as bar:
            task = bar.add_task("scoring", total=None)

            def progress(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            lacking: list[str] = []
            annotations, notes = pipeline.score_annotations(
                ws, profile, source, contacts=contacts, mapped=map_columns
            )
            options: dict[str, Any] = {
                "progress": progress,
                "max_columns": max_columns,
                "missing": lacking.extend if allow_missing else None,
                "annotations": annotations,
                "bands": pipeline.band_scale(ws),
            }
            if map_columns and ws is not None:
                n = pipeline.score_export(ws, profile, source, sink, **options)
            else:
                n = pipeline.score_file(profile, source, sink, **options)
        if target is None:
            with sink.open("rb") as scored:
                shutil.copyfileobj(scored, sys.stdout.buffer)
            sys.stdout.flush()
    for note in notes:  # intent as of which day, or why it is not there
        err.print(note, markup=False)
    for extra in annotations:
        if isinstance(extra, pipeline.PersonasColumns):
            gaps = extra.accounts_missing
            say(f"{gaps:,} accounts miss a winning persona (personas_missing)", level=0)
    shown = "stdout" if target is None else str(target)
    if lacking and not as_json:
        err.print(
            f"note: no column for {', '.join(lacking)} in the input: scored as missing on "
            "every row",
            markup=False,
        )
    if as_json and target is not None:
        emit_json({"rows": n, "output": shown, "missing_columns": lacking})
    elif target is not None:
        say(f"scored {n:,} accounts → {shown}", level=0)
    elif VERBOSITY["level"]:
        err.print(f"scored {n:,} accounts → stdout", markup=False)


def _output_target(input: str, output: str, force: bool) -> Path | None:
    """The output path (None: stdout), refused when it is a folder or the input itself."""
    from icpkit.errors import ConfigError

    if output == "-":
        return None
    target = Path(output)
    if target.is_dir():
        raise ConfigError(
            f"-o {output}: is a folder; give a file name such as {target / 'scored.csv'}"
        )
    same = input != "-" and Path(input).exists() and target.exists() and target.samefile(input)
    if same and not force:
        raise ConfigError(
            f"-o {output} is the input file itself; scoring would replace it. Choose "
            "another output, or pass --force to replace the input once scoring succeeds"
        )
    return target


@app.command()
@handled
def report(
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[
        str, typer.Option(help="Version to render (latest, previous, 3, v3).")
    ] = "latest",
    format: Annotated[str, typer.Option("--format", "-f", help="html | pdf | md | json")] = "html",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Render a version as the one-page ICP plus the detailed report.

    Example: icpkit report --format pdf -o icp.pdf
    """
    from icpkit import pipeline

    ws = pipeline.Workspace.open(workspace)
    path = _render(ws, version, format, output)
    if as_json:
        emit_json({"output": str(path), "format": format})
        return
    say(f"report written to {path}", level=0)


@app.command()
@handled
def versions(
    workspace: WorkspaceOpt = Path("."),
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            help="Write each readable version's profile JSON to this folder (icp-v<N>.json), "
            "e.g. to recover from a damaged store.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the saved versions of the ICP (or export them as JSON files).

    Example: icpkit versions -w exports/   (or: icpkit versions --export backup/)
    """
    from icpkit import pipeline

    if export is not None:
        written, skipped = pipeline.Workspace.open(workspace).store.export(export)
        for path in written:
            out.print(f"wrote {path}", markup=False)
        for line in skipped:
            err.print(f"skipped {line}", markup=False)
        out.print(f"{len(written)} version(s) exported to {export}", markup=False)
        if skipped:
            raise typer.Exit(1)
        return
    listed = pipeline.Workspace.open(workspace).store.list()
    if as_json:
        emit_json({"versions": [info.to_dict() for info in listed]})
        return
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
    as_json: JsonOpt = False,
) -> None:
    """Explain in words what changed between two versions, with a tier migration table.

    Example: icpkit diff 1 2
    """
    from icpkit import pipeline

    changes = pipeline.diff_versions(pipeline.Workspace.open(workspace), a, b)
    if as_json:
        emit_json(changes.to_dict())
        return
    out.print(changes.to_text(), markup=False)


@app.command()
@handled
def drift(
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[str, typer.Option(help="Version to check.")] = "latest",
    against: Annotated[
        Path | None, typer.Option(help="A prospect list to compare with the training data.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Say whether the ICP still holds: keep, review or rebuild, with the reasons.

    Example: icpkit drift --against new_prospects.csv
    """
    from icpkit import pipeline

    result = pipeline.drift_check(pipeline.Workspace.open(workspace), version, against)
    if as_json:
        emit_json(result.to_dict())
        return
    out.print(result.to_text(), markup=False)


@app.command()
@handled
def themes(
    workspace: WorkspaceOpt = Path("."),
    all_themes: Annotated[bool, typer.Option("--all", help="List every theme.")] = False,
) -> None:
    """Pain themes in the notes, how each relates to outcomes, and the messaging they give.

    Example: icpkit themes -w exports/
    """
    from icpkit import pipeline
    from icpkit.themes.summary import summary_lines

    found = pipeline.workspace_themes(pipeline.Workspace.open(workspace))
    sections = found.profile_sections()
    limit = 1000 if all_themes else 10
    for line in summary_lines(sections["themes"], sections["messaging"], limit):
        out.print(line, markup=False)


@app.command()
@handled
def titles(
    input: Annotated[Path, typer.Argument(help="Contacts file: CSV, Excel, Parquet or SQL file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Output file (.csv or .parquet).")],
    column: Annotated[
        str | None,
        typer.Option("--column", "-c", help="Column with the job titles (default: guessed)."),
    ] = None,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace", "-w", help="Workspace whose title overrides and threshold to use."
        ),
    ] = None,
) -> None:
    """Add function, seniority and confidence to every job title in a contacts file.

    Example: icpkit titles contacts.csv -o contacts_classified.csv --column "Job Title"
    """
    from icpkit import pipeline

    ws = pipeline.Workspace.open(workspace) if workspace is not None else None
    result = pipeline.classify_title_file(input, output, column, ws)
    for line in result.lines():
        out.print(line, markup=False)
    out.print(f"written → {output}", markup=False)


@app.command()
@handled
def prioritize(
    output: Annotated[Path, typer.Option("-o", "--output", help="Ranked list (.csv or .parquet).")],
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[str, typer.Option(help="Profile version to rank with.")] = "latest",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Score intent for this day (default: the latest signal)."),
    ] = None,
    top: Annotated[int | None, typer.Option("--top", min=1, help="Keep the first N.")] = None,
) -> None:
    """This week's accounts: fit tier x intent → priority, with the "why now" reasons.

    Example: icpkit prioritize --as-of 2025-06-01 --top 50 -o this-week.csv
    """
    from icpkit import pipeline

    ws = pipeline.Workspace.open(workspace)
    result = pipeline.prioritize_accounts(ws, version, as_of=_date(as_of, "--as-of"), top=top)
    pipeline.write_frame(result.frame, output)
    if result.note:
        err.print(result.note, markup=False)
    counts = result.frame["priority"].value_counts(sort=True).iter_rows()
    summary = ", ".join(f"{n:,} {p}" for p, n in counts)
    out.print(f"intent as of {result.as_of}: {summary} → {output}", markup=False)


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
    _print_held_out(profile)
    definition = profile.success_definition
    target = definition.scoring_target if definition is not None else None
    if target is not None:
        out.print(
            f"  Scores and fit_probability predict: {target.probability_of} "
            f"(target {target.target}: {target.why})",
            markup=False,
        )
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
            if r.evidence_note:
                out.print(f"     evidence lowered: {r.evidence_note}", markup=False)
    _print_personas(profile)
    out.print("", markup=False)
    for caveat in profile.caveats:
        say(f"note: {caveat}")


def _print_held_out(profile: Any) -> None:
    """The held-out verdict right under the statement: passed, failed (why) or not available."""
    verdict = profile.validation.verdict if profile.validation is not None else None
    lines = (verdict.lines if verdict is not None else None) or [
        "Held-out test: NOT AVAILABLE — the ICP was not tested on data it was not built from."
    ]
    for line in lines:
        out.print(f"  {line}", markup=False)


def _print_partitions(partitions: PartitionsSection | None) -> None:
    """Several ICPs side by side: each one's statement, then what differs between them."""
    if partitions is None or not (partitions.icps or partitions.rules):
        return
    out.print("ICPs side by side:", markup=False)
    for icp in partitions.icps:
        text = icp.note or icp.statement
        out.print(f"  {icp.name} ({icp.n_accounts} accounts): {text}", markup=False)
    for rule in partitions.rules:
        lifts = ", ".join(
            f"{name} {m.lift:.1f}" if m.lift is not None else f"{name} -"
            for name, m in rule.per_icp.items()
        )
        out.print(
            f"  {rule.verdict}: {rule.rule} (lift {lifts}; p {rule.p_differs:.2g})",
            markup=False,
        )
    out.print("", markup=False)


def _print_personas(profile: Any) -> None:
    section = profile.personas
    if section is None:
        return
    out.print("\nWho to talk to:", markup=False)
    top = section.top(section.shown)
    if not top:
        out.print(f"  (no persona stands out on {section.n_deals:,} closed deals)", markup=False)
    for p in top:
        low, high = p.lift_ci
        interval = f" [{low:.1f}, {high:.1f}]" if low is not None and high is not None else ""
        out.print(
            f"  {p.persona}: on {p.deals_with:,} deals, won {p.win_rate_with:.0%} vs "
            f"{p.win_rate_without:.0%} without · {p.lift:.1f}× the win odds{interval} · "
            f"q {p.q_value:.2g}",
            markup=False,
        )


def _customer_table(label: str, group: Any, outcomes: Any) -> None:
    # cells are Text, never markup: an account called "[/]" or "[link=…]" prints as itself
    table = Table(
        "rank", "account", "score", "reason", title=f"{label} customers", title_justify="left"
    )
    for row in group.iter_rows(named=True):
        account = row.get("name") or row["account_id"]
        table.add_row(
            str(row["rank"]),
            Text(plain(account)),
            f"{row['success_score']:.2f}",
            Text(plain(row["reason"])),
        )
    out.print(table)


def _render(ws: Any, version: str, fmt: str, output: Path | None) -> Path:
    from icpkit import pipeline

    return pipeline.render_report(ws, version, fmt, output)


def _render_reports(ws: Any, version: int, *, quiet: bool = False) -> list[Path]:
    paths = []
    try:
        for fmt in ("html", "pdf"):
            path = _render(ws, str(version), fmt, None)
            paths.append(path)
            if not quiet:
                say(f"{fmt.upper()} report: {path}")
    except IcpError as exc:  # a missing PDF engine must not hide the HTML report
        if not quiet:
            err.print(f"note: {exc}", markup=False)
    return paths


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
    dbt: Annotated[
        bool,
        typer.Option(
            "--dbt",
            help="Write a dbt package into the -o folder: the model (source() for schema.table, "
            "ref() for a model name), schema.yml with tests, sources.yml.",
        ),
    ] = False,
    model: Annotated[str, typer.Option(help="The dbt model's name, with --dbt.")] = "icp_score",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write to a file (default: stdout); --dbt: a folder."),
    ] = None,
) -> None:
    """The scorecard as one SELECT: fit_score, tier, fit_probability, criteria, reasons,
    calibrated_score and fit_band per row.

    Example: icpkit export sql --dialect snowflake --table crm.accounts -o icp_score.sql
    (dbt: icpkit export sql --table crm.accounts --dbt -o my_project/models/icp/)
    """
    from icpkit import pipeline
    from icpkit.atomic import write_text_atomic

    ws = pipeline.Workspace.open(workspace) if spec is None else None
    if dbt:
        if output is None:
            raise IcpError("--dbt writes a folder (model, schema.yml, sources.yml): give -o FOLDER")
        files = pipeline.export_dbt(
            ws, table, dialect, output, version=version, spec=spec, id_column=id_column,
            tags=tags, model=model,
        )  # fmt: skip
        for path in files:
            err.print(f"wrote {path}", markup=False)
        return
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
    index: Annotated[
        str | None,
        typer.Option(
            "--index",
            help="Nearest best customers: 'exact' or 'ann' (faiss IVF, the ann extra; pays for "
            "tens of thousands of best customers). Default: lookalikes.index in icpkit.toml.",
        ),
    ] = None,
) -> None:
    """Rank a company universe by fit and likeness to your best customers; customers excluded.

    Example: icpkit lookalikes companies.parquet -o targets.csv --top 200
    """
    from icpkit import pipeline

    mapping = _pairs(columns) if columns else None
    result = pipeline.find_targets(
        pipeline.Workspace.open(workspace), universe, output, version=version, top=top,
        map_columns=map_columns, columns=mapping, include_customers=include_customers,
        show_names=show_names, index=index,
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
    if s.get("text", {}).get("note"):  # the description part is absent: said once
        out.print(s["text"]["note"], markup=False)
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
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes answering requests (rate limits apply per process; builds "
            "run one at a time across them, each in its own process).",
        ),
    ] = 1,
) -> None:
    """Serve the JSON API (/v1, /openapi.json) and the web app for reps and RevOps.

    Every request needs an API key (`icpkit keys create`). Needs the `web` extra.
    Example: icpkit serve -w my-icp/ --port 8000 --workers 4
    """
    try:
        import uvicorn

        from icpkit.web.app import WORKSPACE_ENV, create_app
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
    if workers > 1:  # each worker process opens the workspace itself
        import os

        os.environ[WORKSPACE_ENV] = str(Path(workspace).resolve())
        uvicorn.run(
            "icpkit.web.app:app_from_environment", factory=True, workers=workers, host=host,
            port=port, access_log=False, log_level="warning",
        )  # fmt: skip
        return
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
    name: Annotated[
        str,
        typer.Option(
            help="The operator's label for the key (a team or tool: revops, sales-emea); a "
            "person's name is shown as [name] with the verdicts given with it."
        ),
    ] = "",
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
            help="domain (Company Domain Name), record-id (account_id is the Record ID) or "
            "account-id (account_id is the value of the unique --id-property)."
        ),
    ] = "domain",
    id_property: Annotated[
        str,
        typer.Option(help="The unique company property that holds account_id (defined too)."),
    ] = "icp_account_key",
) -> None:
    """HubSpot companies import CSV (icp_tier, icp_fit_score, icp_reasons, icp_version,
    icp_calibrated_score, icp_band), the property definitions with the unique ID property (body
    of POST /crm/v3/properties/companies/batch/create) and their property group.

    Example: icpkit export hubspot -o crm/ --key record-id
    """
    from icpkit import pipeline

    result = pipeline.export_crm(
        pipeline.Workspace.open(workspace), "hubspot", output, version=version, key=key,
        id_property=id_property,
    )  # fmt: skip
    for line in result.summary_lines():
        out.print(line, markup=False)


@export_app.command("salesforce")
@handled
def export_salesforce(
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the files.")],
    workspace: WorkspaceOpt = Path("."),
    version: Annotated[str, typer.Option(help="Profile version to score with.")] = "latest",
    external_id_field: Annotated[
        str | None,
        typer.Option(help="Key the CSV by this external ID field of Account (value: account_id)."),
    ] = None,
) -> None:
    """Salesforce Account update CSV by Id (ICP_Tier__c, ICP_Fit_Score__c, ICP_Reasons__c,
    ICP_Version__c, ICP_Calibrated_Score__c, ICP_Band__c) and a deployable SFDX project in
    salesforce-sfdx/ (the fields, the external-ID field, permission sets, a layout): cd there and
    run sf project deploy start --source-dir force-app.

    Example: icpkit export salesforce -o crm/
    """
    from icpkit import pipeline

    result = pipeline.export_crm(
        pipeline.Workspace.open(workspace), "salesforce", output, version=version,
        external_id=external_id_field,
    )  # fmt: skip
    for line in result.summary_lines():
        out.print(line, markup=False)


push_app = typer.Typer(
    name="push",
    help="Send the ICP fields to a CRM over its API (resumable; --dry-run writes the requests).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(push_app, name="push")


PushDir = Annotated[Path, typer.Option("-o", "--output", help="Folder for files and the log.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Write the requests; send nothing.")]
MaxWait = Annotated[
    float,
    typer.Option(
        "--max-wait",
        min=0,
        help="Longest Retry-After to wait, in seconds; a longer one stops the push (resume later).",
    ),
]


@push_app.command("hubspot")
@handled
def push_hubspot(
    output: PushDir,
    workspace: WorkspaceOpt = Path("."),
    dry_run: DryRun = False,
    id_property: Annotated[
        str | None,
        typer.Option(help="Update by this unique company property (value: account_id)."),
    ] = None,
    create: Annotated[
        bool,
        typer.Option(
            "--create",
            help="Also create the companies no --id-property value matches (batch upsert).",
        ),
    ] = False,
    base_url: Annotated[
        str | None, typer.Option(help="API base URL (default: https://api.hubapi.com).")
    ] = None,
    version: Annotated[str, typer.Option(help="Profile version to score with.")] = "latest",
    max_wait: MaxWait = 120.0,
) -> None:
    """Update companies by Record ID or by --id-property (CRM v3 batch update: never creates a
    company); --create upserts by --id-property instead. The token is read from HUBSPOT_TOKEN. Re-running with the same -o resumes where a push stopped.

    Example: icpkit push hubspot -o crm/ --dry-run
    """
    import os

    from icpkit import pipeline

    summary = pipeline.push_hubspot(
        pipeline.Workspace.open(workspace), output, token=os.environ.get("HUBSPOT_TOKEN"),
        dry_run=dry_run, id_property=id_property, base_url=base_url, version=version,
        max_wait=max_wait, create=create,
    )  # fmt: skip
    _push_report(summary, output, "companies")


@push_app.command("salesforce")
@handled
def push_salesforce(
    output: PushDir,
    workspace: WorkspaceOpt = Path("."),
    instance_url: Annotated[
        str | None, typer.Option(help="Org URL (default: SALESFORCE_INSTANCE_URL).")
    ] = None,
    external_id_field: Annotated[
        str | None, typer.Option(help="Upsert by this external ID field (value: account_id).")
    ] = None,
    version: Annotated[str, typer.Option(help="Profile version to score with.")] = "latest",
    dry_run: DryRun = False,
    max_wait: MaxWait = 120.0,
) -> None:
    """Update Accounts by Id (REST sObject Collections, 200 a request), or upsert by
    --external-id-field; the token is read from SALESFORCE_ACCESS_TOKEN, the org from
    SALESFORCE_INSTANCE_URL. Re-running with the same -o resumes where a push stopped.

    Example: icpkit push salesforce -o crm/ --dry-run
    """
    import os

    from icpkit import pipeline

    summary = pipeline.push_salesforce(
        pipeline.Workspace.open(workspace), output,
        token=os.environ.get("SALESFORCE_ACCESS_TOKEN"),
        instance_url=instance_url or os.environ.get("SALESFORCE_INSTANCE_URL"),
        dry_run=dry_run, external_id=external_id_field, version=version, max_wait=max_wait,
    )  # fmt: skip
    _push_report(summary, output, "accounts")


def _push_report(summary: dict[str, Any], output: Path, noun: str) -> None:
    """What a push did: rows, rows left out, requests written or batches sent, records refused."""
    out.print(f"{summary['rows']:,} {noun}", markup=False)
    for why, n in summary["left_out"].items():
        if n:
            out.print(f"  left out {n:,}: {why}", markup=False)
    if "requests" in summary:
        out.print(
            f"{len(summary['requests'])} requests written to {output / 'requests'}", markup=False
        )
        return
    out.print(
        f"{summary['sent']} batches sent, {summary['skipped']} already sent before "
        f"(of {summary['batches']})",
        markup=False,
    )
    failed = summary.get("failed") or []
    if failed:
        out.print(f"{len(failed):,} {noun} refused by the CRM (see push-log.jsonl):", markup=False)
        for item in failed[:20]:
            codes = ", ".join(
                e["statusCode"] + (f" ({', '.join(e['fields'])})" if e["fields"] else "")
                for e in item["errors"]
            )
            out.print(f"  {item['id']}: {codes}", markup=False)


# ----------------------------------------------------------------------------- feedback (issue 17)


def _print_timings(timings: Any) -> None:
    """With --verbose: the wall time of every build step (the profile's ``timings``)."""
    if timings is None or not timings.steps:
        return
    total = timings.total_seconds or sum(s.seconds for s in timings.steps) or 1.0
    say("build steps (wall time):", level=2)
    for step in timings.steps:
        share = 100 * step.seconds / total
        say(f"  {step.name:<11} {step.seconds:7.2f} s  {share:3.0f}%", level=2)
    memory = f", peak memory {timings.peak_rss_mb:,.0f} MB" if timings.peak_rss_mb else ""
    say(f"  {'total':<11} {timings.total_seconds:7.2f} s{memory}", level=2)
    for step in timings.second_process or []:  # [build] workers = 2: ran beside the steps
        rss = timings.second_process_peak_rss_mb
        memory = f", peak memory {rss:,.0f} MB" if rss else ""
        say(f"  {step.name:<11} {step.seconds:7.2f} s  in a second process{memory}", level=2)


def _print_feedback(profile: Any) -> None:
    """Reps' verdicts the build summarised: agreement, and who later outcomes proved right."""
    if profile.feedback is None:  # nothing to show: skip importing the report package (jinja2)
        return
    from icpkit.report.feedback_view import feedback_view

    view = feedback_view(profile.feedback)
    if view is None:
        return
    out.print("Feedback from the field:", markup=False)
    for line in view.lines:
        out.print(f"  {line}", markup=False)
    out.print("", markup=False)


# ----------------------------------------------------------------------------- holdout experiment (issue 26)

experiment_app = typer.Typer(
    help="Prove the ICP in production: a random holdout of Tier 1/2 accounts worked as business "
    "as usual, and a read-out that is safe to check every week.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("start")
@handled
def experiment_start(
    workspace: WorkspaceOpt = Path("."),
    holdout: Annotated[
        float, typer.Option(help="Share of the Tier 1/2 accounts held out, drawn within each tier.")
    ] = 0.1,
    version: Annotated[str, typer.Option(help="Profile version whose tiers are used.")] = "latest",
    min_lift: Annotated[
        float,
        typer.Option("--min-lift", help="Relative lift in conversion to plan for (0.2 = +20%)."),
    ] = 0.2,
    alpha: Annotated[float, typer.Option(help="False-alarm rate over every look.")] = 0.05,
    power: Annotated[
        float, typer.Option(help="Chance to detect --min-lift when it is real.")
    ] = 0.8,
    start: Annotated[
        str | None, typer.Option("--start", help="First day (default: today), YYYY-MM-DD.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the draw (default: a random one, stored).")
    ] = None,
    include_customers: Annotated[
        bool, typer.Option("--include-customers", help="Also hold out accounts already won.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write-back file (.csv/.parquet): account_id, name, domain, tier, "
            "icp_experiment_arm (routed | holdout) for the CRM's routing rules.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only the power calculation; store nothing.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a running experiment.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Draw the holdout and say, before it starts, how many weeks it needs.

    Example: icpkit experiment start --holdout 0.1 -o holdout.csv
    """
    from icpkit import pipeline

    ws = pipeline.Workspace.open(workspace)
    plan, rows = pipeline.start_experiment(
        ws,
        version,
        holdout_share=holdout,
        start=_date(start, "--start"),
        seed=seed,
        min_lift=min_lift,
        alpha=alpha,
        power=power,
        include_customers=include_customers,
        dry_run=dry_run,
        replace=replace,
    )
    if output is not None and not dry_run:
        pipeline.write_frame(rows, output)
    if as_json:
        emit_json(plan.model_dump(mode="json"))
        return
    verb = "would hold out" if dry_run else "holds out"
    out.print(
        f"experiment {plan.experiment_id} (version {plan.version}, from {plan.started_on}) "
        f"{verb} {plan.holdout:,} of {plan.accounts:,} accounts: "
        + ", ".join(f"{s.tier} {s.holdout}/{s.accounts}" for s in plan.strata),
        markup=False,
    )
    out.print(plan.power.sentence(), markup=False)
    if output is not None and not dry_run:
        out.print(f"write-back → {output} (column icp_experiment_arm)", markup=False)


@experiment_app.command("report")
@handled
def experiment_report(
    workspace: WorkspaceOpt = Path("."),
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Read out up to this day (default: the latest deal day)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """ICP-routed vs holdout: pipeline, conversion, win rate and revenue, with intervals that stay
    valid however often you look.

    Example: icpkit experiment report
    """
    from icpkit import pipeline

    ws = pipeline.Workspace.open(workspace)
    result = pipeline.experiment_report(ws, _date(as_of, "--as-of"))
    if as_json:
        emit_json(result.to_dict())
        return
    out.print(
        f"experiment {result.experiment_id}: {result.started_on} → {result.as_of} "
        f"({result.weeks:.1f} weeks of {result.planned_weeks} planned)",
        markup=False,
    )
    out.print(result.verdict, markup=False)
    table = Table(show_header=True, header_style="bold")
    for column in (
        "metric",
        "routed",
        "holdout",
        "effect",
        f"{1 - result.alpha:.0%} CS",
        "verdict",
    ):
        table.add_column(column)
    for item in result.effects:
        table.add_row(
            _METRIC_LABELS[item.metric],
            _metric_value(item.metric, item.routed),
            _metric_value(item.metric, item.holdout),
            _metric_value(item.metric, item.effect, sign=True),
            f"[{_metric_value(item.metric, item.low, sign=True)}, "
            f"{_metric_value(item.metric, item.high, sign=True)}]",
            item.verdict,
        )
    out.print(table)
    for arm in result.arms:
        out.print(
            f"  {arm.arm}: {arm.accounts:,} accounts, {arm.deals_created:,} deals created "
            f"({arm.pipeline_amount:,.0f}), {arm.accounts_won:,} accounts won, "
            f"revenue {arm.revenue:,.0f}",
            markup=False,
        )


_METRIC_LABELS = {
    "conversion": "accounts won",
    "pipeline_deals": "deals / account",
    "pipeline_amount": "pipeline / account",
    "revenue": "revenue / account",
    "win_rate": "win rate (closed deals)",
}


def _metric_value(metric: str, value: float, *, sign: bool = False) -> str:
    import math

    if not math.isfinite(value):
        return "–"
    plus = "+" if sign else ""
    if metric in ("conversion", "win_rate"):
        return f"{value * 100:{plus}.1f}%" if not sign else f"{value * 100:+.1f} pts"
    if metric == "pipeline_deals":
        return f"{value:{plus}.3f}"
    return f"{value:{plus},.0f}"


@experiment_app.command("stop")
@handled
def experiment_stop(
    workspace: WorkspaceOpt = Path("."),
    on: Annotated[str | None, typer.Option("--on", help="Last day (default: today).")] = None,
) -> None:
    """End the running experiment (its data stay; `experiment report` still reads it).

    Example: icpkit experiment stop
    """
    from datetime import date

    from icpkit.lifecycle.audit import record
    from icpkit.lifecycle.experiment import stop_experiment

    plan = stop_experiment(Path(workspace), _date(on, "--on") or date.today())
    record(workspace, "experiment", f"experiment {plan.experiment_id} stopped on {plan.stopped_on}")
    out.print(f"experiment {plan.experiment_id} stopped on {plan.stopped_on}", markup=False)


# ----------------------------------------------------------------------------- product usage (issue 28)

usage_app = typer.Typer(help="Product usage: events export → behavioural features (docs/usage.md).")
app.add_typer(usage_app, name="usage")


@usage_app.command("features")
@handled
def usage_features_command(
    workspace: WorkspaceOpt = Path("."),
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Parquet or CSV file to write.")
    ] = Path("usage_features.parquet"),
    as_of: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD: no event on or after it counts.")
    ] = None,
) -> None:
    """Behavioural features of every account as of a date (streamed over the export).

    Example: icpkit usage features -w exports/ --as-of 2025-06-30 -o features.parquet
    """
    from icpkit import pipeline

    result = pipeline.usage_features_of(pipeline.Workspace.open(workspace), _date(as_of, "--as-of"))
    written = pipeline.write_frame(result.frame, output)
    for note in result.notes:
        say(note)
    out.print(f"{result.frame.height:,} accounts × {len(result.columns)} features → {written}")


# ----------------------------------------------------------------------------- sync (issue 26)


@app.command()
@handled
def sync(
    crm: Annotated[str, typer.Argument(help="hubspot | salesforce", metavar="CRM")],
    workspace: WorkspaceOpt = Path("."),
    full: Annotated[
        bool, typer.Option("--full", help="Re-read every record instead of the changes.")
    ] = False,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="API base URL (default: $HUBSPOT_API_BASE or https://api.hubapi.com; "
            "Salesforce: the org URL, default $SALESFORCE_INSTANCE_URL)."
        ),
    ] = None,
    notes: Annotated[bool, typer.Option("--notes", help="Also sync notes.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Pull companies/accounts, deals/opportunities (with their company), contacts (job titles
    only) and optionally notes from the CRM's API into WS/crm/CRM/ as Parquet, and point
    icpkit.toml at them. Incremental after the first run; a killed sync resumes. The token is
    read from HUBSPOT_TOKEN or SALESFORCE_ACCESS_TOKEN, never stored (docs/sync.md).

    Example: HUBSPOT_TOKEN=pat-... icpkit sync hubspot -w my-icp/ && icpkit build -w my-icp/
    """
    from icpkit.lifecycle.audit import record
    from icpkit.sync import sync_workspace

    result = sync_workspace(
        workspace, crm.lower(), full=full, base_url=base_url, include_notes=notes
    )
    record(
        workspace,
        "sync",
        f"synced from {crm.lower()}: {result.api_calls} API calls, "
        + ", ".join(f"{o.name} +{o.added}/~{o.updated}/-{o.deleted}" for o in result.objects),
    )
    if as_json:
        emit_json(result.to_dict())
        return
    for o in result.objects:
        why = f" ({o.why_full})" if o.why_full else ""
        again = ", resumed" if o.resumed else ""
        out.print(
            f"{o.name} → {o.table}: {o.mode}{why}{again}; +{o.added:,} added, {o.updated:,} "
            f"updated, {o.deleted:,} deleted; {o.rows:,} rows",
            markup=False,
        )
    out.print(
        f"{result.api_calls:,} API calls ({result.retries:,} retried), "
        f"{result.elapsed_seconds:.1f} s; tables in {result.folder}/"
        + ("; icpkit.toml sources updated" if result.config_written else ""),
        markup=False,
    )


# ----------------------------------------------------------------------------- rep views (issue 27)


@app.command("embed-link")
@handled
def embed_link(
    account: Annotated[
        str | None, typer.Option("--account", help="The account's id in the CRM export.")
    ] = None,
    domain: Annotated[
        str | None, typer.Option("--domain", help="Or its domain (a URL is read as its domain).")
    ] = None,
    minutes: Annotated[int, typer.Option(min=1, help="How long the link works.")] = 60,
    base_url: Annotated[
        str, typer.Option("--base-url", help="The icpkit server's address, as the CRM reaches it.")
    ] = "http://127.0.0.1:8000",
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """A signed, expiring link to one account's card, for a CRM's frame (docs/embed.md).

    The secret is read from the environment variable of [web] embed_secret_env
    (ICPKIT_EMBED_SECRET by default), the same one `icpkit serve` reads.
    Example: ICPKIT_EMBED_SECRET=... icpkit embed-link --domain acme.io --minutes 15
    """
    from icpkit.config import load_config
    from icpkit.errors import ConfigError
    from icpkit.web.embed import EmbedLinks

    if (account is None) == (domain is None):
        raise ConfigError("give exactly one of --account and --domain")
    links = EmbedLinks.from_settings(load_config(workspace).web)
    if account is not None:
        path, expires = links.mint("id", account, minutes * 60)
    else:
        path, expires = links.mint("domain", domain or "", minutes * 60)
    from datetime import UTC, datetime

    out.print(base_url.rstrip("/") + path, markup=False, soft_wrap=True)
    when = datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds")
    err.print(f"works until {when}", markup=False)


# ------------------------------------------- refresh, promotion gate, promote/rollback, audit (issue 26)


@app.command()
@handled
def promote(
    version: Annotated[str, typer.Argument(help="The version to put in use: 7, v7 or newest.")],
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Make a version the one in use (score, prioritize, exports and the server follow it).

    Example: icpkit promote 7
    """
    from icpkit.refresh.live import promote as promote_version

    change = promote_version(workspace, version)
    if as_json:
        emit_json(change.to_dict())
        return
    out.print(change.line(), markup=False)


@app.command()
@handled
def rollback(
    version: Annotated[
        str | None,
        typer.Argument(help="The version to go back to (default: the one in use before)."),
    ] = None,
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Go back to an earlier version in one step; every version stays stored.

    Example: icpkit rollback        (or: icpkit rollback 4)
    """
    from icpkit.refresh.live import rollback as rollback_version

    change = rollback_version(workspace, version)
    if as_json:
        emit_json(change.to_dict())
        return
    out.print(change.line(), markup=False)


REFRESH_EXIT = """Exit codes: 0 promoted or nothing to do; 10 candidate rejected (the version in
use stays); 11 the gate could not judge (too few held-out deals); 20 data check failed; 21 sync
failed; 22 build failed; 30 push partly or wholly refused; 1 a usage or config error.
See docs/operations.md."""


@app.command(epilog=REFRESH_EXIT)
def refresh(
    workspace: WorkspaceOpt = Path("."),
    push: Annotated[
        str | None,
        typer.Option(help="Push changed rows to hubspot or salesforce (default: [refresh] push)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Push: write the requests; send nothing.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Build a candidate even when no data changed.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Sync → check → candidate → promotion gate → rescore → push changes → alerts, for a scheduler.

    Example: icpkit refresh -w /srv/icp   (cron, systemd, Kubernetes, Airflow: docs/operations.md)
    """
    if push is not None and push not in ("hubspot", "salesforce", "none"):
        err.print(f"error: --push must be hubspot, salesforce or none; got {push!r}")
        raise typer.Exit(2)
    result = _refresh_run(
        workspace=workspace, push=push, dry_run=dry_run, force=force, as_json=as_json
    )
    if as_json:
        emit_json(result.to_dict())
    else:
        for line in result.lines():
            out.print(line, markup=False)
    raise typer.Exit(result.exit_code)


@handled
def _refresh_run(
    workspace: Path, push: str | None, dry_run: bool, force: bool, as_json: bool
) -> Any:
    from icpkit.refresh.run import refresh as run_refresh

    return run_refresh(workspace, push=push, dry_run=dry_run, force=force)


# ----------------------------------------------------------------------------- enrichment and market size (issue 29)


@app.command()
@handled
def enrich(
    workspace: WorkspaceOpt = Path("."),
    universe: Annotated[
        list[Path] | None,
        typer.Option(
            "--universe",
            help="Company universe file (CSV/Parquet; FinanceDatabase, a purchased list, a "
            "lookalikes output); repeat for a waterfall, first wins. Default: enrich.universes.",
        ),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace values the CRM already has.")
    ] = False,
    threshold: Annotated[
        float | None, typer.Option(help="Match probability needed (default: enrich.threshold).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fill missing firmographics from company universes, with provenance; find duplicate accounts.

    Example: icpkit enrich -w exports/ --universe equities.csv --universe list.parquet
    """
    from icpkit import pipeline

    ws = pipeline.Workspace.open(workspace)
    result = pipeline.enrich_workspace(
        ws, universe or None, overwrite=overwrite or None, threshold=threshold
    )
    if as_json:
        emit_json(result.summary.model_dump(mode="json"))
        return
    for line in pipeline.enrichment_lines(ws):
        out.print(line, markup=False)


@app.command()
@handled
def market(
    workspace: WorkspaceOpt = Path("."),
    universe: Annotated[Path, typer.Option("--universe", help="Company universe file.")] = Path(),
    version: Annotated[str, typer.Option(help="Profile version to score with.")] = "latest",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Also write the market report (.html or .md)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The size of the market in a universe: companies, expected wins and revenue potential per
    tier, country and industry, with 80% intervals; penetration.

    Example: icpkit market -w exports/ --universe equities.csv -o market.html
    """
    from icpkit import pipeline

    if universe == Path():
        from icpkit.errors import ConfigError

        raise ConfigError("market needs --universe FILE")
    ws = pipeline.Workspace.open(workspace)
    result = pipeline.market_workspace(ws, universe, version=version)
    if output is not None:
        from icpkit.atomic import write_text_atomic
        from icpkit.report.enrich_view import market_html, market_markdown

        text = market_markdown(result) if output.suffix.lower() == ".md" else market_html(result)
        write_text_atomic(output, text)
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    from icpkit.report.enrich_view import market_lines

    for line in market_lines(result):
        out.print(line, markup=False)


@app.command()
@handled
def provisional(
    seeds: Annotated[Path, typer.Option("--seeds", help="Seed accounts (names and/or domains).")],
    universe: Annotated[Path, typer.Option("--universe", help="Company universe file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Lookalikes (.csv/.parquet).")],
    workspace: Annotated[
        Path | None, typer.Option("-w", "--workspace", help="Workspace (for enrich settings).")
    ] = None,
    top: Annotated[int, typer.Option(help="How many lookalikes to keep.")] = 500,
) -> None:
    """A provisional ICP from a seed list when the CRM is thin: traits shrunk toward the
    universe's base rates, lookalikes ranked by them. Labelled PROVISIONAL.

    Example: icpkit provisional --seeds customers.csv --universe equities.csv -o targets.csv
    """
    from icpkit import pipeline

    ws = pipeline.Workspace.open(workspace) if workspace else None
    result = pipeline.provisional_from_seeds(ws, seeds, universe, output, top=top)
    for line in result.lines():
        out.print(line, markup=False)
    out.print(f"{result.ranked.height:,} lookalikes written to {output}", markup=False)


@app.command()
@handled
def pqa(
    workspace: WorkspaceOpt = Path("."),
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today).")] = None,
    top: Annotated[int, typer.Option(help="Accounts to list.")] = 20,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write every scored account here.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Product-qualified accounts: open/free/trial accounts ranked by fit × usage, in MadKudu-
    style bands, with the held-out check (share of later conversions in the top 30%).

    Example: icpkit pqa -w exports/ --top 50
    """
    from icpkit import pipeline
    from icpkit.report.usage_view import ratio_words

    result = pipeline.product_qualified(pipeline.Workspace.open(workspace), _date(as_of, "--as-of"))
    if output is not None:
        pipeline.write_frame(result.scores.drop("converted", strict=False), output)
    if as_json:
        emit_json(result.to_dict())
        return
    out.print(f"{result.scores.height:,} open accounts as of {result.as_of}", markup=False)
    for row in result.scores.head(top).iter_rows(named=True):
        out.print(
            f"  {row['rank']:>4}  {row['account_id']:<16} {row['band']:<9} "
            f"PQA {row['pqa']:.3f}  fit {row['fit']:.2f}  usage {row['usage']:.2f}",
            markup=False,
        )
    check = result.check
    if check is None:
        say(f"held-out check: not available ({result.reason})")
        return
    out.print(
        f"held-out check (open on {check.cut}, next {check.horizon_days} days, "
        f"{check.conversions} conversions of {check.accounts}): top 30% by PQA hold "
        f"{check.top30_share_pqa:.0%} (fit alone {check.top30_share_fit:.0%}); the top 10% "
        f"convert {ratio_words(check.top_vs_bottom_pqa, check.top_vs_bottom_pqa_ci)} the low "
        f"band (fit alone {ratio_words(check.top_vs_bottom_fit, check.top_vs_bottom_fit_ci)}), "
        f"'very high' (top 1%) "
        f"{ratio_words(check.very_high_vs_low_pqa, check.very_high_vs_low_pqa_ci)}",
        markup=False,
    )
    for band in check.bands:
        out.print(
            f"  {band.band:<9} {band.conversions:>4} of {band.accounts:<5} converted "
            f"({band.rate:.0%}, 95% {band.rate_low or 0:.0%}–{band.rate_high or 1:.0%})",
            markup=False,
        )


@app.command()
@handled
def audit(
    workspace: WorkspaceOpt = Path("."),
    verify: Annotated[
        bool, typer.Option("--verify", help="Check the hash chain: exit 1 if a line was edited.")
    ] = False,
    last: Annotated[int, typer.Option(help="Show the last N events (0: all).", min=0)] = 50,
    as_json: JsonOpt = False,
) -> None:
    """The audit log: who synced, built, promoted, rolled back, pushed, made keys, gave feedback.

    Example: icpkit audit --last 20; icpkit audit --verify
    """
    from icpkit.lifecycle import audit as audit_log

    if verify:
        found = audit_log.verify(workspace)
        if as_json:
            emit_json(found.to_dict())
        else:
            state = "intact" if found.ok else "TAMPERED"
            out.print(f"{found.lines} events; the chain is {state}", markup=False)
            for problem in found.problems:
                out.print(f"  {problem}", markup=False)
        if not found.ok:
            raise typer.Exit(1)
        return
    events = audit_log.read(workspace, limit=last or None)
    if as_json:
        emit_json({"events": [e.to_dict() for e in events]})
        return
    if not events:
        out.print("no audit events yet", markup=False)
    for event in events:
        out.print(event.line(), markup=False)
