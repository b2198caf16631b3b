"""Cold start: a hand-written ICP spec in TOML that scores exactly like a learned profile.

A team with no history writes its guess::

    name = "Mid-market software"

    [[criteria]]
    rule = "industry = 'Software' AND employees in [50, 1000)"
    points = 40

    [[disqualifiers]]
    rule = "employees in [1, 10)"
    points = -30

    [points]                       # optional: any condition or segment → points
    "tech_stack contains 'Salesforce'" = 10
    "region = 'EMEA'" = 5

    [tiers]                        # optional cut-offs on the 0–100 score (default 70 / 50 / 30)
    tier1 = 70
    tier2 = 50
    tier3 = 30

Every entry becomes a met / not-met feature of an ordinary ``Scorecard``; the points are rescaled
as a learned scorecard's are (lowest possible score 0, highest 100, integer points centred on a
row that meets nothing), and scoring goes through the same ``score_frame`` path. With no outcomes
there is no calibration: ``fit_probability`` is missing until the ICP is learned from data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from icpkit.config import read_toml
from icpkit.errors import ConfigError
from icpkit.profile import IcpProfile, RuleEvidence
from icpkit.rules import parse_segment
from icpkit.scoring.binning import Feature, Role
from icpkit.scoring.card import Scorecard, integer_points
from icpkit.scoring.tiers import TierCuts

DEFAULT_CUTS = TierCuts(70, 50, 30)
DEFAULT_CRITERION_POINTS = 30.0
DEFAULT_DISQUALIFIER_POINTS = -30.0


def load_spec(path: Path | str) -> IcpProfile:
    """Read a hand-written ICP spec (TOML) into a profile that scores like a learned one.

    Raises
    ------
    ConfigError
        When the file is missing, not TOML, or a rule or value is malformed (every problem listed).
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such spec file")
    return spec_to_profile(read_toml(path), origin=str(path))


def spec_to_profile(raw: dict[str, Any], origin: str = "spec") -> IcpProfile:
    """The profile of a parsed spec mapping (see the module docstring for the format)."""
    problems: list[str] = []
    unknown = sorted(
        set(raw) - {"name", "statement", "criteria", "disqualifiers", "points", "tiers"}
    )
    if unknown:
        problems.append(
            f"unknown keys {unknown} (expected name, statement, criteria, "
            f"disqualifiers, points, tiers)"
        )
    criteria = _rules(raw.get("criteria", []), "criteria", DEFAULT_CRITERION_POINTS, problems)
    disqualifiers = _rules(
        raw.get("disqualifiers", []), "disqualifiers", DEFAULT_DISQUALIFIER_POINTS, problems
    )
    extra = _points(raw.get("points", {}), problems)
    cuts = _cuts(raw.get("tiers", {}), problems)
    if not (criteria or disqualifiers or extra):
        problems.append("the spec needs at least one criterion, disqualifier or [points] entry")
    if problems:
        raise ConfigError(
            f"{origin}: invalid ICP spec:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    items: list[tuple[str, float, Role]] = [
        *((c.rule, float(c.points or 0), "criterion") for c in criteria),
        *((d.rule, float(d.points or 0), "disqualifier") for d in disqualifiers),
        *((rule, pts, "points") for rule, pts in extra),
    ]
    card = _card(items)
    tiers = {
        "cuts": cuts.to_dict(),
        "criteria_based": bool(criteria),
        "table": [],
        "source": "hand-written",
    }
    return IcpProfile(
        name=str(raw.get("name", "hand-written ICP")),
        origin="hand-written",
        statement=str(raw.get("statement", "")),
        criteria=criteria,
        disqualifiers=disqualifiers,
        scorecard=card.to_dict(),
        tiers=tiers,
    )


def _card(items: list[tuple[str, float, Role]]) -> Scorecard:
    features = tuple(
        Feature(name=rule, kind="rule", rule=rule, role=role) for rule, _, role in items
    )
    weights = [np.array([0.0, pts]) for _, pts, _ in items]
    # centre on a row that meets nothing, so every listed point is what the rule adds or takes
    shares = [np.array([1.0, 0.0]) for _ in items]
    points, base, _ = integer_points(weights, shares)
    return Scorecard(
        features,
        tuple(tuple(int(v) for v in p) for p in points),
        base,
        target="hand-written",
        info={"origin": "hand-written"},
    )


def _rules(entries: Any, key: str, default: float, problems: list[str]) -> list[RuleEvidence]:
    if not isinstance(entries, list):
        problems.append(f"{key} must be a list of [[{key}]] tables; got {type(entries).__name__}")
        return []
    out = []
    for i, entry in enumerate(entries, 1):
        where = f"{key} #{i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("rule"), str):
            problems.append(f'{where}: needs rule = "…" (a segment in rule text)')
            continue
        rule = _rule_text(entry["rule"], where, problems)
        points = _number(entry.get("points", default), f"{where}, points", problems)
        if rule is not None and points is not None:
            out.append(
                RuleEvidence(
                    rule=rule,
                    support=0,
                    coverage=0.0,
                    precision=0.0,
                    lift=1.0,
                    lift_ci=(1.0, 1.0),
                    description=str(entry.get("description", "")),
                    points=points,
                )
            )
    return out


def _points(entries: Any, problems: list[str]) -> list[tuple[str, float]]:
    if not isinstance(entries, dict):
        problems.append(f"[points] must map rule text to points; got {type(entries).__name__}")
        return []
    out = []
    for text, value in entries.items():
        rule = _rule_text(text, f"points {text!r}", problems)
        points = _number(value, f"points {text!r}", problems)
        if rule is not None and points is not None:
            out.append((rule, points))
    return out


def _rule_text(text: str, where: str, problems: list[str]) -> str | None:
    try:
        return str(parse_segment(text))
    except ConfigError as exc:
        problems.append(f"{where}: {exc.message}")
        return None


def _number(value: Any, where: str, problems: list[str]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(f"{where}: expected a number; got {value!r}")
        return None
    return float(value)


def _cuts(raw: Any, problems: list[str]) -> TierCuts:
    if not isinstance(raw, dict):
        problems.append(f"[tiers] must be a table; got {type(raw).__name__}")
        return DEFAULT_CUTS
    values = {**DEFAULT_CUTS.to_dict(), **raw}
    try:
        return TierCuts(int(values["tier1"]), int(values["tier2"]), int(values["tier3"]))
    except (ConfigError, TypeError, ValueError) as exc:
        problems.append(f"[tiers]: {getattr(exc, 'message', exc)}")
        return DEFAULT_CUTS
