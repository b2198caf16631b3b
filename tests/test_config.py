"""The typed config: one source of truth for settings, docs and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from icpkit.config import WorkspaceConfig, config_from_dict, load_config, settings_markdown
from icpkit.errors import ConfigError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "config.md"


def test_config_docs_are_generated_from_the_code() -> None:
    assert DOCS.read_text(encoding="utf-8") == settings_markdown(), (
        "docs/config.md is stale: run `make docs`"
    )


def test_every_setting_has_help_text() -> None:
    text = settings_markdown()
    for line in text.splitlines():
        if line.startswith("| `"):
            assert not line.rstrip().endswith("|  |"), line


def test_invalid_settings_are_all_listed_at_once(tmp_path: Path) -> None:
    (tmp_path / "icpkit.toml").write_text(
        "[success]\nbest_share = 1.5\n[discovery]\nmax_depth = 9\nbogus = 1\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    message = str(info.value)
    assert "success.best_share" in message and "discovery.max_depth" in message
    assert "discovery.bogus" in message


def test_missing_and_malformed_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no icpkit\.toml"):
        load_config(tmp_path)
    (tmp_path / "icpkit.toml").write_text("[sources\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load_config(tmp_path)


def test_content_hash_changes_with_any_setting() -> None:
    base = WorkspaceConfig()
    changed = config_from_dict({"success": {"best_share": 0.3}})
    assert base.content_hash() == WorkspaceConfig().content_hash()
    assert base.content_hash() != changed.content_hash()


def test_drift_thresholds_are_settings_checked_when_read() -> None:
    config = config_from_dict({"drift": {"review_after_days": 30, "rebuild_after_days": 60}})
    assert (config.drift.review_after_days, config.drift.rebuild_after_days) == (30, 60)
    assert config.drift.psi_major == 0.25  # the rest keep their defaults
    with pytest.raises(ConfigError, match="psi_major must be at least psi_moderate"):
        config_from_dict({"drift": {"psi_moderate": 0.3, "psi_major": 0.2}})
    with pytest.raises(ConfigError, match=r"drift\.psi_majr"):
        config_from_dict({"drift": {"psi_majr": 0.3}})
