"""Familiar bands beside the tiers (issue 27): the calibrated score is monotone in the raw score,
the tier cuts land on the band edges, the scale is configurable, and every output carries it."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from icpkit import datasets, pipeline
from icpkit.config import BandsConfig
from icpkit.scoring import score_frame
from icpkit.scoring.bands import BandScale, calibrate
from icpkit.scoring.tiers import TierCuts

SIX_SENSE = BandScale(("strong", "moderate", "weak"), (81, 50), (81, 65, 50))


@st.composite
def cuts(draw: st.DrawFn) -> TierCuts:
    t3 = draw(st.integers(0, 101))
    t2 = draw(st.integers(t3, 101))
    return TierCuts(draw(st.integers(t2, 101)), t2, t3)


@given(cuts())
def test_calibrated_score_is_monotone_and_puts_each_tier_cut_on_its_band_edge(c: TierCuts) -> None:
    raw = np.arange(0, 101)
    read = calibrate(raw, c)
    assert (np.diff(read.calibrated) >= 0).all()
    assert (np.diff(read.band) <= 0).all()  # a higher score never reads as a worse band
    assert read.calibrated.min() >= 0 and read.calibrated.max() <= 100
    anchor_at: dict[int, int] = {}
    for cut, anchor in ((c.tier1, 85), (c.tier2, 70), (c.tier3, 50)):
        anchor_at[cut] = max(anchor, anchor_at.get(cut, 0))  # cuts that coincide: the higher
    for cut, anchor in anchor_at.items():
        if cut <= 100:  # an unreachable cut (101) has no score on it
            assert read.calibrated[cut] == anchor
        if 0 < cut <= 100:  # just below a cut reads below the band it opens
            assert read.calibrated[cut - 1] < anchor


def test_the_default_map_and_bands_by_hand() -> None:
    c = TierCuts(49, 45, 39)  # the demo's cuts
    read = calibrate(np.array([0, 20, 39, 42, 45, 47, 49, 76, 100]), c)
    # 0→0, 39→50, 45→70, 49→85, 100→100; linear between, rounded down
    assert read.calibrated.tolist() == [0, 25, 50, 60, 70, 77, 85, 92, 100]
    assert read.labels == ["low", "low", "medium", "medium", "good", "good"] + ["very good"] * 3
    six = calibrate(np.array([38, 39, 45, 49, 60]), c, SIX_SENSE)
    assert six.calibrated.tolist() == [48, 50, 65, 81, 85]
    assert six.labels == ["weak", "moderate", "moderate", "strong", "strong"]


def test_band_settings_are_checked() -> None:
    assert BandScale.from_config(BandsConfig()) == BandScale()
    cfg = BandsConfig(names=["strong", "moderate", "weak"], edges=[81, 50], anchors=[81, 65, 50])
    assert BandScale.from_config(cfg) == SIX_SENSE
    with pytest.raises(ValueError, match="one distinct name more"):
        BandsConfig(names=["a", "b"], edges=[80, 50])
    with pytest.raises(ValueError, match="strictly descending"):
        BandsConfig(edges=[50, 70, 85])
    with pytest.raises(ValueError, match="3 values"):
        BandsConfig(anchors=[85, 50])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> pipeline.Workspace:
    root = tmp_path_factory.mktemp("bands")
    datasets.make_crm(600, seed=5).write_workspace(root)
    ws = pipeline.Workspace.open(root)
    pipeline.build_and_save(ws)
    return pipeline.Workspace.open(root)


@pytest.mark.slow  # builds a workspace (~25 s on a loaded machine)
def test_tier_1_reads_very_good_and_the_workspace_scale_reaches_every_output(
    built: pipeline.Workspace, tmp_path: pytest.TempPathFactory
) -> None:
    profile = built.store.get("latest").profile()
    scored = score_frame(profile, built.load().accounts)
    tier1 = scored.filter(pl.col("tier") == "Tier 1")
    assert tier1.height > 0
    assert (tier1["fit_band"] == "very good").all()  # Tier 1 never reads as low
    order = scored.sort("fit_score")
    assert (order["calibrated_score"].diff().drop_nulls() >= 0).all()
    six = score_frame(profile, built.load().accounts, bands=SIX_SENSE)
    assert set(six["fit_band"]) <= {"strong", "moderate", "weak"}
    assert six["tier"].to_list() == scored["tier"].to_list()  # tiers keep their rules
    via_api = pipeline.score_accounts(profile, built.load().accounts, workspace=built)
    assert via_api["fit_band"].to_list() == scored["fit_band"].to_list()
