"""Synthetic CRM data with a planted, known ICP: the ground truth of the demo and the tests.

``make_crm`` draws accounts with realistic firmographics (long-tailed sizes, Zipf-like industries
and countries, tech stacks, a few percent of missing and misspelt cells), then deals,
subscriptions, contacts, notes and signals whose outcomes follow a :class:`PlantedIcp`: accounts
in one of its segments win more, buy bigger, expand and stay; disqualified accounts lose and
churn. ``Truth`` holds each account's true probabilities so any recovered ICP can be checked.

Example
-------
>>> crm = make_crm(2000, seed=7, icp="tags")
>>> crm.truth.icp.segments
("tech_stack contains 'Databricks'",)
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
import tomli_w

from icpkit.config import CONFIG_NAME, WorkspaceConfig
from icpkit.data.model import SCHEMA, TABLES, CrmData
from icpkit.datasets.synthetic.activity import (
    DISQUALIFIED,
    IN_ICP,
    Membership,
    Period,
    by_status,
    deals_frame,
    draw_deals,
    first_wins,
    subscriptions_frame,
)
from icpkit.datasets.synthetic.descriptions import describe
from icpkit.datasets.synthetic.engagement import contacts_frame, notes_frame, signals_frame
from icpkit.datasets.synthetic.firmographics import make_accounts
from icpkit.datasets.synthetic.signals import (
    DEFAULT_SIGNALS,
    PlantedSignal,
    SignalTruth,
    draw_signals,
    follow_signals,
)
from icpkit.datasets.synthetic.spec import SPECS, PlantedIcp
from icpkit.datasets.synthetic.universe import domain_variant, name_variant, unique_names
from icpkit.errors import ConfigError
from icpkit.rules import parse_segment

__all__ = ["SPECS", "PlantedIcp", "SyntheticCrm", "Truth", "make_crm", "make_universe"]

PLANTED_FILE = "planted_icp.json"


@dataclass(frozen=True)
class Truth:
    """What the generator planted, per account (arrays aligned with the accounts rows).

    ``p_win`` and ``p_churn`` are each account's true per-deal win probability and yearly churn
    probability under the original segments; ``in_icp_after_shift`` and ``p_win_after_shift``
    give the same after a planted shift (equal to the originals when there is none). ``in_icp``
    marks accounts meeting a segment and no disqualifier (disqualifiers override segments).
    Membership is decided on the true attribute values, before missing cells and typos were added,
    so a few observed rows disagree with it, as in real data.
    """

    icp: PlantedIcp
    p_win: np.ndarray
    p_churn: np.ndarray
    in_icp: np.ndarray
    disqualified: np.ndarray
    in_icp_after_shift: np.ndarray
    p_win_after_shift: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """The planted spec and per-account summary counts, JSON-ready."""
        return {
            "icp": self.icp.to_dict(),
            "n_accounts": len(self.p_win),
            "n_in_icp": int(self.in_icp.sum()),
            "n_disqualified": int(self.disqualified.sum()),
            "n_in_icp_after_shift": int(self.in_icp_after_shift.sum()),
            "mean_p_win": float(self.p_win.mean()) if len(self.p_win) else None,
        }

    def to_frame(self, account_ids: pl.Series) -> pl.DataFrame:
        """Per-account truth as a frame keyed by ``account_ids`` (the accounts' id column)."""
        return pl.DataFrame(
            {
                "account_id": account_ids,
                "in_icp": self.in_icp,
                "disqualified": self.disqualified,
                "p_win": self.p_win,
                "p_churn": self.p_churn,
                "in_icp_after_shift": self.in_icp_after_shift,
                "p_win_after_shift": self.p_win_after_shift,
            }
        )


@dataclass(frozen=True)
class SyntheticCrm:
    """A generated CRM: the six canonical tables and the planted truth behind them."""

    accounts: pl.DataFrame
    deals: pl.DataFrame
    subscriptions: pl.DataFrame
    contacts: pl.DataFrame
    notes: pl.DataFrame
    signals: pl.DataFrame
    truth: Truth
    period: tuple[date, date] = field(default=(date(2023, 1, 1), date(2025, 12, 31)))
    signal_truth: SignalTruth | None = None

    def frames(self) -> dict[str, pl.DataFrame]:
        """The six tables by canonical name."""
        return {name: getattr(self, name) for name in TABLES}

    def to_crm_data(self) -> CrmData:
        """The tables as a :class:`~icpkit.data.model.CrmData`, as if loaded from a workspace."""
        return CrmData(
            accounts=self.accounts,
            deals=self.deals,
            subscriptions=self.subscriptions,
            contacts=self.contacts,
            notes=self.notes,
            signals=self.signals,
            sources={name: "synthetic" for name in TABLES},
        )

    def truth_frame(self) -> pl.DataFrame:
        """Per-account truth joined to the account ids."""
        return self.truth.to_frame(self.accounts["account_id"])

    def write_workspace(self, directory: Path, fmt: Literal["csv", "parquet"] = "csv") -> Path:
        """Write every table as a file plus ``icpkit.toml`` (and ``planted_icp.json``).

        Parameters
        ----------
        directory
            Folder to write into (created if needed); existing files of the same names are replaced.
        fmt
            ``"csv"`` (tech_stack joined with ';') or ``"parquet"``.

        Returns
        -------
        Path
            The path of the written ``icpkit.toml``.
        """
        if fmt not in ("csv", "parquet"):
            raise ConfigError(f"write_workspace: fmt must be 'csv' or 'parquet'; got {fmt!r}")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        sources: dict[str, dict[str, Any]] = {}
        for name, frame in self.frames().items():
            path = directory / f"{name}.{fmt}"
            _atomic_write(path, lambda tmp, frame=frame: _write_table(frame, tmp, fmt))
            sources[name] = {"path": path.name, "columns": {c: c for c in frame.columns}}
        config = WorkspaceConfig.model_validate({"name": "synthetic", "sources": sources})
        text = tomli_w.dumps(config.model_dump(mode="json", exclude_none=True))
        config_path = directory / CONFIG_NAME
        _atomic_write(config_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        truth = self.truth.to_dict()
        if self.signal_truth is not None:  # the planted signal effects and decays
            truth["signals"] = self.signal_truth.to_dict()["signals"]
        planted = json.dumps(truth, indent=2)
        _atomic_write(
            directory / PLANTED_FILE, lambda tmp: tmp.write_text(planted, encoding="utf-8")
        )
        return config_path


def _write_table(frame: pl.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        frame.write_parquet(path)
        return
    lists = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.List)]
    frame.with_columns(pl.col(lists).list.join(";")).write_csv(path)


def _atomic_write(path: Path, write: Any) -> None:
    """Write through a temporary file in the same folder, then rename (no half files)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_crm(
    n_accounts: int = 2000,
    seed: int = 0,
    icp: PlantedIcp | str = "default",
    start: date = date(2023, 1, 1),
    years: int = 3,
    signals: tuple[PlantedSignal, ...] = DEFAULT_SIGNALS,
) -> SyntheticCrm:
    """Generate a synthetic CRM whose outcomes follow a planted ICP.

    Parameters
    ----------
    n_accounts
        Number of accounts (deals, contacts, notes and signals scale with it).
    seed
        Seed of every random draw: the same arguments give identical tables.
    icp
        The planted ICP, or the name of one in :data:`SPECS`.
    start
        First day of the CRM period.
    years
        Length of the period; deals are created throughout it and the last ones are still open.
    signals
        The planted signal types, their frequencies and effects on deal openings and wins
        (:mod:`icpkit.datasets.synthetic.signals`); ``SyntheticCrm.signal_truth`` records them.

    Returns
    -------
    SyntheticCrm
        The six canonical tables and the :class:`Truth` behind them.

    Raises
    ------
    ConfigError
        For an unknown spec name, a non-positive size or period, or a shift date outside the period.
    """
    spec = _resolve_spec(icp)
    period = _period(spec, start, years, n_accounts)
    rng = np.random.default_rng(seed)
    firms = make_accounts(n_accounts, rng, as_of_year=start.year + years - 1)
    member = _membership(spec, firms.clean)
    employees = firms.clean["employees"].to_numpy()
    draws = draw_deals(employees, member, spec, period, rng)
    signal_rng = np.random.default_rng([seed, 15])  # its own stream: signals change no other draw
    planted_signals = draw_signals(member, signals, period, signal_rng)
    draws, signal_truth = follow_signals(
        draws, planted_signals, employees, member, spec, period, signal_rng
    )
    ids = firms.observed["account_id"]
    deals = deals_frame(draws, ids, employees, period, rng)
    wins = first_wins(draws)
    customer = np.zeros(n_accounts, bool)
    customer[wins.account] = True
    account_status = member.status(np.arange(n_accounts), np.zeros(n_accounts, bool))
    truth = _truth(spec, member)
    # descriptions take their own stream too: they change no other draw of a seed
    about = describe(firms.clean, truth.p_win, np.random.default_rng([seed, 16]))
    return SyntheticCrm(
        accounts=_canonical(firms.observed.with_columns(about), "accounts"),
        deals=_canonical(deals, "deals"),
        subscriptions=_canonical(
            subscriptions_frame(wins, ids, spec, period, rng), "subscriptions"
        ),
        contacts=_canonical(contacts_frame(draws, ids, deals["deal_id"], spec, rng), "contacts"),
        notes=_canonical(
            notes_frame(draws, account_status, customer, ids, spec, period, rng), "notes"
        ),
        signals=_canonical(
            signals_frame(planted_signals, firms.observed, period, signal_rng), "signals"
        ),
        truth=truth,
        period=(start, start + timedelta(days=period.days)),
        signal_truth=signal_truth,
    )


def _resolve_spec(icp: PlantedIcp | str) -> PlantedIcp:
    if isinstance(icp, PlantedIcp):
        return icp
    if icp not in SPECS:
        raise ConfigError(
            f"unknown planted ICP {icp!r}; expected one of {', '.join(sorted(SPECS))}"
        )
    return SPECS[icp]


def _period(spec: PlantedIcp, start: date, years: int, n_accounts: int) -> Period:
    if n_accounts < 1 or years < 1:
        raise ConfigError(
            f"make_crm needs n_accounts >= 1 and years >= 1; got {n_accounts} and {years}"
        )
    end = date(start.year + years, start.month, 1) - timedelta(days=1)
    days = (end - start).days
    shift_day = None
    if spec.shift_date is not None:
        shift_day = (spec.shift_date - start).days
        if not 0 < shift_day < days:
            raise ConfigError(
                f"planted shift_date {spec.shift_date} is outside the CRM period {start} to {end}; "
                "expected a date inside it (pass start/years that cover it)"
            )
    return Period(start=start, days=days, shift_day=shift_day)


def _any_rule(rules: tuple[str, ...], frame: pl.DataFrame) -> np.ndarray:
    """Accounts meeting at least one rule (rules are parsed by icpkit.rules)."""
    covered = np.zeros(frame.height, dtype=bool)
    for text in rules:
        covered |= parse_segment(text).mask(frame)
    return covered


def _membership(spec: PlantedIcp, clean: pl.DataFrame) -> Membership:
    in_icp = _any_rule(spec.segments, clean)
    after = _any_rule(spec.shifted_segments, clean) if spec.shift_date is not None else in_icp
    return Membership(
        in_icp=in_icp, disqualified=_any_rule(spec.disqualifiers, clean), in_icp_after_shift=after
    )


def _truth(spec: PlantedIcp, member: Membership) -> Truth:
    n = len(member.in_icp)
    before = member.status(np.arange(n), np.zeros(n, bool))
    after = member.status(np.arange(n), np.ones(n, bool))
    p_win = by_status(spec.base_win, spec.icp_win, spec.disqualified_win)
    p_churn = by_status(spec.base_churn, spec.icp_churn, spec.disqualified_churn)
    return Truth(
        icp=spec,
        p_win=p_win[before],
        p_churn=p_churn[before],
        in_icp=before == IN_ICP,
        disqualified=before == DISQUALIFIED,
        in_icp_after_shift=after == IN_ICP,
        p_win_after_shift=p_win[after],
    )


def _canonical(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Columns in the canonical order and types of ``SCHEMA[table]``."""
    return frame.select([pl.col(name).cast(dtype) for name, dtype in SCHEMA[table].items()])


def make_universe(
    crm: SyntheticCrm,
    n_companies: int = 20_000,
    seed: int = 1,
    *,
    customer_variants: int = 200,
    duplicates: int = 200,
) -> pl.DataFrame:
    """A company universe beside ``crm``, with each company's true win probability.

    Companies follow the same planted ICP as ``crm`` (column ``p_win_true``); ``customer_variants``
    rows are the CRM's customers (accounts with a won deal) under another spelling of name and domain
    (``customer_variant_of`` names the account); ``duplicates`` rows list an earlier universe company
    again (``duplicate_of``). Names and domains are otherwise unique. Every company has a
    ``description`` whose wording follows its true win probability (see
    :mod:`icpkit.datasets.synthetic.descriptions`), drawn from its own random stream.
    """
    rng = np.random.default_rng(seed)
    spec = crm.truth.icp
    firms = make_accounts(n_companies, rng, as_of_year=crm.period[1].year)
    truth = _truth(spec, _membership(spec, firms.clean))
    names, domains = unique_names(n_companies, rng)
    about = describe(firms.clean, truth.p_win, np.random.default_rng([seed, 16]))
    universe = firms.observed.with_columns(
        about,
        pl.Series("account_id", [f"U{i:07d}" for i in range(n_companies)]),
        pl.Series("name", names),
        pl.Series("domain", domains),
        pl.Series("p_win_true", truth.p_win),
        pl.lit(None, dtype=pl.Utf8).alias("customer_variant_of"),
        pl.lit(None, dtype=pl.Utf8).alias("duplicate_of"),
    )
    won = crm.deals.filter(pl.col("stage") == "won")["account_id"].unique().sort()
    customers = crm.accounts.filter(pl.col("account_id").is_in(won.implode()))
    p_by_id = dict(zip(crm.accounts["account_id"].to_list(), crm.truth.p_win.tolist(), strict=True))
    parts = [universe]
    if customer_variants and customers.height:
        rows = customers.sample(min(customer_variants, customers.height), seed=seed)
        parts.append(
            rows.with_columns(
                pl.Series("account_id", [f"V{i:07d}" for i in range(rows.height)]),
                pl.Series("name", [name_variant(v, rng) for v in rows["name"].to_list()]),
                pl.Series(
                    "domain",
                    [domain_variant(v, rng) if v else None for v in rows["domain"].to_list()],
                ),
                pl.Series("p_win_true", [p_by_id[a] for a in rows["account_id"].to_list()]),
                rows["account_id"].alias("customer_variant_of"),
                pl.lit(None, dtype=pl.Utf8).alias("duplicate_of"),
            ).select(universe.columns)
        )
    if duplicates:
        rows = universe.sample(min(duplicates, n_companies), seed=seed + 1)
        parts.append(
            rows.with_columns(
                pl.Series("account_id", [f"D{i:07d}" for i in range(rows.height)]),
                pl.Series("domain", [f"www.{d}" for d in rows["domain"].to_list()]),
                rows["account_id"].alias("duplicate_of"),
            )
        )
    out = pl.concat(parts, how="vertical_relaxed")
    return out.sample(fraction=1.0, shuffle=True, seed=seed)
