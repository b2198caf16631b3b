"""themes/: offline embedding, clustering with a found theme count, labels, PII-free quotes,
themes × outcomes, declared themes, messaging, and every kind of bad note."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from icpkit.config import DeclaredTheme, ThemesConfig
from icpkit.datasets import SyntheticCrm
from icpkit.datasets.synthetic.engagement import ICP_PAIN, LOST_TIED, THEMES
from icpkit.errors import InsufficientDataError
from icpkit.outcomes import compute_outcomes
from icpkit.themes.analysis import ThemeAnalysis, find_themes
from icpkit.themes.cluster import cluster_vectors
from icpkit.themes.embed import MODEL_DIR, StaticEmbedder, default_embedder
from icpkit.themes.evidence import compare_themes
from icpkit.themes.label import theme_keywords
from icpkit.themes.messaging import NOT_ENOUGH, build_messaging
from icpkit.themes.pii import Scrubber


def planted_theme(texts: list[str]) -> np.ndarray:
    """The generator's theme of each synthetic note (its paraphrase ends the text)."""
    lookup = {p: t for t, phrases in THEMES.items() for p in phrases}
    return np.array([next(lookup[p] for p in lookup if x.endswith(p)) for x in texts])


@pytest.fixture(scope="module")
def analysis(synthetic_crm: SyntheticCrm) -> ThemeAnalysis:
    outcomes = compute_outcomes(synthetic_crm.to_crm_data())
    return find_themes(
        synthetic_crm.notes, outcomes.to_frame(), synthetic_crm.contacts["name"].to_list()
    )


def test_bundled_model_is_small_licensed_and_matches_model2vec() -> None:
    size = sum(p.stat().st_size for p in MODEL_DIR.iterdir())
    assert size < 10_000_000
    assert "Apache" in (MODEL_DIR / "LICENSE").read_text()
    model2vec = pytest.importorskip("model2vec")
    texts = ["we reconcile everything by hand in Excel", "the app is slow", "ok"]
    ours = StaticEmbedder().encode(texts)
    theirs = model2vec.StaticModel.from_pretrained(str(MODEL_DIR)).encode(texts)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_paraphrases_are_closer_than_other_themes() -> None:
    frame = pl.read_csv("tests/data/paraphrases.csv")
    assert frame.height >= 150 and frame["theme"].n_unique() >= 8
    x = default_embedder().encode(frame["text"].to_list())
    x = x - x.mean(axis=0)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    same = frame["theme"].to_numpy()[:, None] == frame["theme"].to_numpy()[None, :]
    sims = x @ x.T
    off_diagonal = ~np.eye(len(x), dtype=bool)
    assert sims[same & off_diagonal].mean() > sims[~same].mean() + 0.05


def test_empty_text_gives_a_zero_vector_and_stays_unassigned() -> None:
    x = default_embedder().encode(["", "   ", "pricing is too high"])
    assert np.allclose(x[:2], 0) and np.isclose(np.linalg.norm(x[2]), 1, atol=1e-5)


def test_clustering_finds_the_number_of_themes_itself() -> None:
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(4, 32))
    x = np.repeat(centers, 50, axis=0) + rng.normal(scale=0.3, size=(200, 32))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    found = cluster_vectors(x.astype(np.float32))
    assert found.n_themes == 4
    truth = np.repeat(np.arange(4), 50)
    for k in range(4):
        assert len(set(found.labels[truth == k])) == 1
    assert (found.labels >= 0).mean() > 0.95


def test_clustering_a_sample_assigns_every_note() -> None:
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(3, 16))
    x = np.repeat(centers, 2000, axis=0) + rng.normal(scale=0.3, size=(6000, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    found = cluster_vectors(x.astype(np.float32), sample_size=500)
    assert found.n_themes == 3 and (found.labels >= 0).mean() > 0.99


def test_keywords_are_distinctive_not_shared() -> None:
    texts = ["call notes: price too high", "call notes: price is steep", "call notes: app slow",
             "call notes: app crashes slow"]  # fmt: skip
    words = theme_keywords(texts, np.array([0, 0, 1, 1]), 2, top=2)
    assert "price" in words[0] and "slow" in words[1]
    assert not any("call" in w for ws in words for w in ws)


def test_scrubber_removes_emails_phones_links_and_names() -> None:
    scrub = Scrubber(["Maria Lopez", "Contact 12"])
    text = (
        "Maria said: mail maria.lopez@acme.com or call +44 20 7946 0958 / (555) 123-4567, "
        "see https://app.acme.com/login?token=abc123 and www.acme.com/x; contact 12 agreed. "
        "Renewal 2024-01-31, 12,000 USD."
    )
    clean = scrub(text)
    for leak in ("Maria", "maria", "acme", "7946", "123-4567", "token", "Contact 12", "contact 12"):
        assert leak not in clean
    assert "2024-01-31" in clean and "12,000" in clean


def test_the_planted_pain_is_found_more_among_the_best(
    analysis: ThemeAnalysis, synthetic_crm: SyntheticCrm
) -> None:
    truth = planted_theme(synthetic_crm.notes["text"].to_list())
    labels = analysis.assignments.sort("note_row")["theme"].to_numpy()
    pain_themes = {k for k in set(labels[truth == ICP_PAIN]) if k >= 0}
    hits = [
        t
        for t in analysis.tests_for("best_vs_rest")
        if t.theme in pain_themes and t.direction == "higher"
    ]
    assert hits and hits[0].q_value < 0.05 and hits[0].lift_ci[0] > 1  # type: ignore[operator]
    tied = {k for k in set(labels[truth == LOST_TIED]) if k >= 0}
    lost = [
        t
        for t in analysis.tests_for("lost_vs_won", "lost_reason")
        if t.theme in tied and t.direction == "higher"
    ]
    assert lost and lost[0].q_value < 0.05


def test_themes_are_pure_labelled_and_quoted(analysis: ThemeAnalysis) -> None:
    assert 4 <= len(analysis.themes) <= 40
    assert analysis.n_unassigned / analysis.n_notes < 0.05
    for theme in analysis.themes:
        assert theme.keywords and theme.label and theme.quotes
        assert all(len(q) <= 220 for q in theme.quotes)
    frame = analysis.to_frame()
    assert {"label", "lift", "q_value", "direction", "source", "comparison"} <= set(frame.columns)
    assert set(frame["source"]) >= {"voice", "lost_reason"}


def test_declared_themes_are_matched_and_merged(synthetic_crm: SyntheticCrm) -> None:
    declared = DeclaredTheme(
        name="ERP integration",
        description="the product does not connect to the customer's ERP or finance system",
        examples=["no connector for SAP", "cannot sync with NetSuite", "ERP plugin missing"],
    )
    outcomes = compute_outcomes(synthetic_crm.to_crm_data())
    found = find_themes(
        synthetic_crm.notes, outcomes.to_frame(), None, ThemesConfig(declared=[declared])
    )
    erp = [t for t in found.themes if t.label == "ERP integration"]
    assert erp and erp[0].origin == "declared"
    truth = planted_theme(synthetic_crm.notes["text"].to_list())
    labels = found.assignments.sort("note_row")["theme"].to_numpy()
    assert (truth[labels == erp[0].id] == LOST_TIED).mean() > 0.5


def test_bad_notes_are_counted_not_fatal() -> None:
    base = ["the price is too high for us", "onboarding took months", "reports are manual"] * 6
    notes = pl.DataFrame(
        {
            "account_id": ["A1"] * len(base) + ["A1", "A2", "A3", "A4", "ZZ"],
            "source": ["call"] * (len(base) + 5),
            "text": [
                *base,
                "",
                "word " * 250_000,  # ~1.2 MB
                "Die Einführung dauerte viel zu lange, über drei Monate ärgerlich für uns",
                "<script>alert(1)</script><b>pricing</b> is too high",
                "an account nobody knows",
            ],
        }
    )
    outcomes = pl.DataFrame(
        {"account_id": ["A1", "A2", "A3", "A4"], "label": ["best", "rest", "rest", "best"]}
    )
    found = find_themes(notes, outcomes)
    text = " | ".join(found.warnings)
    for expected in ("1 empty note skipped", "HTML markup", "longer than", "non-English",
                     "not in accounts"):  # fmt: skip
        assert expected in text, text
    assert found.n_notes == len(base) + 4


def test_too_few_notes_is_a_clear_error() -> None:
    notes = pl.DataFrame({"account_id": ["A1"] * 3, "text": ["a", "", None]})
    with pytest.raises(InsufficientDataError, match="at least 10"):
        find_themes(notes)


def test_evidence_counts_accounts_not_notes_and_compares_like_with_like() -> None:
    # a1, a2 (best) and b1, b2 (rest) left three calls each; b3, b4 left none
    ids = np.repeat(np.array(["a1", "a2", "b1", "b2"]), 3)
    labels = np.repeat(np.array([0, 1, 0, 1]), 3)
    groups = {"best_vs_rest": {"best": {"a1", "a2"}, "rest": {"b1", "b2", "b3", "b4"}}}
    tests = compare_themes(ids, pl.Series(["call"] * 12), labels, 2, groups)
    zero = next(t for t in tests if t.theme == 0)
    # shares count accounts (a1 once, not three times) over every account of the group…
    assert (zero.k_a, zero.n_a, zero.k_b, zero.n_b) == (1, 2, 1, 4)
    assert zero.share_a / zero.share_b == pytest.approx(2.0)
    # …but the lift compares accounts with the same notes: half of each group's noted accounts
    assert zero.lift == pytest.approx(1.0)
    low, high = zero.lift_ci
    assert low is not None and high is not None and low < 1.0 < high
    assert zero.direction == "none"


def test_an_account_with_more_notes_does_not_look_more_pained() -> None:
    """A theme in every third note: the talkative group mentions it more, the lift stays 1."""
    rng = np.random.default_rng(3)
    best = rng.random(600) < 0.5
    counts = np.where(best, rng.poisson(6, 600), rng.poisson(1.5, 600))
    ids = np.repeat(np.array([f"x{i}" for i in range(600)]), counts)
    labels = (rng.random(len(ids)) < 1 / 3).astype(np.int64)  # theme 1 in a third of notes
    sources = np.where(rng.random(len(ids)) < np.repeat(np.where(best, 0.8, 0.2), counts),
                       "call", "ticket")  # fmt: skip
    names = np.array([f"x{i}" for i in range(600)])
    groups = {"best_vs_rest": {"best": set(names[best]), "rest": set(names[~best])}}
    tests = compare_themes(ids, pl.Series(sources), labels, 2, groups)
    flat = next(t for t in tests if t.theme == 1 and t.source == "voice")
    assert flat.share_a > 2 * flat.share_b  # the crude comparison would call it a pain
    assert flat.direction == "none" and flat.q_value > 0.05, flat
    assert flat.lift is not None and 0.75 < flat.lift < 1.33


def test_messaging_says_plainly_what_is_missing(
    analysis: ThemeAnalysis, synthetic_crm: SyntheticCrm
) -> None:
    outcomes = compute_outcomes(synthetic_crm.to_crm_data())
    messaging = build_messaging(
        analysis, "Our ideal customer is a software company.", outcomes.to_frame(),
        notes=synthetic_crm.notes, contacts=synthetic_crm.contacts,
    )  # fmt: skip
    assert messaging.parts.triggers == NOT_ENOUGH
    assert f"when {NOT_ENOUGH}" in messaging.statement
    assert messaging.parts.pains != NOT_ENOUGH
    assert messaging.disqualifier_evidence and "more common" in messaging.disqualifier_evidence[0]
    with_triggers = build_messaging(
        analysis,
        "Our ideal customer is X.",
        outcomes.to_frame(),
        triggers=["they hire a new VP Sales"],
    )
    assert "when they hire a new VP Sales." in with_triggers.statement
    assert "Contact " not in messaging.model_dump_json()
