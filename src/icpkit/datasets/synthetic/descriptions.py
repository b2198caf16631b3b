"""Company descriptions ("About" texts) whose wording follows the true win probability.

A description has two or three sentences: what the company does (from its *true* industry, so it
still says "software" when the CRM cell is blank or misspelt), what it focuses on, and sometimes a
closing line. The focus sentence is drawn from a data-and-analytics vocabulary with probability
``0.1 + p_win`` (0.70 for an in-ICP company of the default spec, 0.35 for an ordinary one, 0.14
for a disqualified one), otherwise from a generic vocabulary. So the wording carries the true fit
loosely, as a real description does: it is evidence, not a label. Each generator call takes its
own random stream, so adding descriptions changes no other draw of a seeded dataset.
"""

from __future__ import annotations

import numpy as np
import polars as pl

_INDUSTRY = {
    "Software": (
        "develops business software sold as a subscription",
        "builds cloud applications for companies",
        "is a software company shipping web and mobile products",
    ),
    "Financial Services": (
        "provides banking and payment services",
        "offers lending, payments and wealth management",
        "is a financial services firm",
    ),
    "Healthcare": (
        "runs clinics and care services",
        "provides healthcare services and medical devices",
        "operates hospitals and outpatient care",
    ),
    "Manufacturing": (
        "manufactures industrial components",
        "makes machinery and equipment for factories",
        "produces parts for the automotive industry",
    ),
    "Retail": (
        "sells consumer goods in stores and online",
        "runs a chain of shops",
        "is an online retailer of home products",
    ),
    "Professional Services": (
        "advises companies on strategy and operations",
        "is a consulting and accounting firm",
        "provides legal and advisory services",
    ),
    "Education": (
        "runs schools and training courses",
        "offers online courses and degrees",
        "provides education services",
    ),
    "Media": (
        "publishes news and entertainment",
        "produces video and audio content",
        "is a media and publishing group",
    ),
    "Logistics": (
        "moves freight by road, sea and air",
        "runs warehouses and delivery networks",
        "is a logistics and shipping company",
    ),
}
_OTHER_INDUSTRY = (
    "serves customers in its home market",
    "operates across several business lines",
    "is an established company in its sector",
)
_FOCUS_FIT = (
    "Its teams run analytics on a cloud data warehouse to make decisions from data.",
    "It invests heavily in data engineering, dashboards and machine learning.",
    "A data platform team builds pipelines and metrics for every department.",
    "It is scaling fast and modernising its data stack and reporting.",
    "Analysts and engineers use data to automate operations and forecast demand.",
    "Growth comes from data-driven products built on a modern analytics stack.",
    "Leadership measures everything and relies on real-time data and BI tools.",
    "It runs its business on cloud infrastructure with a dedicated data team.",
)
_FOCUS_GENERIC = (
    "It focuses on personal service and long-standing client relationships.",
    "The company is family owned and serves local customers.",
    "It competes on price and on a wide catalogue of products.",
    "Most of its work is done on site by field staff.",
    "It has grown through acquisitions of regional competitors.",
    "The firm keeps a traditional, paper-based way of working.",
    "It serves public sector bodies and community organisations.",
    "Quality, craftsmanship and reliability are at the heart of what it does.",
    "It relies on a network of partners and distributors.",
    "The business is seasonal and depends on tourism.",
    "Its staff work in shifts across several sites.",
    "It is known for friendly customer support.",
)
_CLOSING = (
    "Headquartered in {country}.",
    "The company was founded in {year}.",
    "It employs about {employees} people.",
    "",
    "",
)


def describe(clean: pl.DataFrame, p_win: np.ndarray, rng: np.random.Generator) -> pl.Series:
    """One description per row of ``clean`` (true attributes), its focus tied to ``p_win``."""
    n = clean.height
    industries = clean["industry"].to_list()
    countries = clean["country"].fill_null("its home country").to_list()
    years = clean["founded_year"].to_list()
    employees = clean["employees"].to_list()
    fit = rng.random(n) < np.clip(0.1 + np.asarray(p_win, dtype=float), 0.0, 1.0)
    pick = rng.integers(0, 1 << 30, size=(n, 3))
    out: list[str] = []
    for i in range(n):
        what = _INDUSTRY.get(str(industries[i]), _OTHER_INDUSTRY)
        focus = _FOCUS_FIT if fit[i] else _FOCUS_GENERIC
        closing = _CLOSING[pick[i, 2] % len(_CLOSING)].format(
            country=countries[i],
            year=years[i] if years[i] is not None else "the last century",
            employees=f"{int(employees[i] or 0):,}",
        )
        text = f"The company {what[pick[i, 0] % len(what)]}. {focus[pick[i, 1] % len(focus)]}"
        out.append(f"{text} {closing}".strip())
    return pl.Series("description", out, dtype=pl.Utf8)
