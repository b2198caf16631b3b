"""A product-led CRM with planted usage effects: the truth behavioural discovery must recover.

Each account signs up (its first event), tries the product, and converts (a won deal) or lets
the trial lapse (a lost deal ``TRIAL_DAYS`` after sign-up); the most recent sign-ups are still
open (free / trial accounts, the PQA population). Planted, with the truth in
:class:`UsageTruth`:

- **breadth → retention**: customers who used ≥ ``BREADTH_CUT`` distinct key features before
  converting churn far less (``CHURN_NARROW`` vs ``CHURN_BROAD`` within a year);
- **time to value → conversion**: first value (``report_created``) within ``TTV_CUT`` days of
  sign-up converts at ``P_FAST`` vs ``P_SLOW``;
- **surges before expansion**: customers who expand (a second won deal) triple their weekly
  events in the ``SURGE_DAYS`` before the expansion deal opens;
- **a null feature**: ``theme_changed`` events, drawn independently of every outcome;
  ``integration_connected`` carries no planted effect either (both in the first days, before any
  outcome, so no trial's length can reach their counts);
- **bots**: ``N_BOTS`` users firing thousands of events in one minute;
- **a post-outcome feature**: ``invoice_downloaded``, which only paying customers can fire,
  after converting (more of it the longer they stay) — measured as of the outcome it is absent
  for everyone, measured at the end it separates customers perfectly: it must be excluded;
- a fit effect: Software accounts convert more (so fit alone ranks open accounts somewhat).

Not planted as an effect, but a property of the funnel a model can read: an account's trial
events are spread over its trial, which for a converter ends at its conversion, so an account
heading for conversion on day 20 is about three times as active per day as one that lets its
60-day trial lapse (activity ramps before a purchase). :func:`conversion_posterior`, the
Bayes-optimal score from the planted effects, does not use it; a model reading event rates can
rank beyond it (bench/RESULTS.md, pqa section).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import tomli_w

from icpkit.data.model import USAGE_SCHEMA, CrmData

START = date(2024, 1, 1)
AS_OF = date(2025, 12, 31)
TRIAL_DAYS = 60
# integrations are connected in the first days, before any trial can end (a converter converts
# two days after first value at the earliest), so their count cannot depend on the outcome
INTEGRATION_DAYS = 2.0
KEY_FEATURES = tuple(
    f"{name}_used"
    for name in (
        "dashboard",
        "alert",
        "export",
        "api",
        "workflow",
        "comment",
        "template",
        "filter",
        "schedule",
        "sso",
    )
)
INTEGRATIONS = ("slack", "salesforce", "hubspot", "jira", "github")
BREADTH_CUT = 5
CHURN_NARROW, CHURN_BROAD = 0.6, 0.12
TTV_CUT = 3
P_FAST, P_SLOW = 0.4, 0.04
P_BROAD = 0.25  # breadth also helps conversion a little (several moderate effects, none alone)
SURGE_DAYS = 14
N_BOTS = 3
INDUSTRIES = ("Software", "Retail", "Finance", "Healthcare", "Manufacturing")


@dataclass(frozen=True)
class UsageTruth:
    """What was planted: thresholds, directions and the features that must stay out."""

    breadth_cut: int = BREADTH_CUT
    ttv_cut: int = TTV_CUT
    null_feature: str = "usage_count_theme_changes"
    post_outcome_feature: str = "usage_count_invoices"
    surge_signal: str = "usage_surge"
    bot_users: tuple[str, ...] = ()
    expansions: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "breadth_cut": self.breadth_cut,
            "ttv_cut": self.ttv_cut,
            "null_feature": self.null_feature,
            "post_outcome_feature": self.post_outcome_feature,
            "surge_signal": self.surge_signal,
            "n_bots": len(self.bot_users),
            "expansions": self.expansions,
        }


# the [usage] settings that name the planted events (the rest are defaults)
USAGE_SETTINGS: dict[str, Any] = {
    "key_events": ["*_used"],
    "value_events": ["report_created"],
    "integration_events": ["integration_connected"],
    "counts": {"theme_changes": "theme_changed", "invoices": "invoice_downloaded"},
}


@dataclass(frozen=True)
class SyntheticUsage:
    """The CRM tables, the canonical events and the planted truth."""

    accounts: pl.DataFrame
    deals: pl.DataFrame
    subscriptions: pl.DataFrame
    contacts: pl.DataFrame
    events: pl.DataFrame
    truth: UsageTruth = field(default_factory=UsageTruth)
    as_of: date = AS_OF
    # per account, the generator's hidden draws (never read by icpkit's models: it is the
    # answer key, used to compute the best ranking any model could reach on these data)
    latent: pl.DataFrame | None = None

    def to_crm_data(self) -> CrmData:
        """The tables as CrmData, the events (mapped by e-mail domain later) as ``usage``."""
        return CrmData(
            accounts=self.accounts,
            deals=self.deals,
            subscriptions=self.subscriptions,
            contacts=self.contacts,
            usage=self.events.lazy(),
            sources={"accounts": "synthetic", "usage": "synthetic"},
        )


class _Events:
    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {
            k: [] for k in ("account", "user", "ts", "event", "integ")
        }

    def add(
        self, account: int, user: Any, ts: np.ndarray, event: Any, integ: str | None = None
    ) -> None:
        n = len(ts)
        self.rows["account"].append(np.full(n, account))
        self.rows["user"].append(np.broadcast_to(np.asarray(user, dtype=object), n))
        self.rows["ts"].append(ts)
        self.rows["event"].append(np.broadcast_to(np.asarray(event, dtype=object), n))
        self.rows["integ"].append(np.full(n, integ, dtype=object))


def _times(rng: np.random.Generator, origin: float, lo: float, hi: float, n: int) -> np.ndarray:
    """n event times (seconds since the epoch) uniformly in [origin + lo days, origin + hi days)."""
    return origin + rng.uniform(lo, max(hi, lo + 1e-3), n) * 86400


def make_usage_crm(n_accounts: int = 4000, seed: int = 0) -> SyntheticUsage:
    """Generate a product-led CRM with the planted usage effects of the module docstring.

    Parameters
    ----------
    n_accounts : number of accounts (sign-ups spread over 2024-01-01 … 2025-12-31).
    seed : seed of every draw; the same arguments give identical tables.
    """
    rng = np.random.default_rng([seed, 28])
    epoch0 = datetime(1970, 1, 1)
    start_s = (datetime(START.year, START.month, START.day) - epoch0).total_seconds()
    span = (AS_OF - START).days
    signup = np.sort(rng.uniform(0, span - 1, n_accounts))
    ids = [f"U{i:05d}" for i in range(n_accounts)]
    domains = [f"u{i:05d}.example" for i in range(n_accounts)]
    industry = rng.choice(INDUSTRIES, n_accounts, p=[0.3, 0.2, 0.2, 0.15, 0.15])
    employees = np.round(np.exp(rng.uniform(np.log(5), np.log(5000), n_accounts)))
    n_users = 1 + rng.poisson(2.0, n_accounts)
    breadth = rng.binomial(len(KEY_FEATURES), rng.beta(2.0, 2.5, n_accounts))
    ttv = rng.exponential(6.0, n_accounts)
    reaches_value = rng.random(n_accounts) < 0.85
    software = industry == "Software"
    p_convert = (
        np.where(reaches_value & (ttv < TTV_CUT), P_FAST, P_SLOW)
        + P_BROAD * (breadth >= BREADTH_CUT)
        + 0.1 * software
    )
    converts = rng.random(n_accounts) < p_convert
    # conversion day: after first value (when reached), within the trial
    lo = np.where(reaches_value, np.minimum(ttv + 2, TRIAL_DAYS - 5), 7)
    convert_day = rng.uniform(lo, TRIAL_DAYS)
    outcome_day = np.where(converts, convert_day, TRIAL_DAYS)
    closed = signup + outcome_day < span
    churn_p = np.where(breadth >= BREADTH_CUT, CHURN_BROAD, CHURN_NARROW)
    churns = converts & (rng.random(n_accounts) < churn_p)
    churn_after = rng.uniform(60, 365, n_accounts)
    expands = converts & ~churns & (rng.random(n_accounts) < 0.35)
    expand_after = rng.uniform(45, 300, n_accounts)
    events = _Events()
    deals: list[tuple[Any, ...]] = []
    subs: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    n_expansions = 0
    for i in range(n_accounts):
        origin = start_s + signup[i] * 86400
        users = [f"user{k}@{domains[i]}" for k in range(n_users[i])]
        for k, user in enumerate(users):
            contacts.append({"contact_id": f"C{i:05d}-{k}", "account_id": ids[i], "email": user})
        trial_end = min(outcome_day[i], span - signup[i])
        # sign-up: the first event of the account
        events.add(i, users[0], np.array([origin]), "signed_up")
        # breadth: distinct key features used during the trial (before the outcome)
        used = rng.choice(len(KEY_FEATURES), breadth[i], replace=False)
        people = np.array(users, dtype=object)
        for f in used:
            n = 1 + rng.poisson(2)
            who = people[rng.integers(len(users), size=n)]
            events.add(i, who, _times(rng, origin, 0.01, trial_end, n), KEY_FEATURES[f])
        if reaches_value[i] and ttv[i] < trial_end:
            events.add(i, users[0], np.array([origin + ttv[i] * 86400]), "report_created")
        # integrations: unrelated to the outcomes (a feature with no planted effect). Connected
        # in the first INTEGRATION_DAYS, not spread over the trial: a trial ends at its outcome
        # (a converter's early), so times spread over it put more of a converter's connections
        # in any early window (the features count the first `early_days`): that tied this
        # "unrelated" feature to conversion at q ~ 1e-7 (bench/RESULTS.md, usnull).
        n_integrations = min(int(rng.poisson(0.8)), len(INTEGRATIONS))
        for name in rng.choice(INTEGRATIONS, n_integrations, replace=False):
            day = rng.uniform(0.01, INTEGRATION_DAYS)
            if day < trial_end:  # only the youngest open accounts are cut short
                events.add(
                    i, users[0], np.array([origin + day * 86400]), "integration_connected", name
                )
        # the null feature: theme changes, independent of everything
        # (all on the first day, so how long the trial lasted cannot leak into the count)
        n = rng.poisson(3)
        events.add(i, users[0], _times(rng, origin, 0.01, 1.0, n), "theme_changed")
        # background activity during the trial (ignored events)
        n = rng.poisson(12)
        events.add(i, users[-1], _times(rng, origin, 0.01, trial_end, n), "$pageview")
        if not closed[i]:
            deals.append(_deal(ids[i], i, 0, signup[i], None, "open", 0.0))
            continue
        close_day = signup[i] + outcome_day[i]
        if not converts[i]:
            deals.append(_deal(ids[i], i, 0, signup[i], close_day, "lost", 0.0))
            continue
        amount = float(np.round(rng.uniform(2000, 20000)))
        deals.append(_deal(ids[i], i, 0, signup[i], close_day, "won", amount))
        end_day = close_day + churn_after[i] if churns[i] else None
        if end_day is not None and end_day >= span:
            end_day = None
        subs.append(
            {
                "account_id": ids[i],
                "start": START + timedelta(days=int(close_day)),
                "end": START + timedelta(days=int(end_day)) if end_day is not None else None,
                "mrr": amount / 12,
            }
        )
        paid_end = end_day if end_day is not None else span
        weeks = int((paid_end - close_day) // 7)
        w0 = close_day + 7 * np.arange(weeks)
        rate = np.full(weeks, 4.0)
        if expands[i]:  # the surge before the expansion
            surge_from = close_day + expand_after[i] - SURGE_DAYS
            rate[(w0 + 7 > surge_from) & (w0 < close_day + expand_after[i])] = 14.0
        n_week = rng.poisson(rate)
        total = int(n_week.sum())
        t = start_s + (np.repeat(w0, n_week) + rng.uniform(0, 7, total)) * 86400
        feats = np.array(KEY_FEATURES, dtype=object)[rng.integers(len(KEY_FEATURES), size=total)]
        events.add(i, people[rng.integers(len(users), size=total)], t, feats)
        # the post-outcome feature: only paying customers can fire it
        billed = w0[rng.random(weeks) < 0.5]
        t = start_s + (billed + rng.uniform(0, 7, len(billed))) * 86400
        events.add(i, users[0], t, "invoice_downloaded")
        expand_day = close_day + expand_after[i]
        if expands[i] and expand_day + 30 < paid_end:
            n_expansions += 1
            extra = float(np.round(amount * 0.5))
            deals.append(_deal(ids[i], i, 1, expand_day, expand_day + 30, "won", extra))
    bots = []
    for b in range(N_BOTS):
        i = int(rng.integers(n_accounts))
        user = f"bot{b}@{domains[i]}"
        bots.append(user)
        origin = start_s + (signup[i] + 3) * 86400
        events.add(i, user, origin + rng.uniform(0, 50, 3000), KEY_FEATURES[b])
    frame = _events_frame(events, ids, rng)
    accounts = pl.DataFrame(
        {
            "account_id": ids,
            "domain": domains,
            "industry": industry,
            "employees": employees,
            "created_at": [START + timedelta(days=int(d)) for d in signup],
        }
    )
    truth = UsageTruth(bot_users=tuple(bots), expansions=n_expansions)
    latent = pl.DataFrame(
        {
            "account_id": ids,
            "signup_day": signup,
            "p_convert": p_convert,
            "converts": converts,
            "convert_lo": lo,
            "outcome_day": outcome_day,
            "reaches_value": reaches_value,
            "ttv": ttv,
            "breadth": breadth,
            "software": software,
        }
    )
    return SyntheticUsage(
        accounts=accounts,
        deals=pl.DataFrame(deals, schema=_DEAL_SCHEMA, orient="row"),
        subscriptions=pl.DataFrame(
            subs,
            schema={"account_id": pl.Utf8, "start": pl.Date, "end": pl.Date, "mrr": pl.Float64},
        ),
        contacts=pl.DataFrame(contacts),
        events=frame,
        truth=truth,
        latent=latent,
    )


_DEAL_SCHEMA = {
    "deal_id": pl.Utf8,
    "account_id": pl.Utf8,
    "created_at": pl.Date,
    "closed_at": pl.Date,
    "stage": pl.Utf8,
    "amount": pl.Float64,
}


def _deal(
    account: str, i: int, k: int, created: float, closed: float | None, stage: str, amount: float
) -> tuple[Any, ...]:
    return (
        f"D{i:05d}-{k}",
        account,
        START + timedelta(days=int(created)),
        START + timedelta(days=int(closed)) if closed is not None else None,
        stage,
        amount if stage == "won" else None,
    )


def _events_frame(events: _Events, ids: list[str], rng: np.random.Generator) -> pl.DataFrame:
    account = np.concatenate(events.rows["account"])
    ts = np.concatenate(events.rows["ts"])
    # half the accounts' events carry the workspace id; the rest map through e-mail domains
    carries_group = rng.random(len(ids)) < 0.5
    group = np.where(carries_group[account], np.array(ids, dtype=object)[account], None)
    frame = pl.DataFrame(
        {
            "group_id": pl.Series(list(group), dtype=pl.Utf8),
            "user_id": pl.Series(np.concatenate(events.rows["user"]).tolist(), dtype=pl.Utf8),
            "timestamp": pl.Series((ts * 1e6).astype(np.int64)).cast(pl.Datetime("us")),
            "event": pl.Series(np.concatenate(events.rows["event"]).tolist(), dtype=pl.Utf8),
            "value": pl.Series([None] * len(ts), dtype=pl.Float64),
            "integration": pl.Series(np.concatenate(events.rows["integ"]).tolist(), dtype=pl.Utf8),
        }
    )
    order = np.argsort(frame["timestamp"].to_numpy(), kind="stable")
    return frame[order].select([c for c in USAGE_SCHEMA if c != "account_id"])


def posthog_lines(events: pl.DataFrame) -> pl.DataFrame:
    """Canonical events in the shape of PostHog's events export (one JSON object per row)."""
    return events.select(
        pl.col("event"),
        pl.col("user_id").alias("distinct_id"),
        pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").alias("timestamp"),
        pl.struct(
            pl.struct(pl.col("group_id").alias("company")).alias("$groups"),
            pl.col("integration"),
        ).alias("properties"),
    )


def segment_lines(events: pl.DataFrame) -> pl.DataFrame:
    """Canonical events as Segment/RudderStack track calls."""
    return events.select(
        pl.lit("track").alias("type"),
        pl.col("event"),
        pl.col("user_id").alias("userId"),
        pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").alias("timestamp"),
        pl.struct(pl.col("integration")).alias("properties"),
        pl.struct(pl.col("group_id").alias("groupId")).alias("context"),
    )


def write_usage_workspace(synthetic: SyntheticUsage, directory: Path) -> Path:
    """The CRM tables as CSV, the events as a PostHog export, and an icpkit.toml with [usage]."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    sources = {}
    for name in ("accounts", "deals", "subscriptions", "contacts"):
        frame: pl.DataFrame = getattr(synthetic, name)
        frame.write_csv(directory / f"{name}.csv")
        sources[name] = {"path": f"{name}.csv"}
    posthog_lines(synthetic.events).write_ndjson(directory / "events.jsonl")
    usage = {"path": "events.jsonl", "format": "posthog", **USAGE_SETTINGS}
    config = {"name": "usage-demo", "sources": sources, "usage": usage}
    path = directory / "icpkit.toml"
    path.write_text(tomli_w.dumps(config), encoding="utf-8")
    return path


def conversion_posterior(synthetic: SyntheticUsage, cut: date, ids: pl.Series) -> pl.DataFrame:
    """The true probability that each open account ``ids`` converts after ``cut``, from the
    generator's hidden draws: its conversion probability ``p`` and conversion window, updated on
    the fact that it had not converted by ``cut``.

    A converter converts uniformly in ``[lo, TRIAL_DAYS)`` days after sign-up, so at age ``a`` it
    is still open with probability ``S = (TRIAL_DAYS - max(a, lo)) / (TRIAL_DAYS - lo)``; a
    non-converter stays open until ``TRIAL_DAYS``. Hence ``q = p·S / (p·S + (1 - p))``: the
    Bayes-optimal score. Ranking by ``q`` is the best any model can do on these data (it knows
    more than the events show), so its band ratio bounds what a PQA model can reach.
    """
    assert synthetic.latent is not None
    day = float((cut - START).days)
    latent = pl.DataFrame({"account_id": ids.cast(pl.Utf8)}).join(
        synthetic.latent, on="account_id", how="left"
    )
    age = day - latent["signup_day"].to_numpy()
    lo = latent["convert_lo"].to_numpy()
    p = latent["p_convert"].to_numpy()
    still = np.clip((TRIAL_DAYS - np.maximum(age, lo)) / (TRIAL_DAYS - lo), 0.0, 1.0)
    open_if_not = (age < TRIAL_DAYS).astype(float)
    denominator = p * still + (1 - p) * open_if_not
    q = np.divide(p * still, denominator, out=np.zeros_like(p), where=denominator > 0)
    return pl.DataFrame({"account_id": latent["account_id"], "q": q, "p": p, "age": age})
