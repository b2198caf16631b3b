"""The typed profile: sections are models, JSON round-trips, and profiles written before
schema version 2 (icp-profile.json files and version stores) still load."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from icpkit.errors import ConfigError
from icpkit.lifecycle.store import Store
from icpkit.profile import (
    MIGRATIONS,
    SCHEMA_VERSION,
    IcpProfile,
    ScorecardSection,
    TiersSection,
    ValidationSection,
    migrate,
)
from icpkit.stats import Estimate

FIXTURES = Path(__file__).parent / "fixtures"
RENAMED = {
    ("tiers", "madkudu"): ("tiers", "bar"),  # in version 2
    ("scorecard", "info", "n_train"): ("scorecard", "info", "n_rows"),  # in version 3
}


def _v1_text(name: str) -> str:
    """A fixture as version-1 code wrote it: no schema_version at all in the oldest files."""
    raw = json.loads((FIXTURES / f"profile_{name}.json").read_text("utf-8"))
    assert raw["schema_version"] == 1
    del raw["schema_version"]
    return json.dumps(raw)


def _leaves(value: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(value, dict):
        out: dict[tuple[str, ...], Any] = {}
        for k, v in value.items():
            out |= _leaves(v, (*path, str(k)))
        return out
    if isinstance(value, list):
        out = {}
        for i, v in enumerate(value):
            out |= _leaves(v, (*path, str(i)))
        return out
    return {path: value}


def _renamed(path: tuple[str, ...]) -> tuple[str, ...]:
    for old, new in RENAMED.items():
        if path[: len(old)] == old:
            return (*new, *path[len(old) :])
    return path


@pytest.mark.parametrize("name", ["minimal", "full"])
def test_old_profiles_load_and_keep_every_value(name: str) -> None:
    text = (FIXTURES / f"profile_{name}.json").read_text("utf-8")
    for old in (text, _v1_text(name)):
        profile = IcpProfile.from_json(old)
        assert profile.schema_version == SCHEMA_VERSION
        before = _leaves({k: v for k, v in json.loads(old).items() if k != "schema_version"})
        after = _leaves(profile.to_dict())
        lost = {p: v for p, v in before.items() if after.get(_renamed(p), object()) != v}
        assert not lost, f"values lost or changed by the migration: {list(lost.items())[:5]}"


@pytest.mark.parametrize("name", ["minimal", "full"])
def test_json_round_trip_is_stable(name: str) -> None:
    profile = IcpProfile.from_json(_v1_text(name))
    text = profile.to_json()
    again = IcpProfile.from_json(text)
    assert again == profile
    assert again.to_json() == text


def test_sections_are_typed_and_frozen() -> None:
    profile = IcpProfile.read(FIXTURES / "profile_full.json")
    assert isinstance(profile.scorecard, ScorecardSection)
    assert isinstance(profile.tiers, TiersSection)
    assert isinstance(profile.validation, ValidationSection)
    assert profile.tiers.bar is not None and profile.tiers.bar.tier12_share == pytest.approx(0.32)
    assert profile.tiers.cuts.tier1 == 70
    win = profile.validation.kpi("Tier 1", "win_rate")
    assert isinstance(win, Estimate) and win.n == 140
    assert profile.success_definition.as_of == "2025-06-30"
    with pytest.raises(ValueError, match="frozen"):
        profile.tiers.cuts.tier1 = 5  # type: ignore[misc]
    # kind-specific feature keys stay absent in JSON (not written as null)
    rule = next(f for f in profile.to_dict()["scorecard"]["features"] if f["kind"] == "rule")
    assert "column" not in rule and "cuts" not in rule and rule["rule"]


def test_a_renamed_field_is_an_error_not_a_silent_gap() -> None:
    raw = json.loads((FIXTURES / "profile_full.json").read_text("utf-8"))
    raw["schema_version"] = SCHEMA_VERSION
    raw["validation"]["n_deal"] = raw["validation"].pop("n_deals")
    with pytest.raises(ConfigError, match="n_deal"):
        IcpProfile.from_json(json.dumps(raw))
    raw = json.loads((FIXTURES / "profile_full.json").read_text("utf-8"))
    raw["tiers"]["cuts"] = {"tier_1": 70, "tier2": 45, "tier3": 25}
    with pytest.raises(ConfigError, match="tier1"):
        IcpProfile.from_json(json.dumps(raw))


def test_schema_versions_outside_the_range_are_refused() -> None:
    for bad in (SCHEMA_VERSION + 1, 0, "2", True):
        with pytest.raises(ConfigError, match="schema_version"):
            IcpProfile.from_json(json.dumps({"schema_version": bad}))


def test_every_older_version_has_a_migration() -> None:
    assert set(MIGRATIONS) == set(range(1, SCHEMA_VERSION))
    assert migrate({})["schema_version"] == SCHEMA_VERSION
    lifted = migrate({"tiers": {"cuts": {"tier1": 9, "tier2": 5, "tier3": 1}, "tiers": []}})
    assert lifted["tiers"] == {"cuts": {"tier1": 9, "tier2": 5, "tier3": 1}, "table": []}


def test_a_store_written_by_version_1_code_still_reads(tmp_path: Path) -> None:
    """The store keeps profile JSON as text: rows written before schema 2 migrate when read."""
    folder = tmp_path / ".icpkit"
    folder.mkdir()
    conn = sqlite3.connect(folder / "versions.sqlite")
    conn.executescript(
        """
        CREATE TABLE versions (
            version INTEGER PRIMARY KEY, created_at TEXT NOT NULL, name TEXT NOT NULL,
            config_hash TEXT NOT NULL, fingerprint TEXT NOT NULL, validation TEXT,
            note TEXT NOT NULL DEFAULT '', profile_json TEXT NOT NULL);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema', '1');
        """
    )
    for version, name in ((1, "minimal"), (2, "full")):
        old = (FIXTURES / f"profile_{name}.json").read_text("utf-8")
        text = old if version == 2 else _v1_text(name)
        conn.execute(
            "INSERT INTO versions VALUES (?, '2025-06-30T09:00:00+00:00', ?, 'c', '{}', NULL, '', ?)",
            (version, name, text),
        )
    conn.commit()
    conn.close()
    store = Store(tmp_path)
    first, second = store.get(1).profile(), store.get("latest").profile()
    assert first.name == "Tiny CRM" and first.scorecard is None
    assert second.tiers is not None and second.tiers.bar is not None
    assert second.validation is not None and second.validation.cut_date == "2025-03-01"
    # a new save beside the old rows writes the current schema
    number = store.save(second.to_json(), config_hash="c", fingerprint={}, validation=None)
    assert json.loads(store.get(number).profile_json)["schema_version"] == SCHEMA_VERSION
