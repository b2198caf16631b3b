"""An account's "who to reach", talking points and triggers, read from the profile's typed
sections (personas, messaging, signals) — never from the report's display tables, so renaming a
report column or rewording a report line does not change the API.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from icpkit.profile import IcpProfile, PersonaEvidence, SignalsSection, SignalTypeEvidence
from icpkit.vocab import TIERS
from icpkit.web.models import TalkingPoints, Trigger

NON_FIT = TIERS[-1]
_POINTS = re.compile(r"\s*\([+\u2212-]\d+\)$")


def winning_personas(profile: IcpProfile) -> list[PersonaEvidence]:
    """The personas that go with winning, strongest first, as many as the profile shows."""
    if profile.personas is None:
        return []
    return profile.personas.top(profile.personas.shown)


def _points(groups: Sequence[object], kind: Literal["tier", "persona"]) -> list[TalkingPoints]:
    """The messaging groups as the API's type (plain dicts in the profile today; typed models
    once profile.py types them: both read the same)."""
    found = []
    for group in groups:
        fields = group.model_dump() if isinstance(group, BaseModel) else dict(group)  # type: ignore[call-overload]
        found.append(TalkingPoints.model_validate({**fields, "kind": kind}))
    return found


def talking_points(
    profile: IcpProfile, tier: str, personas: Sequence[str] | None = None
) -> list[TalkingPoints]:
    """The talking points of the account's tier, then those of its personas.

    A Non-fit account gets none: it is not to be pitched. ``personas``: the personas this
    account has contacts of (and the first one still to find); None when the account's people
    are unknown (then every winning persona's)."""
    if profile.messaging is None or tier == NON_FIT:
        return []
    winners = {p.persona for p in winning_personas(profile)}
    wanted = winners if personas is None else winners & set(personas)
    found = [t for t in _points(profile.messaging.tiers, "tier") if t.audience == tier]
    found += [t for t in _points(profile.messaging.personas, "persona") if t.audience in wanted]
    return [t for t in found if t.pains or t.achievements or t.proof or t.objections]


def plain_reason(reason: str) -> str:
    """A reason without its points, as a rep says it: 'Software company (+18)' → 'Software
    company', 'not: X (−3)' → 'not X' (the points stay in the breakdown)."""
    text = _POINTS.sub("", reason).strip()
    return "not " + text[5:] if text.startswith("not: ") else text


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}×"


def trigger_text(t: SignalTypeEvidence) -> str:
    """'Funding round: within 90 days deals open 2.1× as often, win 1.4× as often.'"""
    name = t.type.replace("_", " ").strip().capitalize()
    return (
        f"{name}: within {t.window_days} days deals open {_ratio(t.lift.opening)} as "
        f"often and are won {_ratio(t.lift.winning)} as often."
    )


def triggers(section: SignalsSection | None) -> list[Trigger]:
    """The signal types that raise openings or wins (the ICP's triggers), strongest first."""
    if section is None or not section.available:
        return []
    return [Trigger(type=t.type, text=trigger_text(t), evidence=t) for t in section.triggers()]
