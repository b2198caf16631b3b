"""Synthetic accounts: firmographic and technographic attributes with realistic shape and mess.

Sizes are long-tailed (lognormal employees, revenue per employee by industry), industries,
countries and tools follow Zipf-like popularity, and a few percent of cells are missing or
misspelt. Two frames come out: the *clean* one (true attribute values, which decide who is in
the planted ICP) and the *observed* one (what a CRM export would hold).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

INDUSTRIES = (
    "Software",
    "Financial Services",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Professional Services",
    "Education",
    "Media",
    "Logistics",
    "Telecommunications",
    "Real Estate",
    "Insurance",
    "Energy",
    "Government",
    "Non-profit",
    "Hospitality",
    "Construction",
)
# log-scale size offset per industry (manufacturing, finance, telecoms, energy run bigger).
_INDUSTRY_SIZE = np.array([0.0, 0.5, 0.3, 0.6, 0.2, -0.3, 0.1, -0.2, 0.2, 0.8, -0.4, 0.5, 0.7,
                           0.9, -0.6, -0.1, -0.2])  # fmt: skip
# median revenue per employee (USD) per industry.
_INDUSTRY_RPE = np.array([220, 350, 160, 250, 180, 150, 90, 170, 200, 300, 260, 400, 500,
                          110, 70, 80, 190], dtype=float) * 1_000  # fmt: skip

COUNTRY_REGIONS = {
    "US": "North America", "GB": "EMEA", "DE": "EMEA", "CA": "North America", "FR": "EMEA",
    "AU": "APAC", "NL": "EMEA", "IN": "APAC", "ES": "EMEA", "SE": "EMEA", "BR": "LATAM",
    "IT": "EMEA", "JP": "APAC", "SG": "APAC", "CH": "EMEA", "IE": "EMEA", "DK": "EMEA",
    "MX": "LATAM", "PL": "EMEA", "ZA": "EMEA", "NO": "EMEA", "BE": "EMEA", "IL": "EMEA",
    "NZ": "APAC", "AT": "EMEA",
}  # fmt: skip
COUNTRIES = tuple(COUNTRY_REGIONS)

TOOLS = (
    "Slack", "AWS", "Salesforce", "HubSpot", "Snowflake", "Google Cloud", "Azure", "Zoom",
    "Jira", "Databricks", "Stripe", "Zendesk", "Tableau", "Okta", "Power BI", "Intercom",
    "Looker", "Shopify", "SAP", "NetSuite", "dbt", "Segment", "Marketo", "Workday", "Oracle",
)  # fmt: skip
# Industries lean towards some tools (multiplier on the tool's popularity weight).
_TOOL_AFFINITY = {
    "Software": {"Snowflake": 2.5, "dbt": 3.0, "Databricks": 2.0, "Segment": 2.5, "Jira": 2.0},
    "Financial Services": {"Snowflake": 2.0, "Tableau": 2.0, "Oracle": 2.5, "Databricks": 2.0},
    "Retail": {"Shopify": 8.0, "Stripe": 2.5, "Segment": 1.5},
    "Manufacturing": {"SAP": 5.0, "Oracle": 2.0, "Power BI": 2.0},
    "Healthcare": {"Workday": 2.0, "Azure": 2.0, "Oracle": 1.5},
    "Education": {"Zoom": 2.0, "Google Cloud": 2.0},
}
MAX_TOOLS = 6

FUNDING_STAGES = (
    "Bootstrapped", "Seed", "Series A", "Series B", "Series C+", "Private Equity", "Public",
)  # fmt: skip
# Logits of each funding stage: intercept and slope on standardised log(employees).
_FUNDING_LOGITS = np.array(
    [[0.8, -0.4], [0.3, -1.0], [0.4, -0.3], [0.0, 0.2], [-0.6, 0.6], [-1.2, 0.9], [-2.2, 1.6]]
)
OWNERSHIPS = ("Private", "Public", "PE-backed", "Subsidiary", "Government", "Non-profit")

_MISSING = {
    "industry": 0.02, "employees": 0.03, "annual_revenue": 0.07, "country": 0.015,
    "region": 0.01, "founded_year": 0.05, "ownership": 0.03, "funding_stage": 0.05,
    "tech_stack": 0.03,
}  # fmt: skip
_TYPO_RATE = {"industry": 0.008, "funding_stage": 0.006, "ownership": 0.006}

_NAME_HEADS = ("Blue", "North", "Bright", "Silver", "Iron", "Clear", "Swift", "Green", "Red",
               "Quantum", "Summit", "Harbor", "Nova", "Pioneer", "Atlas", "Cedar")  # fmt: skip
_NAME_TAILS = ("wave", "field", "stone", "path", "point", "works", "labs", "bridge", "peak",
               "line", "scale", "forge")  # fmt: skip
_LEGAL = ("Inc", "Ltd", "GmbH", "Group", "Co", "Systems")


@dataclass(frozen=True)
class Firmographics:
    """The generated accounts: ``clean`` true values and ``observed`` values with noise."""

    clean: pl.DataFrame
    observed: pl.DataFrame


def zipf_weights(n: int, exponent: float) -> np.ndarray:
    """Normalised Zipf-like weights 1/k^exponent for k = 1..n (a few dominant values)."""
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return np.asarray(weights / weights.sum())


def draw_categorical(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One category per row of an (n, k) logit matrix, by inverse-CDF sampling (vectorised)."""
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random(len(logits)) * cumulative[:, -1]
    return np.asarray((cumulative < u[:, None]).sum(axis=1))


def make_accounts(n: int, rng: np.random.Generator, as_of_year: int) -> Firmographics:
    """Generate ``n`` accounts; ``as_of_year`` is the last year of the CRM period.

    Parameters
    ----------
    n
        Number of accounts.
    rng
        Source of randomness (the caller seeds it).
    as_of_year
        Founding years are drawn before this year.
    """
    industry = rng.choice(len(INDUSTRIES), size=n, p=zipf_weights(len(INDUSTRIES), 0.85))
    log_size = np.log(40) + _INDUSTRY_SIZE[industry] + rng.normal(0.0, 1.55, n)
    employees = np.clip(np.round(np.exp(log_size)), 1, 400_000)
    revenue_per_employee = _INDUSTRY_RPE[industry] * np.exp(rng.normal(0.0, 0.45, n))
    revenue = np.round(employees * revenue_per_employee, -3)
    country = rng.choice(len(COUNTRIES), size=n, p=zipf_weights(len(COUNTRIES), 1.1))
    size_z = (np.log(employees) - np.log(40)) / 1.55
    age = np.exp(np.log(9) + 0.35 * size_z + rng.normal(0.0, 0.7, n))
    founded_year = as_of_year - np.clip(np.round(age), 0, 150).astype(np.int64)
    funding = draw_categorical(rng, _FUNDING_LOGITS[:, 0] + np.outer(size_z, _FUNDING_LOGITS[:, 1]))
    ownership = _ownership(rng, industry, funding)
    # Government bodies and non-profits raise no venture rounds.
    public_sector = np.isin(
        industry, [INDUSTRIES.index("Government"), INDUSTRIES.index("Non-profit")]
    )
    clean = pl.DataFrame(
        {
            "account_id": _account_ids(n),
            "industry": _labels(INDUSTRIES, industry),
            "employees": employees,
            "annual_revenue": revenue,
            "country": _labels(COUNTRIES, country),
            "region": _labels(tuple(COUNTRY_REGIONS.values()), country),
            "founded_year": founded_year,
            "ownership": _labels(OWNERSHIPS, ownership),
            "funding_stage": _labels(FUNDING_STAGES, np.where(public_sector, -1, funding)),
            "tech_stack": _tech_stacks(rng, employees, industry),
        }
    )
    names = _names_and_domains(rng, n)
    clean = clean.with_columns(names).select(
        "account_id", "name", "domain", *[c for c in clean.columns if c != "account_id"]
    )
    return Firmographics(clean=clean, observed=_add_noise(clean, rng))


def _ownership(rng: np.random.Generator, industry: np.ndarray, funding: np.ndarray) -> np.ndarray:
    ownership = np.where(rng.random(len(industry)) < 0.1, OWNERSHIPS.index("Subsidiary"), 0)
    ownership[funding == FUNDING_STAGES.index("Public")] = OWNERSHIPS.index("Public")
    ownership[funding == FUNDING_STAGES.index("Private Equity")] = OWNERSHIPS.index("PE-backed")
    ownership[industry == INDUSTRIES.index("Government")] = OWNERSHIPS.index("Government")
    ownership[industry == INDUSTRIES.index("Non-profit")] = OWNERSHIPS.index("Non-profit")
    return ownership


def _labels(labels: tuple[str, ...], codes: np.ndarray) -> pl.Series:
    """Codes → strings (a negative code is a null)."""
    index = pl.Series(codes.astype(np.int64)).cast(pl.Int64)
    index = index.set(index < 0, None).cast(pl.UInt32)
    return pl.Series(labels, dtype=pl.Utf8).gather(index)


def _account_ids(n: int) -> pl.Series:
    width = max(6, len(str(n)))
    ids = pl.select(pl.lit("A") + pl.int_range(1, n + 1).cast(pl.Utf8).str.zfill(width))
    return ids.to_series()


def _tool_log_weights() -> np.ndarray:
    """(industry, tool) log popularity: Zipf-like overall, tilted by industry affinity."""
    weights = np.tile(zipf_weights(len(TOOLS), 0.7), (len(INDUSTRIES), 1))
    for industry, tilts in _TOOL_AFFINITY.items():
        for tool, factor in tilts.items():
            weights[INDUSTRIES.index(industry), TOOLS.index(tool)] *= factor
    return np.log(weights).astype(np.float32)


def _tech_stacks(
    rng: np.random.Generator, employees: np.ndarray, industry: np.ndarray
) -> pl.Series:
    """0-6 distinct tools per account, weighted by popularity (Gumbel top-k, vectorised)."""
    n = len(employees)
    n_tools = np.minimum(rng.poisson(0.8 + 0.5 * np.log10(employees)), MAX_TOOLS)
    uniform = np.clip(rng.random((n, len(TOOLS)), np.float32), 1e-7, 1 - 1e-7)
    keys = _tool_log_weights()[industry] - np.log(-np.log(uniform))  # Gumbel noise
    order = np.argsort(-keys, axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(len(TOOLS))[None, :], axis=1)
    _, tools = np.nonzero(rank < n_tools[:, None])
    offsets = np.concatenate([[0], np.cumsum(n_tools)]).astype(np.int32)
    values = pa.array(np.asarray(TOOLS, dtype=object)[tools], type=pa.string())
    stacks = pa.ListArray.from_arrays(pa.array(offsets), values)
    return pl.Series("tech_stack", stacks).cast(pl.List(pl.Utf8))


def _names_and_domains(rng: np.random.Generator, n: int) -> list[pl.Series]:
    head = _labels(_NAME_HEADS, rng.integers(0, len(_NAME_HEADS), n))
    tail = _labels(_NAME_TAILS, rng.integers(0, len(_NAME_TAILS), n))
    legal = _labels(_LEGAL, rng.integers(0, len(_LEGAL), n))
    number = pl.Series(np.arange(1, n + 1)).cast(pl.Utf8)
    frame = pl.DataFrame({"h": head, "t": tail, "l": legal, "k": number})
    out = frame.select(
        name=pl.concat_str("h", "t", pl.lit(" "), "l"),
        domain=pl.concat_str(pl.col("h").str.to_lowercase(), "t", pl.lit("-"), "k")
        + pl.lit(".example.com"),
    )
    return [out["name"], out["domain"]]


def typo_variants(label: str) -> tuple[str, str, str, str]:
    """Four misspellings of a label: lower case, trailing space, a dropped letter, a swap."""
    middle = max(1, len(label) // 2)
    dropped = label[:middle] + label[middle + 1 :]
    swapped = label[: middle - 1] + label[middle] + label[middle - 1] + label[middle + 1 :]
    return label.lower(), label + " ", dropped, swapped


def _with_typos(column: pl.Series, rng: np.random.Generator, rate: float) -> pl.Series:
    hit = rng.random(len(column)) < rate
    if not hit.any():
        return column
    variant = rng.integers(0, 4, int(hit.sum()))
    originals = column.filter(pl.Series(hit)).to_list()
    misspelt = [
        None if v is None else typo_variants(v)[k] for v, k in zip(originals, variant, strict=True)
    ]
    return column.scatter(np.flatnonzero(hit), pl.Series(misspelt, dtype=pl.Utf8))


def _add_noise(clean: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Blank a few percent of each optional attribute and misspell a few categorical cells."""
    columns = []
    for name, rate in _MISSING.items():
        column = clean[name]
        if name in _TYPO_RATE:
            column = _with_typos(column, rng, _TYPO_RATE[name])
        blank = rng.random(clean.height) < rate
        columns.append(column.set(pl.Series(blank), None))
    return clean.with_columns(columns)
