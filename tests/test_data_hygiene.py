"""Placeholders ('Select', 'unknown') and suspected ones; numbers and dates that lie."""

from __future__ import annotations

from pathlib import Path

from icpkit.config import config_from_dict
from icpkit.data import check_workspace, load_workspace


def _workspace(tmp_path: Path, text: str, **settings: object) -> tuple[object, Path]:
    (tmp_path / "accounts.csv").write_text(text)
    source = {"path": "accounts.csv", **settings.pop("source", {})}  # type: ignore[dict-item]
    return config_from_dict({"sources": {"accounts": source}, **settings}), tmp_path


def test_form_placeholders_become_missing_by_default(tmp_path: Path) -> None:
    rows = ["account_id,industry,lead_source,annual_revenue"]
    for i in range(40):
        industry = ["Software", "Select", " unknown ", "N/A", "Retail"][i % 5]
        rows.append(f"a{i},{industry},{'Web' if i % 2 else '-'},{'0.0' if i % 4 == 0 else 10 * i}")
    config, root = _workspace(tmp_path, "\n".join(rows) + "\n")
    crm = load_workspace(config, root)  # type: ignore[arg-type]
    assert set(crm.accounts["industry"].drop_nulls()) == {"Software", "Retail"}
    assert crm.accounts["lead_source"].null_count() == 20
    assert (crm.accounts["annual_revenue"] == 0).sum() == 10  # 0.0 only where configured
    note = next(p for p in crm.problems if p.code == "na_values")
    assert "industry (24)" in note.message


def test_per_column_na_values_and_an_empty_global_list(tmp_path: Path) -> None:
    rows = ["account_id,Industry,Annual Revenue"] + [
        f"a{i},{'Select' if i % 2 else 'Software'},{'0.0' if i % 4 == 0 else 10 * i}"
        for i in range(40)
    ]
    config, root = _workspace(
        tmp_path,
        "\n".join(rows) + "\n",
        na_values=[],
        source={"na_values": {"Annual Revenue": ["0.0"]}},
    )
    crm = load_workspace(config, root)  # type: ignore[arg-type]
    assert crm.accounts["annual_revenue"].null_count() == 10
    assert (crm.accounts["industry"] == "Select").sum() == 20


def test_check_reports_suspected_placeholders_with_counts(tmp_path: Path) -> None:
    rows = ["account_id,segment"] + [
        f"a{i},{['Enterprise', 'SMB', 'TBD', '[not set]'][i % 4]}" for i in range(80)
    ]
    config, root = _workspace(tmp_path, "\n".join(rows) + "\n")
    report = check_workspace(config, root)  # type: ignore[arg-type]
    found = {(p.column, p.value) for p in report.problems if p.code == "placeholder"}
    assert found == {("segment", "TBD"), ("segment", "[not set]")}
    text = "\n".join(report.summary_lines())
    assert "'TBD' fills 20 rows" in text
