"""Personas through the pipeline and the CLI: the profile section, score output, and no PII."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from icpkit.cli import app
from icpkit.config import config_from_dict
from icpkit.datasets import make_crm
from icpkit.pipeline import Workspace, build_icp
from icpkit.profile import IcpProfile

runner = CliRunner()
PII = {
    "name": "Zyxwv Plantedname",
    "email": "planted.person@pii-example.org",
    "phone": "+1 555 0199 7777",
}


def _run(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic workspace whose contacts carry planted names, e-mails and phones."""
    root = tmp_path_factory.mktemp("personas_ws")
    crm = make_crm(1200, seed=5)
    contacts = crm.contacts.with_columns(
        name=pl.lit(PII["name"]), email=pl.lit(PII["email"]), phone=pl.lit(PII["phone"])
    )
    # Titles that hold PII themselves (people paste anything into a title field).
    contacts = contacts.with_columns(
        title=pl.when(pl.int_range(pl.len()) % 97 == 0)
        .then(pl.lit(f"{PII['email']} / {PII['phone']}"))
        .otherwise(pl.col("title"))
    )
    crm = crm.__class__(**{**crm.__dict__, "contacts": contacts})
    crm.write_workspace(root)
    code, text = _run("build", "-w", root, "-o", root / "profile.json")
    assert code == 0, text
    return root


def test_build_puts_personas_in_the_profile(workspace: Path) -> None:
    profile = Workspace.open(workspace).store.get("latest").profile()
    assert profile.personas is not None
    top = profile.personas.top(1)[0]
    assert top.persona == "Finance director+" and top.lift is not None and top.lift > 1.5
    assert profile.personas.stratified_by == ["fit tier", "committee size"]
    data = profile.to_dict()["personas"]["personas"][0]
    for key in ("function", "seniority", "deals_with", "win_rate_with", "win_rate_without",
                "lift", "lift_ci", "q_value", "evidence"):  # fmt: skip
        assert key in data
    assert IcpProfile.from_json(profile.to_json()) == profile


def test_score_with_contacts_adds_personas_missing(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "scored.csv"
    code, text = _run(
        "score", workspace / "accounts.csv", "-o", out, "-w", workspace,
        "--contacts", workspace / "contacts.csv",
    )  # fmt: skip
    assert code == 0, text
    scored = pl.read_csv(out, infer_schema=False)
    missing = scored["personas_missing"].fill_null("")
    assert missing.str.starts_with("no Finance director+ yet: deals with one had").any()
    assert (missing == "").any()
    assert re.search(r"\d\.\d× the win odds \[\d\.\d, \d\.\d\]", missing.str.join("").item())


def test_no_pii_in_any_output(workspace: Path, tmp_path: Path) -> None:
    """Names, e-mails and phones of contacts never appear in reports, JSON, store, logs, errors."""
    outputs: list[str] = []
    for args in (
        ("report", "-w", workspace, "-o", tmp_path / "r.html"),
        ("report", "-w", workspace, "-f", "md", "-o", tmp_path / "r.md"),
        ("report", "-w", workspace, "-f", "json", "-o", tmp_path / "r.json"),
        ("score", workspace / "accounts.csv", "-o", tmp_path / "s.csv", "-w", workspace,
         "--contacts", workspace / "contacts.csv"),
        ("titles", workspace / "contacts.csv", "-o", tmp_path / "t.csv", "--column", "nope"),
        ("score", workspace / "accounts.csv", "-o", tmp_path / "s2.csv", "-w", workspace,
         "--contacts", workspace / "notes.csv"),
    ):  # fmt: skip
        result = runner.invoke(app, [str(a) for a in args])
        assert "Traceback" not in result.output
        outputs.append(result.output)
    files = [tmp_path / n for n in ("r.html", "r.md", "r.json", "s.csv")]
    files.append(workspace / "profile.json")
    outputs += [f.read_text("utf-8") for f in files]
    outputs.append((workspace / ".icpkit" / "versions.sqlite").read_bytes().decode("latin-1"))
    blob = "\n".join(outputs)
    for value in PII.values():
        assert value not in blob
    assert "pii-example" not in blob and "Plantedname" not in blob


def test_build_without_titles_is_a_caveat_not_a_failure() -> None:
    crm = make_crm(600, seed=2).to_crm_data()
    assert crm.contacts is not None
    crm.contacts = crm.contacts.drop("title", "department", "seniority")
    built = build_icp(crm, config_from_dict({}), validate=False)
    assert built.profile.personas is None
    assert any(c.startswith("Personas not analysed") for c in built.profile.caveats)


def test_score_accounts_adds_personas_missing_like_the_cli(workspace: Path, tmp_path: Path) -> None:
    """Issue 23: personas_missing comes out of the streaming scorer, and the Python API adds
    the same column given the contacts."""
    from icpkit.pipeline import score_accounts

    out = tmp_path / "scored.csv"
    code, text = _run(
        "score", workspace / "accounts.csv", "-o", out, "-w", workspace,
        "--contacts", workspace / "contacts.csv",
    )  # fmt: skip
    assert code == 0, text
    cli = pl.read_csv(out, infer_schema=False)
    ws = Workspace.open(workspace)
    python = score_accounts(
        ws.store.get("latest").profile(),
        workspace / "accounts.csv",
        contacts=workspace / "contacts.csv",
    )
    assert python["personas_missing"].fill_null("").to_list() == (
        cli["personas_missing"].fill_null("").to_list()
    )
    assert (python["personas_missing"] != "").any()
