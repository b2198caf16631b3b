"""Which universe record is each CRM account: a Fellegi–Sunter record-linkage model (splink on DuckDB).

Why splink: it is the maintained implementation of the probabilistic model record linkage uses
(Fellegi–Sunter, m/u probabilities per comparison level, EM training without labels), it runs its
blocking and comparisons as SQL in DuckDB (no pairwise loop in Python), and it returns a match
*probability* per pair — the number each filled value's provenance carries.

The comparisons, each with a null level that weighs nothing:

- **domain**: the same normalised domain (scheme, ``www``, path, case stripped), or one is the
  other's parent (``shop.acme.com`` ~ ``acme.com``); a wrong shared website (FinanceDatabase puts
  ``rh.com`` on unrelated listings) is outweighed by the names disagreeing;
- **name**: the comparison key of :func:`match_key` (legal suffixes, case, accents and punctuation
  dropped; non-Latin names keep their own letters) equal, or Jaro–Winkler ≥ 0.95 / ≥ 0.88;
- **country**, **founded year**, **employee band** (half-decades of log10): equal or not.

Candidate pairs ("blocking") share a domain (or parent), the name key, or the first or the last
three letters of the name key. A block key that more than ``block_cap`` universe records share
(a generic name, a common prefix in a 10M-company universe) is sub-blocked — the key plus the
country, then a longer prefix (suffix) plus the country — and a block still larger than the cap is
skipped and counted in :attr:`Model.skipped`. The candidate pairs then grow linearly with the CRM
(at most ``block_cap`` per account and rule) instead of with CRM × universe / distinct prefixes,
which is what made a 1M × 10M run extrapolate to hours (bench/RESULTS.md, issue 29). The m probabilities start from expert values, the u probabilities (chance
agreement) are measured on random pairs of these very tables, and EM refines m on the pairs that
share a name key (training the other comparisons) and on those that share a domain (training the
name) when there are enough of them; a model that cannot be trained keeps its starting values.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from icpkit.data.normalize import normalise_domains
from icpkit.lookalikes.match import name_keys

_MIN_TRAINING_PAIRS = 50
_MIN_RANDOM_PAIRS = 20_000
BLOCK_CAP = 200  # universe records one block key may hold before it is sub-blocked
_TRAINING_ROWS = 50_000  # EM learns m from a sample of this many CRM rows at most
_PREDICT_ROWS = 100_000  # CRM rows scored against the universe at a time


def match_key(names: pl.Series) -> pl.Series:
    """Comparison key of each company name: :func:`~icpkit.lookalikes.match.name_keys` for Latin
    names; names in another script (Cyrillic, CJK, Arabic, …) keep their letters, case-folded,
    with Latin legal words dropped, so 'ООО Яндекс' and 'Яндекс' share the key 'яндекс'."""
    raw = names.cast(pl.Utf8)
    latin = name_keys(raw)
    other = raw.str.contains(r"[^\p{Latin}\p{Common}\p{Inherited}]").fill_null(False)
    if not other.any():
        return latin.alias(names.name)
    folded = (
        raw.str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(r"[^\w]+", " ")
        .str.replace_all(r"(?:^| )(?:ооо|оао|зао|пао|ао|ип)(?: |$)", " ")
        .str.replace_all("株式会社|股份有限公司|有限公司", " ")  # CJK legal forms: no spaces around
        .str.replace_all(r"(?-u:\b)(?:inc|ltd|llc|gmbh|ag|sa|plc|corp|co|limited)(?-u:\b)", " ")
        .str.replace_all(" +", " ")
        .str.strip_chars(" ")
    )
    folded = folded.set(folded.str.len_chars() == 0, None)
    return pl.select(pl.when(other).then(folded).otherwise(latin)).to_series().alias(names.name)


def one_per_company(frame: pl.DataFrame) -> pl.DataFrame:
    """One listing per company of a universe: listings sharing a name key in one country are one
    company (the rule of :mod:`icpkit.lookalikes.dedup`; FinanceDatabase lists Apple on a dozen
    exchanges) unless their domains differ (then each domain is its own company, and listings
    without one stay apart); the listing with the most filled fields stands for the company.
    Without this, a CRM account would tie between the listings of its own company and be left
    unmatched as ambiguous."""
    if "name" not in frame.columns or frame.height == 0:
        return frame
    n = frame.height
    keys = match_key(frame["name"])
    country = (
        frame["country"].cast(pl.Utf8).str.to_uppercase()
        if "country" in frame.columns
        else pl.repeat(None, n, dtype=pl.Utf8, eager=True)
    )
    domain = (
        normalise_domains(frame["domain"].cast(pl.Utf8))
        if "domain" in frame.columns
        else pl.repeat(None, n, dtype=pl.Utf8, eager=True)
    )
    filled = frame.select(
        pl.sum_horizontal(pl.all().is_not_null().cast(pl.Int32)).alias("_filled")
    ).to_series()
    marked = frame.with_columns(
        keys.alias("_key"), country.fill_null("").alias("_country"), domain.alias("_domain"),
        filled, pl.int_range(n).alias("_row"),
    )  # fmt: skip
    marked = marked.with_columns(
        pl.col("_domain").n_unique().over("_key", "_country").alias("_kinds"),
        pl.col("_domain").null_count().over("_key", "_country").alias("_blank"),
    )
    # one company per name + country when at most one domain is in play, else one per domain
    one = (pl.col("_kinds") - (pl.col("_blank") > 0).cast(pl.UInt32)) <= 1
    marked = marked.with_columns(
        pl.when(one).then(pl.lit("")).otherwise(pl.col("_domain").fill_null("\x00")).alias("_part")
    )
    keyed = marked.filter(pl.col("_key").is_not_null())
    best = keyed.sort(["_filled", "_row"], descending=[True, False]).unique(
        ["_key", "_country", "_part"], keep="first"
    )
    kept = pl.concat([best, marked.filter(pl.col("_key").is_null())]).sort("_row")
    return kept.select(frame.columns)


def _domain_parent(domains: pl.Series) -> pl.Series:
    """The domain without its first label when it has three or more ('shop.acme.com' → 'acme.com')."""
    labels = domains.str.count_matches(r"\.") + 1
    up = domains.str.replace(r"^[^.]+\.", "")
    return pl.select(pl.when(labels >= 3).then(up).otherwise(domains)).to_series()


def linkage_frame(frame: pl.DataFrame, id_column: str, source: str) -> pl.DataFrame:
    """The columns the model compares, from an accounts-shaped or universe frame."""
    n = frame.height

    def col(name: str, dtype: Any = pl.Utf8) -> pl.Series:
        if name in frame.columns:
            return frame[name].cast(dtype, strict=False)
        return pl.repeat(None, n, dtype=dtype, eager=True)

    domain = normalise_domains(col("domain"))
    employees = col("employees", pl.Float64)
    band = (employees.clip(lower_bound=1).log10() * 2).floor().cast(pl.Int64)
    return pl.DataFrame(
        {
            "unique_id": frame[id_column].cast(pl.Utf8),
            "source_dataset": pl.repeat(source, n, dtype=pl.Utf8, eager=True),
            "name_key": match_key(col("name")),
            "domain": domain,
            "domain_up": _domain_parent(domain),
            "country": col("country").str.strip_chars().str.to_uppercase(),
            "founded_year": col("founded_year", pl.Int64),
            "emp_band": band,
        }
    )


def _block_levels() -> dict[str, list[pl.Expr]]:
    """Each name blocking rule's keys, coarse to fine: a key too common is replaced by the next."""
    nk, cc = pl.col("name_key"), pl.col("country")

    def with_country(e: pl.Expr) -> pl.Expr:
        return pl.concat_str([e, cc], separator="|")

    return {
        "b_name": [nk, with_country(nk)],
        "b_head": [nk.str.slice(0, 3), *(with_country(nk.str.slice(0, k)) for k in (3, 5, 8))],
        "b_tail": [nk.str.slice(-3), *(with_country(nk.str.slice(-k)) for k in (3, 5, 8))],
    }


def block_keys(
    left: pl.DataFrame, right: pl.DataFrame | None, cap: int = BLOCK_CAP
) -> tuple[pl.DataFrame, pl.DataFrame | None, dict[str, int], dict[str, int]]:
    """Add the capped blocking keys ``b_name``, ``b_head``, ``b_tail`` to both linkage frames.

    Per rule, each row takes the coarsest key that at most ``cap`` rows of the reference side
    (the universe; ``left`` itself when deduplicating) share; the choice depends on the key
    value alone, so two rows sharing a small block choose it alike. Returns the frames, the rows
    of ``left`` each rule left out (their every key is a giant block) and the candidate pairs
    each rule yields (before pairs found by an earlier rule are dropped)."""
    skipped: dict[str, int] = {}
    candidates: dict[str, int] = {}
    outs: list[pl.DataFrame] = [left] if right is None else [left, right]
    for rule, levels in _block_levels().items():
        keyed = [f.select([e.alias(f"_k{i}") for i, e in enumerate(levels)]) for f in outs]
        ref_keys = keyed[0] if right is None else keyed[1]
        chosen: list[pl.Series] = [
            pl.repeat(None, f.height, dtype=pl.Utf8, eager=True) for f in outs
        ]
        for i in range(len(levels)):
            column = f"_k{i}"
            counts = ref_keys[column].drop_nulls().value_counts(name="_n")
            big = counts.filter(pl.col("_n") > cap)[column]
            for j, k in enumerate(keyed):
                key = k[column]
                # a key no reference row holds is its own (empty) block: not giant either
                take = chosen[j].is_null() & key.is_not_null() & ~key.is_in(big.implode())
                chosen[j] = pl.select(
                    pl.when(take).then(pl.lit(f"{i}:") + key).otherwise(chosen[j])
                ).to_series()
        outs = [f.with_columns(c.alias(rule)) for f, c in zip(outs, chosen, strict=True)]
        has_name = outs[0]["name_key"].is_not_null()
        skipped[rule] = int((has_name & outs[0][rule].is_null()).sum())
        if right is None:
            n = outs[0][rule].drop_nulls().value_counts(name="_n")["_n"].cast(pl.Int64)
            candidates[rule] = int((n * (n - 1) // 2).sum())
        else:
            a = outs[0][rule].drop_nulls().value_counts(name="_a")
            b = outs[1][rule].drop_nulls().value_counts(name="_b")
            both = a.join(b, on=rule)
            candidates[rule] = int((both["_a"].cast(pl.Int64) * both["_b"].cast(pl.Int64)).sum())
    return outs[0], (outs[1] if right is not None else None), skipped, candidates


def _settings(link_type: Literal["link_only", "dedupe_only"]) -> Any:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on
    from splink.blocking_rule_library import CustomRule

    domain = cl.CustomComparison(
        output_column_name="domain",
        comparison_levels=[
            cll.NullLevel("domain"),
            cll.ExactMatchLevel("domain").configure(m_probability=0.85, u_probability=1e-4),
            cll.CustomLevel(
                "domain_l = domain_up_r OR domain_up_l = domain_r", label_for_charts="parent domain"
            ).configure(m_probability=0.05, u_probability=1e-4),
            cll.ElseLevel().configure(m_probability=0.10, u_probability=1 - 2e-4),
        ],
    )
    name = cl.CustomComparison(
        output_column_name="name_key",
        comparison_levels=[
            cll.NullLevel("name_key"),
            cll.ExactMatchLevel("name_key").configure(m_probability=0.70, u_probability=1e-4),
            cll.JaroWinklerLevel("name_key", 0.95).configure(
                m_probability=0.15, u_probability=5e-4
            ),
            cll.JaroWinklerLevel("name_key", 0.88).configure(
                m_probability=0.10, u_probability=5e-3
            ),
            cll.ElseLevel().configure(m_probability=0.05, u_probability=1 - 5.6e-3),
        ],
    )

    def exact(column: str, m: float, u: float) -> Any:
        return cl.CustomComparison(
            output_column_name=column,
            comparison_levels=[
                cll.NullLevel(column),
                cll.ExactMatchLevel(column).configure(m_probability=m, u_probability=u),
                cll.ElseLevel().configure(m_probability=1 - m, u_probability=1 - u),
            ],
        )

    return SettingsCreator(
        link_type=link_type,
        comparisons=[
            domain, name, exact("country", 0.9, 0.1), exact("founded_year", 0.8, 0.03),
            exact("emp_band", 0.7, 0.2),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("domain"),
            CustomRule("l.domain = r.domain_up"),
            CustomRule("l.domain_up = r.domain"),
            block_on("b_name"),
            block_on("b_head"),
            block_on("b_tail"),
        ],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )  # fmt: skip


@dataclass(frozen=True)
class Model:
    """A trained linkage model's parameters, for the record (what each comparison level weighs)."""

    prior: float
    trained: tuple[str, ...]  # what EM refined ('name', 'other comparisons'), or nothing
    weights: tuple[tuple[str, float, float], ...] = ()  # (level, m, u) after training
    skipped: tuple[tuple[str, int], ...] = ()  # (blocking rule, rows left out of it: giant blocks)
    candidates: tuple[tuple[str, int], ...] = ()  # (blocking rule, candidate pairs it adds at most)


def _train(
    linker: Any, pairs_by_name: int, pairs_by_domain: int, prior: float, total: float
) -> Model:
    from splink import block_on

    trained: list[str] = []
    logging.getLogger("splink").setLevel(logging.ERROR)
    if total >= _MIN_RANDOM_PAIRS:  # fewer random pairs than this: the start values say more
        linker.training.estimate_u_using_random_sampling(max_pairs=200_000, seed=1)
        trained.append("chance agreement (u)")
    if pairs_by_name >= _MIN_TRAINING_PAIRS:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on("name_key"), fix_u_probabilities=True
            )
            trained.append("domain, country, founded year, employees")
        except Exception:
            pass
    if pairs_by_domain >= _MIN_TRAINING_PAIRS:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on("domain"), fix_u_probabilities=True
            )
            trained.append("name")
        except Exception:
            pass
    return Model(prior=prior, trained=tuple(trained))


def _count_pairs(left: pl.DataFrame, right: pl.DataFrame | None, column: str) -> int:
    """Candidate pairs sharing ``column`` (within ``left`` when ``right`` is None)."""
    a = left[column].drop_nulls().value_counts()
    if right is None:
        return int((a["count"] * (a["count"] - 1) // 2).sum())
    b = right[column].drop_nulls().value_counts()
    joined = a.join(b, on=column, suffix="_r")
    return int((joined["count"] * joined["count_r"]).sum())


def predict_pairs(
    left: pl.DataFrame,
    right: pl.DataFrame | None,
    *,
    floor: float = 0.05,
    block_cap: int = BLOCK_CAP,
) -> tuple[pl.DataFrame, Model]:
    """Scored candidate pairs between two linkage frames (or within ``left`` when ``right`` is
    None): ``id_l``, ``id_r``, ``probability`` and the comparison levels (the evidence).
    ``block_cap``: universe records a name block may hold before it is sub-blocked (see the
    module docstring)."""
    from splink import DuckDBAPI, Linker

    left, right, skipped, candidates = block_keys(left, right, block_cap)
    db = DuckDBAPI()
    # the universe is registered in DuckDB once, for the u estimate, training and each chunk
    universe = db.register(right.to_arrow()) if right is not None else None
    link_type: Literal["link_only", "dedupe_only"] = "dedupe_only" if right is None else "link_only"
    n_left = left.height
    n_right = n_left if right is None else right.height
    pairs_name = _count_pairs(left, right, "name_key")
    pairs_domain = _count_pairs(left, right, "domain")
    # the prior: about one true match per CRM account among all the pairs
    total = n_left * n_right if right is not None else n_left * (n_left - 1) / 2
    prior = min(0.5, max(1.0 / max(total, 1.0), min(n_left, n_right) / max(total, 1.0)))
    if right is None:
        prior = min(prior, 0.05 / max(n_left, 1))
    settings: Any = _settings(link_type)
    settings.probability_two_random_records_match = prior
    u_from_universe = (
        right is not None and right.height * (right.height - 1) / 2 >= _MIN_RANDOM_PAIRS
    )
    if u_from_universe:
        # chance agreement measured on random pairs *within* the universe (one row per company):
        # random CRM × universe pairs hold the true matches too, and when most accounts are in
        # the universe those inflate u of 'same name' until it weighs less than 'similar name'
        assert right is not None and universe is not None
        logging.getLogger("splink").setLevel(logging.ERROR)
        alone = Linker(universe, _settings("dedupe_only"), log_level=None)
        alone.training.estimate_u_using_random_sampling(max_pairs=1_000_000, seed=1)
        settings = alone.misc.save_model_to_json()
        settings["link_type"] = link_type
        settings["probability_two_random_records_match"] = prior
    if universe is not None and left.height > _TRAINING_ROWS:
        # EM learns m from a sample of the CRM: the parameters settle long before 1M accounts
        sample = left.sample(_TRAINING_ROWS, seed=1)
        scale = _TRAINING_ROWS / left.height
        trainer = Linker(
            [db.register(sample.to_arrow()), universe], settings,
            log_level=None,
        )  # fmt: skip
        model = _train(
            trainer, int(pairs_name * scale), int(pairs_domain * scale), prior,
            0 if u_from_universe else total,
        )  # fmt: skip
        settings = trainer.misc.save_model_to_json()
        model = Model(prior, (*model.trained, f"on a sample of {_TRAINING_ROWS:,} accounts"))
        linker = trainer
    else:
        crm = db.register(left.to_arrow())
        linker = Linker(crm if universe is None else [crm, universe], settings, log_level=None)
        model = _train(linker, pairs_name, pairs_domain, prior, 0 if u_from_universe else total)
    if u_from_universe:
        model = Model(prior, ("chance agreement (u) within the universe", *model.trained))
    weights = []
    for comparison in linker.misc.save_model_to_json()["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            weights.append(
                (f"{comparison['output_column_name']}: {level['label_for_charts']}",
                 float(level.get("m_probability") or 0.0), float(level.get("u_probability") or 0.0))
            )  # fmt: skip
    model = Model(
        prior=model.prior, trained=model.trained, weights=tuple(weights),
        skipped=tuple(skipped.items()), candidates=tuple(candidates.items()),
    )  # fmt: skip
    if universe is not None and left.height > _TRAINING_ROWS:
        # the CRM in chunks against the universe registered once in DuckDB: the blocked pairs of
        # one chunk at a time are held, so memory stays bounded however large the CRM
        trained = linker.misc.save_model_to_json()
        parts = []
        for chunk in left.iter_slices(_PREDICT_ROWS):
            part = Linker([db.register(chunk.to_arrow()), universe], trained, log_level=None)
            scored = part.inference.predict(threshold_match_probability=floor)
            parts.append(pl.from_arrow(scored.as_duckdbpyrelation().arrow()))
            scored.drop_table_from_database_and_remove_from_cache()
        found = [p for p in parts if isinstance(p, pl.DataFrame) and p.height]
        frame = pl.concat(found) if found else pl.DataFrame()
    else:
        scored = linker.inference.predict(threshold_match_probability=floor)
        whole = pl.from_arrow(scored.as_duckdbpyrelation().arrow())
        assert isinstance(whole, pl.DataFrame)
        frame = whole
    if frame.height == 0:
        return _empty_pairs(), model
    flip = (
        (frame["source_dataset_l"] != "crm")
        if "source_dataset_l" in frame.columns
        else pl.repeat(False, frame.height, eager=True)
    )
    levels = [c for c in frame.columns if c.startswith("gamma_")]
    out = frame.select(
        pl.when(flip).then(pl.col("unique_id_r")).otherwise(pl.col("unique_id_l")).alias("id_l"),
        pl.when(flip).then(pl.col("unique_id_l")).otherwise(pl.col("unique_id_r")).alias("id_r"),
        pl.col("match_probability").alias("probability"),
        *[pl.col(c).alias(c.removeprefix("gamma_")) for c in levels],
    )
    return out, model


def _empty_pairs() -> pl.DataFrame:
    return pl.DataFrame(schema={"id_l": pl.Utf8, "id_r": pl.Utf8, "probability": pl.Float64})


# splink numbers a comparison's levels from the else level (0) up; the null level is -1
_LEVEL_WORDS = {
    "domain": {2: "same domain", 1: "parent domain", 0: "different domain"},
    "name_key": {3: "same name", 2: "near-identical name", 1: "similar name", 0: "different name"},
    "country": {1: "same country", 0: "different country"},
    "founded_year": {1: "same founded year", 0: "different founded year"},
    "emp_band": {1: "same size band", 0: "different size band"},
}


def evidence(row: dict[str, Any]) -> str:
    """The comparisons behind one scored pair, in words ('same domain; similar name; …')."""
    words = []
    for column, names in _LEVEL_WORDS.items():
        level = row.get(column)
        if level is not None and int(level) in names:
            words.append(names[int(level)])
    return "; ".join(words)


def best_matches(pairs: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """One universe record per CRM account and one CRM account per record, at or above
    ``threshold``: pairs are taken greedily by probability, and a record whose best two
    accounts (or an account whose best two records) score the same is left unmatched as
    ambiguous — a tie means the fields compared cannot tell them apart."""
    kept = pairs.filter(pl.col("probability") >= threshold)
    if kept.height == 0:
        return kept
    for side in ("id_l", "id_r"):  # ties at the top of either side: ambiguous
        top = kept.group_by(side).agg(pl.col("probability").max().alias("_top"))
        at_top = kept.join(top, on=side).filter(pl.col("probability") >= pl.col("_top") - 1e-12)
        tied = at_top.group_by(side).len().filter(pl.col("len") > 1)[side]
        kept = kept.filter(~pl.col(side).is_in(tied.implode()))
    ordered = kept.sort(["probability", "id_l", "id_r"], descending=[True, False, False])
    used_l: set[str] = set()
    used_r: set[str] = set()
    rows = []
    for i, (a, b) in enumerate(
        zip(ordered["id_l"].to_list(), ordered["id_r"].to_list(), strict=True)
    ):
        if a in used_l or b in used_r:
            continue
        used_l.add(a)
        used_r.add(b)
        rows.append(i)
    return ordered[rows]


def rapidfuzz_matches(
    crm: pl.DataFrame, universe: pl.DataFrame, id_column: str, cutoff: float = 92.0
) -> pl.DataFrame:
    """The baseline: per universe record, the CRM account whose name key is most alike
    (rapidfuzz token-sort ratio ≥ ``cutoff``, the lookalikes matcher's rule), no other field."""
    from rapidfuzz import fuzz, process

    left = match_key(crm["name"]).to_list()
    ids = crm["account_id"].cast(pl.Utf8).to_list()
    right = match_key(universe["name"]).to_list()
    rids = universe[id_column].cast(pl.Utf8).to_list()
    choices = {i: k for i, k in enumerate(left) if k}
    rows = []
    for rid, key in zip(rids, right, strict=True):
        if not key:
            continue
        found = process.extractOne(key, choices, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff)
        if found is not None:
            rows.append((ids[found[2]], rid, float(found[1]) / 100))
    return pl.DataFrame(rows, schema=["id_l", "id_r", "probability"], orient="row")


def pairwise_quality(found: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    """Pairwise precision and recall of ``found`` (id_l, id_r) against ``truth`` (id_l, id_r)."""
    hits = found.join(truth, on=["id_l", "id_r"], how="inner").height
    precision = hits / found.height if found.height else math.nan
    recall = hits / truth.height if truth.height else math.nan
    return {"pairs": float(found.height), "precision": precision, "recall": recall}


__all__ = [
    "BLOCK_CAP", "Model", "best_matches", "block_keys", "evidence", "linkage_frame", "match_key", "one_per_company",
    "pairwise_quality",
    "predict_pairs", "rapidfuzz_matches",
]  # fmt: skip
_ = np
