"""Discovery on the real Maven CRM (85 accounts): the output must say how little it can claim."""

from __future__ import annotations

from pathlib import Path

import pytest

MAVEN = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "datasets"
    / "maven-crm-sales-opportunities"
)


@pytest.mark.realdata
@pytest.mark.skipif(not MAVEN.exists(), reason=f"Maven CRM dataset not present at {MAVEN}")
def test_maven_icp_is_honest_about_85_accounts() -> None:
    from icpkit.config import DiscoveryConfig, SuccessConfig, config_from_dict
    from icpkit.data import guess_config, load_workspace
    from icpkit.discovery import find_icp
    from icpkit.outcomes import compute_outcomes

    config = config_from_dict(guess_config(MAVEN, "maven").config)
    crm = load_workspace(config, MAVEN)
    labels = compute_outcomes(crm, SuccessConfig()).labels_for(crm.accounts)
    result = find_icp(crm.accounts, labels, DiscoveryConfig.model_validate({}))

    rules = result.criteria + result.disqualifiers
    assert rules, "the strongest leads should still be shown, marked as such"
    assert all(r.evidence in ("weak", "insufficient") for r in rules), [
        (r.rule, r.evidence) for r in rules
    ]
    assert all(not r.significant for r in rules)
    assert all(r.lift_ci[1] > 1.5 * r.lift_ci[0] for r in rules), [r.lift_ci for r in rules]
    assert any("ranked accounts" in c and "weak" in c for c in result.caveats), result.caveats
    assert result.statement.startswith("The data does not show a clear ICP yet")
