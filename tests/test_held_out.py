"""The held-out verdict on page 1: pass / warn / fail / missing, the cross-validated fallback."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from icpkit.config import WorkspaceConfig, config_from_dict
from icpkit.data.model import CrmData
from icpkit.evaluation.validation import held_out_verdict, with_held_out
from icpkit.pipeline import build_icp
from icpkit.profile import HeldOutVerdict, IcpProfile, RuleEvidence
from icpkit.report import ReportInput, render_html, render_markdown
from icpkit.stats import auc_with_ci


def _closed(tiers: list[str], won: list[bool], scores: list[float]) -> pl.DataFrame:
    return pl.DataFrame({"tier": tiers, "_won": won, "fit_score": scores})


def _verdict(frame: pl.DataFrame) -> HeldOutVerdict:
    auc = auc_with_ci(frame["fit_score"].to_numpy(), frame["_won"].to_numpy())
    return held_out_verdict(frame, auc, "out-of-time", "won vs lost deals")


def test_verdict_passes_when_the_score_ranks_and_tier1_wins_more() -> None:
    # tiers in order and meeting MadKudu's bar: Tier 1 (20%) wins 90%, Non-fit 3%
    rng = np.random.default_rng(0)
    n = 400
    score = rng.uniform(0, 100, n)
    won = rng.random(n) < np.where(score > 80, 0.9, np.where(score > 40, 0.1, 0.03))
    tier = np.where(score > 80, "Tier 1", np.where(score > 40, "Tier 3", "Non-fit"))
    v = _verdict(_closed(tier.tolist(), won.tolist(), score.tolist()))
    assert v.status == "pass", v.reasons
    assert v.tier1 is not None and v.tier1.n == int((tier == "Tier 1").sum())
    assert "PASSED" in v.lines[0] and "n=" in v.lines[0]


def test_verdict_fails_when_the_auc_interval_includes_half() -> None:
    rng = np.random.default_rng(1)
    n = 300
    score = rng.uniform(0, 100, n)
    won = rng.random(n) < 0.3  # unrelated to the score
    tier = np.where(score > 80, "Tier 1", "Tier 3")
    v = _verdict(_closed(tier.tolist(), won.tolist(), score.tolist()))
    assert v.status == "fail"
    assert any("better than chance" in r for r in v.reasons)


def test_verdict_fails_when_tier1_is_not_better_than_the_rest() -> None:
    # the score ranks well overall, but Tier 1 holds losers
    score = [90.0] * 20 + [float(x) for x in range(200)]
    won = [False] * 20 + [x > 100 for x in range(200)]
    tier = ["Tier 1"] * 20 + ["Tier 2"] * 200
    v = _verdict(_closed(tier, won, score))
    assert v.status == "fail"
    assert any("Tier 1 is not better than the rest" in r for r in v.reasons)


def test_verdict_is_missing_without_a_lost_deal() -> None:
    v = _verdict(_closed(["Tier 1", "Non-fit"], [True, True], [80.0, 10.0]))
    assert v.status == "missing"
    assert "NOT AVAILABLE" in v.lines[0]


def _rule(evidence: str) -> RuleEvidence:
    return RuleEvidence(
        rule="industry = 'Software'",
        support=50,
        coverage=0.4,
        precision=0.6,
        lift=2.0,
        lift_ci=(1.5, 2.5),
        evidence=evidence,  # type: ignore[arg-type]
    )


def _lead_workspace(n: int, signal: float, seed: int) -> CrmData:
    """A lead list: one closed deal per lead, every deal on one date (no out-of-time split)."""
    rng = np.random.default_rng(seed)
    size = rng.choice(["small", "mid", "large"], n)
    won = rng.random(n) < 0.15 + signal * (size == "large")
    ids = [f"L{i:04d}" for i in range(n)]
    accounts = pl.DataFrame({"account_id": ids, "size": size, "channel": rng.choice(["a", "b"], n)})
    deals = pl.DataFrame(
        {
            "deal_id": ids,
            "account_id": ids,
            "stage": np.where(won, "won", "lost"),
            "created_at": [date(2024, 3, 1)] * n,
        }
    )
    return CrmData(accounts=accounts, deals=deals)


FAST = config_from_dict({"validation": {"cv_folds": 3}, "scoring": {"regularization_grid": []}})


def test_one_date_falls_back_to_a_cross_validated_estimate_and_says_so() -> None:
    result = build_icp(_lead_workspace(300, 0.5, 2), FAST)
    validation = result.profile.validation
    assert validation is not None
    assert validation.method == "cross-validated"
    # it ranks (not failed), but Tier 1 cannot convert 10× Non-fit here (base rate 15%): amber
    assert validation.verdict is not None and validation.verdict.status == "warn", (
        validation.verdict
    )
    assert any("published bar" in w for w in validation.verdict.warnings)
    assert "cross-validated, not out-of-time" in validation.verdict.lines[0]
    assert any("out-of-time backtest dropped" in c for c in result.profile.caveats)
    assert any("cross-validated, not out-of-time" in c for c in validation.caveats)
    html = render_html(ReportInput(profile=result.profile))
    assert 'data-status="warn"' in html and "cross-validated, not out-of-time" in html


def test_failed_test_lowers_badges_and_puts_a_red_banner_on_page_one() -> None:
    profile = IcpProfile(criteria=[_rule("strong")], disqualifiers=[_rule("moderate")])
    result = build_icp(_lead_workspace(300, 0.0, 3), FAST)
    assert result.validation is not None
    failed = dataclass_replace_verdict(result.validation, "fail")
    lowered = with_held_out(profile, failed)
    assert [r.evidence for r in lowered.criteria + lowered.disqualifiers] == ["weak", "weak"]
    assert "held-out test failed" in lowered.criteria[0].evidence_note
    html = render_html(ReportInput(profile=lowered), onepager_only=True)
    banner = html.index('id="held-out"')
    assert banner < html.index('id="statement"')  # near the top
    assert 'class="held-out alarm"' in html and "FAILED" in html
    assert "ev ev-strong" not in html
    text, _ = render_markdown(ReportInput(profile=lowered))
    assert "FAILED" in text.split("## Who to target")[0]


def test_no_held_out_test_is_a_red_banner_too() -> None:
    html = render_html(ReportInput(profile=IcpProfile()), onepager_only=True)
    assert 'data-status="missing"' in html and "Not tested on held-out data" in html
    profile = with_held_out(IcpProfile(), None, ["out-of-time backtest not possible: no deals"])
    assert any("no held-out test" in c for c in profile.caveats)
    assert "Out-of-time backtest not possible" in render_html(ReportInput(profile=profile))


def dataclass_replace_verdict(result, status: str):  # type: ignore[no-untyped-def]
    verdict = result.verdict.model_copy(
        update={"status": status, "reasons": ["forced for the test"]}
    )
    return result.model_copy(update={"verdict": verdict})


@pytest.mark.parametrize("folds", [0, 1])
def test_cv_fallback_can_be_switched_off(folds: int) -> None:
    config = WorkspaceConfig.model_validate(
        {"validation": {"cv_folds": folds}, "scoring": {"regularization_grid": []}}
    )
    result = build_icp(_lead_workspace(200, 0.5, 4), config)
    assert result.validation is None
    assert any("no held-out test" in c for c in result.profile.caveats)
    assert any("out-of-time backtest dropped" in c for c in result.profile.caveats)
