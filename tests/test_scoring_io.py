"""The scoring I/O path: one reader and one normaliser for the CLI, the Python API and drift;
a scored file a rep can use; outputs that never destroy the input or strand temporary files.

Every file here is invented: a small, messy CRM export (Latin-1, semicolons, "NA" industries,
"51-200" ranges, "$12.5M" amounts, tag cells, a date attribute, country names).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
import tomli_w
from typer.testing import CliRunner

from icpkit.atomic import atomic_path
from icpkit.cli import app
from icpkit.config import load_config
from icpkit.data import crm_from_frames, load_workspace, read_table
from icpkit.data.readers import read_batches
from icpkit.errors import IcpError, SchemaError
from icpkit.lifecycle.store import Store, fingerprint
from icpkit.pipeline import Workspace, drift_check, score_accounts
from icpkit.profile import IcpProfile
from icpkit.scoring import FitScorer, score_file, score_frame
from icpkit.scoring.bulk import csv_safe

runner = CliRunner()
HEADER = [
    "Account ID",
    "Company",
    "Industry",
    "Number of Employees",
    "Annual Revenue",
    "Country",
    "Tech Stack",
    "Signup Date",
]
INDUSTRIES = ["Software", "Retail", "NA", "Manufacturing", "Café & Bäckerei", " Software "]
EMPLOYEES = ["51-200", "1,001-5,000", "10K+", "12", "", "201-500", "3"]
REVENUE = ["$12.5M", "£3M", "500000", "n/a", "$1.2B", "750K", ""]
COUNTRIES = ["Germany", "US", "United Kingdom", "France", "usa", ""]
TAGS = ["Salesforce; HubSpot", "Slack|Zoom", "", "Salesforce", "HubSpot, Slack"]


def _rows(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append(
            [
                f"A{i:05d}",
                f"Firma {i} GmbH",
                rng.choice(INDUSTRIES),
                rng.choice(EMPLOYEES),
                rng.choice(REVENUE),
                rng.choice(COUNTRIES),
                rng.choice(TAGS),
                f"20{rng.randint(15, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            ]
        )
    return rows


def write_export(
    path: Path, rows: list[list[str]], encoding: str = "latin-1", header: list[str] = HEADER
) -> Path:
    def cell(c: str) -> str:
        return '"' + c.replace('"', '""') + '"' if any(x in c for x in ';"\n') else c

    lines = [";".join(header)] + [";".join(cell(c) for c in r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with a Latin-1, semicolon export and a saved profile learned from it."""
    root = tmp_path_factory.mktemp("messy")
    write_export(root / "accounts.csv", _rows(400, seed=1))
    rng = random.Random(0)
    deals = ["deal_id,account_id,created_at,closed_at,stage,amount"]
    for i in range(300):
        month = rng.randint(1, 12)
        stage = rng.choice(["won", "lost", "lost"])
        deals.append(f"D{i},A{rng.randrange(400):05d},2024-{month:02d}-01,2024-{month:02d}-20,"
                     f"{stage},{rng.randint(1, 90) * 1000}")  # fmt: skip
    (root / "deals.csv").write_text("\n".join(deals) + "\n")
    config = {
        "name": "messy",
        "sources": {
            "accounts": {
                "path": "accounts.csv",
                "columns": {
                    "account_id": "Account ID",
                    "name": "Company",
                    "employees": "Number of Employees",
                    "tech_stack": "Tech Stack",
                },
            },
            "deals": {"path": "deals.csv"},
        },
    }
    (root / "icpkit.toml").write_text(tomli_w.dumps(config))
    crm = load_workspace(load_config(root), root)
    accounts = crm.accounts
    attrs = accounts.select(
        "industry", "employees", "annual_revenue", "country", "tech_stack", "signup_date"
    )
    assert attrs.schema["signup_date"] == pl.Date  # a date attribute, typed by the data layer
    rng = np.random.default_rng(0)
    logit = (
        1.5 * (attrs["industry"] == "Software").fill_null(False).to_numpy()
        + 0.01 * attrs["employees"].fill_null(0).clip(0, 200).to_numpy()
        - 1.5
    )
    y = (rng.random(attrs.height) < 1 / (1 + np.exp(-logit))).astype(int)
    scorer = FitScorer(random_state=0, min_bin_share=0.02).fit(attrs, y)
    profile = IcpProfile(
        name="messy",
        scorecard=scorer.scorecard_.to_dict(),
        tiers={"cuts": {"tier1": 70, "tier2": 55, "tier3": 40}},
        success_definition={"as_of": "2025-01-01"},
    )
    Store(root).save(
        profile.to_json(),
        config_hash=load_config(root).content_hash(),
        fingerprint=fingerprint(crm),
        validation=None,
    )
    return root


def _profile(root: Path) -> IcpProfile:
    return Store(root).get("latest").profile()


def _cli(*args: object, input: bytes | None = None) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
    return result.exit_code, result.output


SCORE_COLUMNS = ["fit_score", "fit_probability", "tier", "reasons", "criteria_met"]


def _score_part(frame: pl.DataFrame) -> pl.DataFrame:
    keep = [c for c in frame.columns if c in SCORE_COLUMNS or c.startswith("points_")]
    return frame.select(keep).with_columns(
        pl.col("fit_score").cast(pl.Int64),
        pl.col("^points_.*$").cast(pl.Int64),
        pl.col("criteria_met").fill_null(""),
    )


# ---------------------------------------------------------------------------------------------
# 1. One reader, one normaliser


ENCODINGS = ["latin-1", "cp1252", "utf-16", "utf-8-sig", "utf-8"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_streamed_batches_equal_read_table(tmp_path: Path, encoding: str) -> None:
    rows = _rows(60, seed=3)
    rows[5][1] = 'Line\none; "quoted"'  # a quoted newline and delimiter inside a cell
    if encoding in ("latin-1",):
        rows[6][2] = "Électricité"
    path = write_export(tmp_path / "x.csv", rows, encoding)
    whole = read_table(path)
    streamed = read_batches(path, batch_rows=7)
    batches = list(streamed.batches)
    assert len(batches) >= 2
    assert streamed.columns == whole.columns
    assert pl.concat(batches).equals(whole)


def test_streamed_batches_name_a_repeated_header_like_read_table(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text('a,b,a,,\n1,2,3,4,5\n,"",x,,\n')
    whole = read_table(path)
    assert pl.concat(list(read_batches(path).batches)).equals(whole)
    assert whole.columns == ["a", "b", "a_duplicated_0", "", "_duplicated_0"]


def test_cli_and_python_api_score_a_messy_export_identically(messy: Path, tmp_path: Path) -> None:
    export = write_export(tmp_path / "prospects.csv", _rows(250, seed=2))
    code, text = _cli("score", export, "-o", tmp_path / "cli.csv", "-w", messy, "--map")
    assert code == 0, text
    cli = pl.read_csv(tmp_path / "cli.csv", infer_schema=False)
    ws = Workspace.open(messy)
    api_path = score_accounts(_profile(messy), export, workspace=ws)
    api_frame = score_accounts(_profile(messy), read_table(export), workspace=ws)
    api_pandas = score_accounts(_profile(messy), read_table(export).to_pandas(), workspace=ws)
    assert isinstance(api_pandas, pd.DataFrame)
    expected = _score_part(api_path)
    assert (
        _score_part(cli.with_columns(pl.col("fit_probability").cast(pl.Float64)))
        .select(pl.exclude("fit_probability"))
        .equals(expected.select(pl.exclude("fit_probability")))
    )
    assert _score_part(api_frame).equals(expected)
    assert _score_part(pl.from_pandas(api_pandas)).equals(expected)


def test_scores_of_a_file_equal_scores_of_the_rows_the_build_was_trained_on(messy: Path) -> None:
    """No train/serve skew: the workspace's own export, scored as a file, gets the scores its
    rows got as loaded by the data layer (industry 'NA', ranges, amounts, dates, tags)."""
    profile = _profile(messy)
    trained = score_frame(profile, Workspace.open(messy).load().accounts)
    served = score_accounts(profile, messy / "accounts.csv", workspace=Workspace.open(messy))
    assert served["fit_score"].to_list() == trained["fit_score"].to_list()
    assert served["reasons"].to_list() == trained["reasons"].to_list()
    assert "NA" in read_table(messy / "accounts.csv")["Industry"].to_list()


def test_a_date_attribute_scores_without_map_and_missing_columns_mention_map(
    messy: Path, tmp_path: Path
) -> None:
    rows = _rows(30, seed=4)
    plain = tmp_path / "plain.csv"  # icpkit's own names, a date column, no --map
    names = ["account_id", "name", "industry", "employees", "annual_revenue", "country"]
    pl.DataFrame(
        {n: [r[i] for r in rows] for i, n in enumerate([*names, "tech_stack", "signup_date"])}
    ).write_csv(plain)
    code, text = _cli("score", plain, "-o", tmp_path / "out.csv", "-w", messy)
    assert code == 0, text
    out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert out.height == 30 and out["points_signup_date"].null_count() == 0
    export = write_export(tmp_path / "export.csv", rows)  # export headers without --map
    code, text = _cli("score", export, "-o", tmp_path / "out2.csv", "-w", messy)
    assert code != 0 and "--map" in text and "Traceback" not in text
    assert not (tmp_path / "out2.csv").exists()


def test_drift_against_a_sample_of_the_own_accounts_reports_no_population_drift(
    messy: Path, tmp_path: Path
) -> None:
    raw = read_table(messy / "accounts.csv")
    sample = raw.sample(200, seed=5)
    prospects = tmp_path / "sample.csv"
    sample.write_csv(prospects, separator=";")
    result = drift_check(Workspace.open(messy), against=prospects)
    compared = {d.attribute for d in result.population}
    assert {"industry", "employees", "annual_revenue", "country"} <= compared
    assert all(d.psi < 0.1 for d in result.population), [
        (d.attribute, d.psi) for d in result.population
    ]


# ---------------------------------------------------------------------------------------------
# 2. A scored file a rep can use


def test_points_add_up_to_the_score_on_every_row(messy: Path, tmp_path: Path) -> None:
    export = write_export(tmp_path / "p.csv", _rows(300, seed=6))
    score_file(
        _profile(messy),
        export,
        tmp_path / "out.parquet",
        batch_rows=64,
        source=_accounts_source(messy),
    )
    out = pl.read_parquet(tmp_path / "out.parquet")
    points = [c for c in out.columns if c.startswith("points_")]
    assert len(points) >= 5
    total = out.select(pl.sum_horizontal("base_score", *points).alias("t"))["t"]
    assert (total == out["fit_score"].cast(pl.Int64)).all()


def test_reasons_are_plain_words_never_raw_rule_text(messy: Path, tmp_path: Path) -> None:
    out = score_accounts(_profile(messy), messy / "accounts.csv", workspace=Workspace.open(messy))
    text = " ".join(out["reasons"].drop_nulls().to_list())
    assert " = '" not in text and " in [" not in text and "contains" not in text
    assert any(r.endswith(")") and "(+" in r for r in out["reasons"].drop_nulls())
    assert "Software company (+" in text


def test_the_csv_guard_escapes_only_dangerous_cells(messy: Path, tmp_path: Path) -> None:
    rows = _rows(6, seed=7)
    names = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "Plain GmbH"]
    for row, name in zip(rows, names, strict=True):
        row[1] = name
    rows[0][0], rows[1][0] = "-42", "+7"  # plain numbers stay numbers
    export = tmp_path / "evil.csv"
    pl.DataFrame({h: [r[i] for r in rows] for i, h in enumerate(HEADER)}).write_csv(export)
    score_file(_profile(messy), export, tmp_path / "out.csv", source=_accounts_source(messy))
    out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert out["Company"].to_list() == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTab",
        "Plain GmbH",
    ]
    assert out["Account ID"].to_list()[:2] == ["-42", "+7"]
    escaped = [c for c in out.columns if any(str(v).startswith("'") for v in out[c].to_list())]
    assert escaped == ["Company"]  # reasons, tiers, points and the rest: untouched


def _accounts_source(root: Path):
    return load_config(root).sources["accounts"]


def test_map_keeps_the_exports_columns_and_appends_icpkits(messy: Path, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.csv", _rows(40, seed=8))
    code, text = _cli("score", export, "-o", tmp_path / "out.csv", "-w", messy, "--map")
    assert code == 0, text
    out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    original = read_table(export)
    assert out.columns[: len(HEADER)] == HEADER
    assert out.select(HEADER).fill_null("").equals(original.fill_null(""))
    added = out.columns[len(HEADER) :]
    assert added[:4] == ["fit_score", "fit_probability", "tier", "reasons"]
    assert all(not c.startswith(("account_id", "employees", "industry")) for c in added)
    empty = [c for c in added if out[c].null_count() == out.height and c != "disqualifiers_hit"]
    assert not [c for c in empty if c != "criteria_met"]


def test_score_help_documents_the_output_columns() -> None:
    code, text = _cli("score", "--help")
    assert code == 0 and "points_<attr>" in text and "base_score" in text
    code, text = _cli("score", "--columns", "x", "-o", "y")
    assert code == 0 and "fit_probability" in text
    docs = (Path(__file__).parents[1] / "docs" / "scoring.md").read_text(encoding="utf-8")
    assert "points_<attr>" in docs and "base_score" in docs


# ---------------------------------------------------------------------------------------------
# 3. Safe outputs and no tracebacks


def test_score_refuses_to_replace_its_input_unless_forced(messy: Path, tmp_path: Path) -> None:
    export = write_export(tmp_path / "in.csv", _rows(20, seed=9))
    before = export.read_bytes()
    code, text = _cli("score", export, "-o", export, "-w", messy, "--map")
    assert code != 0 and "--force" in text and export.read_bytes() == before
    code, text = _cli("score", export, "-o", export, "-w", messy, "--map", "--force")
    assert code == 0, text
    assert "fit_score" in export.read_text(encoding="latin-1").splitlines()[0]


def test_output_pointing_at_a_folder_is_a_clear_error(messy: Path, tmp_path: Path) -> None:
    export = write_export(tmp_path / "in.csv", _rows(20, seed=9))
    code, text = _cli("score", export, "-o", tmp_path, "-w", messy, "--map")
    assert code != 0 and "is a folder" in text and "Traceback" not in text


def test_a_killed_run_leaves_no_part_file_after_the_next_run(tmp_path: Path) -> None:
    target = tmp_path / "scored.csv"
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from icpkit.atomic import atomic_path\n"
        f"with atomic_path(Path({str(target)!r})) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], check=False)
    assert proc.returncode != 0
    stranded = list(tmp_path.glob(".scored.csv.*.part"))
    assert len(stranded) == 1
    with atomic_path(target) as tmp:  # the next run into the same place cleans up
        tmp.write_text("done")
    assert target.read_text() == "done"
    assert not list(tmp_path.glob(".*.part"))


def test_a_live_writers_part_file_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "scored.csv"
    live = tmp_path / f".scored.csv.{os.getppid()}.abc.part"
    live.write_text("another run is writing")
    with atomic_path(target) as tmp:
        tmp.write_text("done")
    assert live.exists()


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_score_reads_latin1_and_utf16_csv(messy: Path, tmp_path: Path, encoding: str) -> None:
    export = write_export(tmp_path / "in.csv", _rows(30, seed=10), encoding)
    code, text = _cli("score", export, "-o", tmp_path / "out.csv", "-w", messy, "--map")
    assert code == 0, text
    out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert out.height == 30 and "Café & Bäckerei" in " ".join(out["Industry"].drop_nulls())


def test_a_duplicated_header_scores_or_fails_cleanly(messy: Path, tmp_path: Path) -> None:
    rows = [[*r, "x"] for r in _rows(10, seed=11)]
    export = write_export(tmp_path / "dup.csv", rows, "utf-8", [*HEADER, "Industry"])
    code, text = _cli("score", export, "-o", tmp_path / "out.csv", "-w", messy, "--map")
    assert code == 0, text
    out = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert "Industry_duplicated_0" in out.columns and out.height == 10


def test_parquet_with_a_string_tag_column(messy: Path, tmp_path: Path) -> None:
    frame = read_table(messy / "accounts.csv").head(50)
    frame.write_parquet(tmp_path / "in.parquet")
    code, text = _cli(
        "score", tmp_path / "in.parquet", "-o", tmp_path / "o.csv", "-w", messy, "--map"
    )
    assert code == 0, text
    expected = score_accounts(_profile(messy), frame, workspace=Workspace.open(messy))
    out = pl.read_csv(tmp_path / "o.csv", infer_schema=False)
    assert out["fit_score"].cast(pl.Int64).to_list() == expected["fit_score"].to_list()


def test_bad_inputs_are_icp_errors(messy: Path, tmp_path: Path) -> None:
    profile = _profile(messy)
    for name, content in {
        "empty.csv": b"",
        "binary.csv": b"PK\x03\x04garbage",
        "ragged.csv": b"a;b\n1;2;3;4\n",
    }.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(IcpError):
            score_file(profile, tmp_path / name, tmp_path / "out.csv")
    with pytest.raises(SchemaError):
        score_file(profile, tmp_path / "missing.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


# ---------------------------------------------------------------------------------------------
# 4. CLI conventions


def test_stdin_to_stdout(messy: Path, tmp_path: Path) -> None:
    export = write_export(tmp_path / "in.csv", _rows(25, seed=12), "utf-8")
    code, text = _cli("score", "-", "-o", "-", "-w", messy, "--map", input=export.read_bytes())
    assert code == 0
    lines = [line for line in text.splitlines() if line.startswith('"') or "fit_score" in line]
    assert "fit_score" in lines[0] and len(lines) == 26


def test_json_results_and_json_errors(messy: Path, tmp_path: Path) -> None:
    export = write_export(tmp_path / "in.csv", _rows(20, seed=13))
    code, text = _cli("score", export, "-o", tmp_path / "o.csv", "-w", messy, "--map", "--json")
    assert code == 0 and json.loads(text) == {
        "rows": 20,
        "output": str(tmp_path / "o.csv"),
        "missing_columns": [],  # always there: attributes scored as missing (--allow-missing)
    }
    code, text = _cli("versions", "-w", messy, "--json")
    assert code == 0 and json.loads(text)["versions"][0]["version"] == 1
    code, text = _cli(
        "score", tmp_path / "nope.csv", "-o", tmp_path / "o2.csv", "-w", messy, "--json"
    )
    error = json.loads(text)["error"]
    assert code != 0 and error["type"] == "SchemaError" and "nope.csv" in error["message"]


def test_every_verb_that_prints_a_result_takes_json() -> None:
    for verb in ("demo", "init", "check", "customers", "build", "score", "report", "versions",
                 "diff", "drift"):  # fmt: skip
        code, text = _cli(verb, "--help")
        assert code == 0 and "--json" in text, verb


def test_workspace_from_the_environment(messy: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ICPKIT_WORKSPACE", str(messy))
    result = runner.invoke(app, ["versions", "--json"], catch_exceptions=False)
    assert result.exit_code == 0 and json.loads(result.output)["versions"]


def test_quiet_prints_only_the_result(messy: Path, tmp_path: Path) -> None:
    code, text = _cli("--quiet", "check", "-w", messy)
    assert code == 0 and "Tables:" not in text and text.strip().startswith("OK")


def test_crm_from_frames_takes_pandas() -> None:
    accounts = pd.DataFrame(
        {"account_id": ["A1", "A2"], "industry": ["Software", "NA"], "employees": ["51-200", "9"]}
    )
    crm = crm_from_frames({"accounts": accounts})
    assert crm.accounts["employees"].to_list() == [125.5, 9.0]
    with pytest.raises(SchemaError, match="polars or pandas"):
        crm_from_frames({"accounts": [1, 2]})  # type: ignore[dict-item]


def test_csv_safe_leaves_icpkits_reason_words_alone() -> None:
    import pyarrow as pa

    table = pa.table({"reasons": ["Software company (+18); under 10 employees (\u221212)"]})
    assert csv_safe(table).column("reasons").to_pylist()[0].startswith("Software")


# ---------------------------------------------------------------------------------------------
# 7. Wide files


def test_a_header_wider_than_the_sniffing_window_is_read_whole(tmp_path: Path) -> None:
    names = [f"attribute_number_{i}" for i in range(6000)]  # a header line of ~130 kB
    path = tmp_path / "wide.csv"
    path.write_text(",".join(names) + "\n" + ",".join("x" for _ in names) + "\n")
    streamed = read_batches(path)
    assert streamed.columns == names == read_table(path).columns
    assert pl.concat(list(streamed.batches)).width == 6000


def test_score_refuses_a_file_wider_than_the_column_limit(messy: Path, tmp_path: Path) -> None:
    rows = _rows(5, seed=14)
    header = [*HEADER, *(f"x{i}" for i in range(50))]
    export = write_export(tmp_path / "wide.csv", [[*r, *("v" * 50)] for r in rows], "utf-8", header)
    code, text = _cli(
        "score", export, "-o", tmp_path / "o.csv", "-w", messy, "--map", "--max-columns", "40"
    )
    assert code != 0 and "58 columns" in text and "--max-columns" in text
    assert not (tmp_path / "o.csv").exists()
    code, text = _cli("score", export, "-o", tmp_path / "o.csv", "-w", messy, "--map")
    assert code == 0, text


def test_a_ragged_csv_row_is_named_and_never_echoed(tmp_path: Path) -> None:
    """A row with too many or too few fields: the error names the row where it can and never
    quotes the row's cells (they can be personal data)."""
    long_row = tmp_path / "long.csv"
    long_row.write_text("account_id,name,employees\nA1,Acme,10\nA2,jane@corp.example,20,x,y\n")
    with pytest.raises(SchemaError) as caught:
        read_table(long_row)
    assert "row 2: 5 fields, the header has 3" in str(caught.value)
    assert "jane@corp" not in str(caught.value)
    short_row = tmp_path / "short.csv"
    short_row.write_text("account_id,name,employees,x\nA1,Acme,10,1\nA2,jane@corp.example,20\n")
    with pytest.raises(SchemaError) as caught:
        list(read_batches(short_row).batches)
    assert "Expected 4 columns, got 3" in str(caught.value)
    assert "jane@corp" not in str(caught.value)
