"""Every part of the profile is typed: the JSON schema has no free-form object or untyped value,
every section is a frozen model, profiles written at schema version 2 load with every value, and
the report reads the profile through attributes, never by key."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from icpkit.errors import ConfigError
from icpkit.profile import (
    SCHEMA_VERSION,
    HeldOutVerdict,
    IcpProfile,
    PartitionsSection,
    SignalsBacktest,
    migrate,
)

FIXTURES = Path(__file__).parent / "fixtures"
REPORT = Path(__file__).parents[1] / "src" / "icpkit" / "report"
# Keys that say what a schema's value is; a schema with none of them accepts anything.
TYPED = {"type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const"}


def _untyped(schema: Any, path: str) -> list[str]:
    """Every place in a JSON schema that accepts any value or a free-form object."""
    if not isinstance(schema, dict):
        return []
    found = []
    if not TYPED & set(schema):
        found.append(f"{path}: no type (Any)")
    extra = schema.get("additionalProperties")
    if extra is True or extra == {}:
        found.append(f"{path}: additionalProperties of any type")
    if schema.get("type") == "object" and "properties" not in schema and extra is None:
        found.append(f"{path}: an object with neither properties nor typed values")
    for key, sub in schema.get("properties", {}).items():
        found += _untyped(sub, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += _untyped(schema[key], f"{path}[{key}]")
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key, [])):
            found += _untyped(sub, f"{path}<{key} {i}>")
    return found


@pytest.mark.parametrize("mode", ["validation", "serialization"])  # serialization: API responses
def test_the_json_schema_has_no_untyped_field(mode: JsonSchemaMode) -> None:
    schema = IcpProfile.model_json_schema(mode=mode)
    found = _untyped(schema, "IcpProfile")
    for name, sub in schema.get("$defs", {}).items():
        found += _untyped(sub, name)
    assert not found, "untyped parts of the profile schema:\n" + "\n".join(found)


def test_the_schema_walk_finds_an_untyped_field() -> None:
    class Loose(BaseModel):
        anything: Any
        free: dict[str, Any]
        fine: dict[str, float]

    found = _untyped(Loose.model_json_schema(), "Loose")
    assert any("anything" in f for f in found) and any("free" in f for f in found)
    assert not any("fine" in f for f in found)


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    if model in seen:
        return seen
    seen.add(model)
    stack = [f.annotation for f in model.model_fields.values()]
    while stack:
        annotation = stack.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _models(annotation, seen)
        stack += list(get_args(annotation))
    return seen


def test_every_section_is_a_frozen_model_that_says_what_it_is() -> None:
    sections = _models(IcpProfile, set()) - {IcpProfile}
    assert len(sections) > 40
    loose = sorted(m.__name__ for m in sections if not m.model_config.get("frozen"))
    assert not loose, f"sections that are not frozen: {loose}"
    defs = IcpProfile.model_json_schema()["$defs"]
    bare = sorted(name for name, sub in defs.items() if not sub.get("description"))
    assert not bare, f"sections without a description: {bare}"


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


def test_a_version_2_profile_loads_typed_with_every_value() -> None:
    """A profile as the demo wrote it at schema version 2 (trimmed; with two partitions)."""
    text = (FIXTURES / "profile_v2_demo.json").read_text("utf-8")
    raw = json.loads(text)
    assert raw["schema_version"] == 2
    profile = IcpProfile.from_json(text)
    assert profile.schema_version == SCHEMA_VERSION
    assert profile.to_dict() == {**raw, "schema_version": SCHEMA_VERSION}  # nothing lost or added
    assert IcpProfile.from_json(profile.to_json()) == profile
    assert profile.single_traits[0].attribute == "employees"
    assert profile.segments[0].also and profile.segments[0].holdout_lift is not None
    assert profile.provenance.fingerprint is not None
    assert profile.provenance.fingerprint["accounts"].rows == 3000
    assert profile.scorecard is not None and profile.scorecard.info.regularization == 0.1
    assert profile.success_definition.scoring_target is not None
    assert profile.success_definition.scoring_target.chosen == "auto"
    assert profile.validation is not None and isinstance(profile.validation.verdict, HeldOutVerdict)
    assert profile.validation.verdict.status == "pass"
    assert profile.validation.verdict.tier1 is not None and profile.validation.verdict.tier1.n > 0
    assert profile.messaging is not None and profile.messaging.tiers[0].pains[0].quote
    assert profile.messaging.parts.triggers
    signals = profile.signals
    assert signals is not None and signals.backtest is not None and signals.backtest.winning
    assert signals.backtest.winning.fit_intent.auc is not None
    assert signals.intake.n_rows > 0 and signals.types[0].lift.opening is not None
    assert any(v.lift_winning_ci for t in signals.types for v in t.by_value)
    assert isinstance(profile.partitions, PartitionsSection)
    rule = profile.partitions.rules[0]
    assert set(rule.per_icp) == {icp.name for icp in profile.partitions.icps}
    assert profile.excluded_attributes[0].column


def test_the_migration_to_version_3_drops_empty_verdicts_and_unread_keys() -> None:
    raw = json.loads((FIXTURES / "profile_v2_demo.json").read_text("utf-8"))
    raw["validation"]["verdict"] = {}
    raw["signals"]["backtest"] = {k: v for k, v in raw["signals"]["backtest"].items()
                                  if k != "available"}  # fmt: skip
    raw["single_traits"][0] = {**raw["single_traits"][0], "unused": 1}
    profile = IcpProfile.from_dict(migrate(raw))
    assert profile.validation is not None and profile.validation.verdict is None
    assert isinstance(profile.signals.backtest, SignalsBacktest)  # type: ignore[union-attr]
    assert profile.signals.backtest.available  # type: ignore[union-attr]
    assert "unused" not in profile.to_dict()["single_traits"][0]
    # at the current version a stray key is an error, never silently dropped
    current = profile.to_dict()
    current["single_traits"][0]["unused"] = 1
    with pytest.raises(ConfigError, match="unused"):
        IcpProfile.from_dict(current)


# The report formats typed sections: no look-up of profile data by key. The lookalikes block
# reads the summary file the last `icpkit lookalikes` run left (not profile data).
NOT_PROFILE_DATA = {"lookalikes_view.py"}
BY_KEY = re.compile(r"""\.get\(\s*["']""")


def test_the_report_reads_no_profile_data_by_key() -> None:
    files = [*REPORT.glob("*.py"), *REPORT.glob("templates/*.j2")]
    assert len(files) > 8
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in files
        if path.name not in NOT_PROFILE_DATA
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if BY_KEY.search(line)
    ]
    assert not found, "the report reads data by key:\n" + "\n".join(found)


def test_the_key_check_catches_a_lookup() -> None:
    assert BY_KEY.search("""x = verdict.get("status")""")
    assert BY_KEY.search("""x = verdict.get( 'status')""")
    assert not BY_KEY.search("x = row.get(column)")
