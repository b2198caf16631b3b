"""The scorecard as one SQL query: score a table where it lives, in any warehouse.

A profile's scorecard is additive integer points over readable bins, its tiers are comparisons of
that score with three cuts plus the criteria and disqualifier rules, and its probability is a table
indexed by the score. All of that is exactly expressible in SQL. ``scorecard_sql`` writes one
``SELECT`` with CTEs in DuckDB's dialect and has sqlglot translate it into the target dialect:

- ``src``: the rows of the input table;
- ``points``: the bin of the row for each scorecard feature (``b_<i>``), the number of conditions
  met of each criterion and a 0/1 column for each disqualifier;
- ``scored``: each feature's points (``p_<i>``), the fit score (the base plus the points) and the
  fit facts;
- ``tiered``: the tier, in a CTE of its own (a column alias cannot be reused in the SELECT that
  defines it in most dialects);
- ``ranked``: each feature's place among the row's reasons for and against;
- the final SELECT: id, fit_score, tier, fit_probability, criteria_met, disqualifiers_hit,
  reasons, and each feature's points as ``points_<feature>``.

Semantics follow :mod:`icpkit.scoring` exactly: NULL is missing (the missing bin); a category not
in the scorecard is ``other``; numbers are compared as doubles against the cut points (a bin is
``[lo, hi)``); a tag feature reads a NULL list as lacking the tag. Multi-valued (tag) columns are
arrays in dialects that have them and delimited text elsewhere (``tags="delimited"``: tags joined
by ``tag_separator`` with no spaces around it, e.g. ``'HubSpot;Slack'``).

``reasons`` is ``icpkit score``'s text word for word: the top three reasons for (largest points
first), then the top three against (most negative first), equal points in scorecard order. SQL has
no portable per-row sort, so the ``ranked`` CTE counts each feature's place (1 + the features with
more points + the earlier ones with as many) and each of the six slots picks the feature in that
place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from icpkit.errors import ConfigError, SchemaError
from icpkit.profile import IcpProfile
from icpkit.rules import Condition, parse_segment
from icpkit.scoring.bands import BandScale
from icpkit.scoring.binning import Feature
from icpkit.scoring.card import Scorecard
from icpkit.scoring.explain import SEPARATOR, TOP, missing_bin, reason_points, reason_table
from icpkit.scoring.tiers import TierCuts, cuts_of
from icpkit.vocab import SCORE_MAX, TIERS

DIALECTS: tuple[str, ...] = (
    "duckdb",
    "postgres",
    "sqlite",
    "snowflake",
    "bigquery",
    "spark",
    "databricks",
    "redshift",
    "tsql",
    "trino",
)
# Where a multi-valued column is an array type, and where it must be delimited text.
ARRAY_DIALECTS = frozenset(
    {"duckdb", "postgres", "snowflake", "bigquery", "spark", "databricks", "trino"}
)
TagStyle = Literal["auto", "array", "delimited"]
LONG = 100_000  # SUBSTRING length argument: some dialects require one

__all__ = ["DIALECTS", "SqlExport", "scorecard_sql"]


@dataclass(frozen=True)
class SqlExport:
    """The generated query and what it needs from the table."""

    sql: str
    dialect: str
    table: str
    columns: tuple[str, ...]  # input columns the query reads (besides the id)
    tag_columns: tuple[str, ...]  # of those, the multi-valued ones
    tags: Literal["array", "delimited"]

    source: str = ""  # the table as the query names it (quoted), for dbt_model
    id_column: str = "account_id"
    points: tuple[str, ...] = ()  # the points_<feature> output columns
    bands: tuple[str, ...] = ()  # the fit_band values, best first

    def dbt_relation(self) -> tuple[str, str | None, str | None]:
        """How the dbt model names the table: ``(jinja, source_name, schema)``.

        A model name (``stg_accounts``) is ``{{ ref('stg_accounts') }}``; a schema-qualified
        table (``crm.accounts``, or ``db.crm.accounts``) is ``{{ source('crm', 'accounts') }}``,
        declared in sources.yml with that schema (and database): ``ref()`` takes a model name
        only, and ``dbt parse`` rejects ``ref('crm.accounts')``. A part that is no plain dbt name
        (a quote, a space, a brace) is refused rather than turned into another name.
        """
        parts = self.table.split(".")
        if len(parts) > 3 or not all(DBT_MODEL_NAME.fullmatch(p) for p in parts):
            raise ConfigError(
                f"--dbt: the table must be a dbt model name (letters, digits, _ and -, as in "
                f"stg_accounts) for {{{{ ref(...) }}}}, or schema.table (crm.accounts) for "
                f"{{{{ source(...) }}}}; got {self.table!r}"
            )
        if len(parts) == 1:
            return "{{ ref('" + parts[0] + "') }}", None, None
        schema, table = parts[-2], parts[-1]
        return "{{ source('" + schema + "', '" + table + "') }}", schema, table

    def dbt_model(self, meta: dict[str, str | int] | None = None) -> str:
        """A dbt model file: the same query, materialised as a table, reading the table through
        ``source()`` or ``ref()`` (:meth:`dbt_relation`), with ``meta`` (the ICP version) in its
        config.

        dbt renders the whole file as a Jinja template, and the query quotes values learned from
        the data (category levels, tags, rule and reason texts): every ``{`` in it is written as
        ``{{ '{' }}``, so a level such as ``{{ run_query(...) }}`` renders back as that text
        instead of running.
        """
        relation, _, _ = self.dbt_relation()
        at = self.sql.find(self.source) if self.source else -1
        if at < 0 or not _SOURCE_PREFIX.fullmatch(self.sql[:at]):  # pragma: no cover - a bug
            raise ConfigError("could not place the dbt relation in the generated SQL")
        config = "materialized='table'"
        if meta:
            items = ", ".join(f"{_meta_value(k)}: {_meta_value(v)}" for k, v in meta.items())
            config += ", meta={" + items + "}"
        header = (
            "-- Generated by `icpkit export sql --dbt`: the ICP scorecard as a dbt model.\n"
            "{{ config(" + config + ") }}\n"
        )
        rest = self.sql[at + len(self.source) :]
        return header + _jinja_text(self.sql[:at]) + relation + _jinja_text(rest)


def _meta_value(value: str | int) -> str:
    """A Jinja literal for a meta value: a number, or text of plain characters (a version)."""
    if isinstance(value, int):
        return str(value)
    if not _META_TEXT.fullmatch(value):
        raise ConfigError(f"dbt meta values are versions (letters, digits, . _ + -); got {value!r}")
    return f"'{value}'"


_META_TEXT = re.compile(r"[A-Za-z0-9._+-]*")


DBT_MODEL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_SOURCE_PREFIX = re.compile(r"WITH\s+src\s+AS\s*\(\s*SELECT\s+\*\s+FROM\s+", re.IGNORECASE)


def _jinja_text(sql: str) -> str:
    """``sql`` as literal text in a Jinja template: each ``{`` as the expression ``{{ '{' }}``,
    so no ``{{``, ``{%`` or ``{#`` from the data opens a tag (even ``{% endraw %}``)."""
    return sql.replace("{", "{{ '{' }}")


def scorecard_sql(
    profile: IcpProfile,
    table: str,
    dialect: str = "duckdb",
    *,
    id_column: str = "account_id",
    tags: TagStyle = "auto",
    tag_separator: str = ";",
    present: Sequence[str] | None = None,
    pretty: bool = True,
    bands: BandScale | None = None,
) -> SqlExport:
    """One SELECT that scores every row of ``table`` exactly as ``icpkit score`` does.

    Parameters
    ----------
    profile : IcpProfile
        A built or hand-written profile with a scorecard.
    table : str
        The table (or ``schema.table``) to score; each part is quoted.
    dialect : str
        One of ``DIALECTS``.
    id_column : str
        The column returned as the row's key.
    tags : {"auto", "array", "delimited"}
        How multi-valued columns are stored; ``auto`` is arrays where the dialect has them.
    present : sequence of str, optional
        The table's columns, when known: every attribute the profile needs and the table lacks is
        named in one SchemaError.
    bands : BandScale, optional
        The scale of ``calibrated_score`` / ``fit_band`` (default: MadKudu's), computed exactly
        as :func:`icpkit.scoring.bands.calibrate` does.

    Raises
    ------
    ConfigError
        Unknown dialect (the supported ones are listed), no scorecard, or array tags in a dialect
        without arrays.
    SchemaError
        ``present`` lacks columns the query reads.
    """
    import sqlglot

    if dialect not in DIALECTS:
        raise ConfigError(f"unknown SQL dialect {dialect!r}; supported: {', '.join(DIALECTS)}")
    if profile.scorecard is None:
        raise ConfigError("this profile has no scorecard yet (run `icpkit build` first)")
    if not table.strip():
        raise ConfigError("export sql: --table names the table to score; got an empty name")
    style: Literal["array", "delimited"]
    if tags == "auto":
        style = "array" if dialect in ARRAY_DIALECTS else "delimited"
    elif tags == "array" and dialect not in ARRAY_DIALECTS:
        raise ConfigError(
            f"{dialect} has no array type: store tag columns as delimited text (--tags delimited)"
        )
    else:
        style = tags
    if not tag_separator or "'" in tag_separator:
        raise ConfigError(
            f"tag separator must be non-empty text without quotes; got {tag_separator!r}"
        )

    card = Scorecard.from_dict(profile.scorecard)
    criteria = tuple(parse_segment(c.rule) for c in profile.criteria)
    disqualifiers = tuple(parse_segment(d.rule) for d in profile.disqualifiers)
    cuts = cuts_of(profile.tiers)
    scale = bands or BandScale()
    writer = _Writer(style, tag_separator)

    columns = list(card.columns)
    for segment in (*criteria, *disqualifiers):
        columns += segment.attrs
    needed = tuple(dict.fromkeys(columns))
    tag_cols = tuple(
        dict.fromkeys(
            [f.column for f in card.features if f.kind == "tag"]
            + [c.attr for s in (*criteria, *disqualifiers) for c in s if c.op == "contains"]
        )
    )
    if present is not None:
        missing = [c for c in (id_column, *needed) if c not in set(present)]
        if missing:
            raise SchemaError(
                f"table {table}: the scorecard needs columns {missing} that it lacks "
                f"(columns found: {list(present)[:30]})"
            )

    point_cols = [f"{writer.code(f)} AS b_{i}" for i, f in enumerate(card.features)]
    rule_cols: list[str] = []
    for j, segment in enumerate(criteria):
        flags = [writer.flag(c) for c in segment]
        rule_cols.append(f"{' + '.join(flags)} AS c_{j}_n")
    for j, segment in enumerate(disqualifiers):
        flags = [writer.flag(c) for c in segment]
        rule_cols.append(f"CASE WHEN {' + '.join(flags)} = {len(flags)} THEN 1 ELSE 0 END AS d_{j}")
    first = [f"{_q(id_column)} AS {_q(id_column)}", *point_cols, *rule_cols]

    score = " + ".join([str(card.base), *(_points(i, p) for i, p in enumerate(card.points))])
    met = [f"CASE WHEN c_{j}_n = {len(s)} THEN 1 ELSE 0 END" for j, s in enumerate(criteria)]
    near = [f"CASE WHEN c_{j}_n >= {len(s) - 1} THEN 1 ELSE 0 END" for j, s in enumerate(criteria)]
    meets = _any(met) if criteria else "1"
    near_any = _any(near) if criteria else "1"
    hit = _any([f"d_{j}" for j in range(len(disqualifiers))]) if disqualifiers else "0"
    second = [
        f"{_q(id_column)}",
        f"{score} AS fit_score",
        f"{meets} AS meets_criterion",
        f"{near_any} AS near_criterion",
        f"{hit} AS disqualified",
        *(f"{m} AS c_{j}" for j, m in enumerate(met)),
        *(f"d_{j}" for j in range(len(disqualifiers))),
        *(f"b_{i}" for i in range(len(card.features))),
        *(f"{_points(i, p)} AS p_{i}" for i, p in enumerate(card.points)),
    ]
    tier = (
        "CASE"
        f" WHEN disqualified = 0 AND meets_criterion = 1 AND fit_score >= {cuts.tier1} THEN '{TIERS[0]}'"
        f" WHEN disqualified = 0 AND near_criterion = 1 AND fit_score >= {cuts.tier2} THEN '{TIERS[1]}'"
        f" WHEN disqualified = 0 AND fit_score >= {cuts.tier3} THEN '{TIERS[2]}'"
        f" ELSE '{TIERS[3]}' END"
    )
    names = _feature_names(card)
    final = [
        f"{_q(id_column)}",
        "fit_score",
        "tier",
        f"{_probability(card)} AS fit_probability",
        f"{_joined([(f'c_{j}', c.rule) for j, c in enumerate(profile.criteria)])} AS criteria_met",
        f"{_joined([(f'd_{j}', d.rule) for j, d in enumerate(profile.disqualifiers)])} AS disqualifiers_hit",
        f"{_reasons(card)} AS reasons",
        "calibrated_score",
        f"{_band(scale)} AS fit_band",
        *(f"p_{i} AS {_q('points_' + name)}" for i, name in enumerate(names)),
    ]
    text = (
        f"WITH src AS (SELECT * FROM {_table(table)}),\n"
        f"points AS (SELECT {', '.join(first)} FROM src),\n"
        f"scored AS (SELECT {', '.join(second)} FROM points),\n"
        f"tiered AS (SELECT scored.*, {tier} AS tier, {_calibrated(cuts, scale)} AS "
        "calibrated_score FROM scored),\n"
        f"ranked AS (SELECT {', '.join(['tiered.*', *_ranks(card)])} FROM tiered)\n"
        f"SELECT {', '.join(final)} FROM ranked"
    )
    try:
        sql = sqlglot.transpile(text, read="duckdb", write=dialect, pretty=pretty)[0]
    except sqlglot.errors.SqlglotError as exc:  # pragma: no cover - a bug in this module
        raise ConfigError(f"could not translate the scorecard to {dialect}: {exc}") from None
    source = sqlglot.transpile(
        f"SELECT * FROM {_table(table)}", read="duckdb", write=dialect, pretty=False
    )[0].removeprefix("SELECT * FROM ")
    return SqlExport(
        sql, dialect, table, needed, tag_cols, style, source,
        id_column=id_column, points=tuple(f"points_{n}" for n in names), bands=scale.names,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Expressions (DuckDB dialect; sqlglot translates)


def _q(name: str) -> str:
    """A quoted identifier: reserved words, spaces and quotes in column names are safe."""
    return '"' + name.replace('"', '""') + '"'


def _table(name: str) -> str:
    return ".".join(_q(part) for part in name.split("."))


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _num(x: float) -> str:
    if x.is_integer() and abs(x) < 1e15:
        return f"{int(x)}.0"
    return repr(float(x))


def _any(flags: list[str]) -> str:
    return f"CASE WHEN {' + '.join(flags)} > 0 THEN 1 ELSE 0 END"


@dataclass(frozen=True)
class _Writer:
    tags: Literal["array", "delimited"]
    separator: str

    def number(self, column: str) -> str:
        return f"CAST({_q(column)} AS DOUBLE)"

    def contains(self, column: str, tag: str) -> str:
        """A boolean test that is never NULL-true: use inside CASE WHEN."""
        if self.tags == "array":
            return f"ARRAY_CONTAINS({_q(column)}, {_lit(tag)})"
        sep = self.separator
        return f"STRPOS({_lit(sep)} || {_q(column)} || {_lit(sep)}, {_lit(sep + tag + sep)}) > 0"

    def condition(self, c: Condition) -> str:
        col = _q(c.attr)
        if c.op == "missing":
            return f"{col} IS NULL"
        if c.op == "contains":
            return self.contains(c.attr, str(c.value))
        if c.op == "range":
            lo, hi = c.value
            parts = []
            if not math.isinf(lo):
                parts.append(f"{self.number(c.attr)} >= {_num(lo)}")
            if not math.isinf(hi):
                parts.append(f"{self.number(c.attr)} < {_num(hi)}")
            return " AND ".join(parts)
        values = (c.value,) if c.op == "eq" else tuple(c.value)
        if all(isinstance(v, str) for v in values):
            return f"{col} IN ({', '.join(_lit(str(v)) for v in values)})"
        if any(isinstance(v, bool) for v in values):
            return f"{col} IN ({', '.join('TRUE' if v else 'FALSE' for v in values)})"
        return f"{self.number(c.attr)} IN ({', '.join(_num(float(v)) for v in values)})"

    def flag(self, c: Condition) -> str:
        """1 when the row meets the condition, else 0 (NULL never meets, except 'is missing')."""
        return f"CASE WHEN {self.condition(c)} THEN 1 ELSE 0 END"

    def code(self, f: Feature) -> str:
        """The index of the row's bin of one feature (the order of ``Feature.labels``)."""
        if f.kind == "rule":
            segment = parse_segment(f.rule)
            test = " AND ".join(f"({self.condition(c)})" for c in segment) or "1 = 1"
            return f"CASE WHEN {test} THEN 1 ELSE 0 END"
        col = _q(f.column)
        if f.kind == "numeric":
            whens = [f"WHEN {col} IS NULL THEN {len(f.cuts) + 1}"]
            for k in range(len(f.cuts), 0, -1):
                whens.append(f"WHEN {self.number(f.column)} >= {_num(f.cuts[k - 1])} THEN {k}")
            return f"CASE {' '.join(whens)} ELSE 0 END"
        if f.kind == "categorical":
            whens = [f"WHEN {col} IS NULL THEN {len(f.levels) + 1}"]
            whens += [f"WHEN {col} = {_lit(v)} THEN {k}" for k, v in enumerate(f.levels)]
            return f"CASE {' '.join(whens)} ELSE {len(f.levels)} END"
        if f.tag == "":  # the column's known / missing feature
            return f"CASE WHEN {col} IS NULL THEN 1 ELSE 0 END"
        return f"CASE WHEN {self.contains(f.column, f.tag)} THEN 1 ELSE 0 END"


def _points(i: int, points: tuple[int, ...]) -> str:
    """Points of feature ``i`` from its bin code ``b_<i>``."""
    whens = " ".join(f"WHEN {k} THEN {p}" for k, p in enumerate(points))
    return f"CASE b_{i} {whens} END"


def _probability(card: Scorecard) -> str:
    if not card.probability:
        return "CAST(NULL AS DOUBLE)"
    clipped = f"CASE WHEN fit_score < 0 THEN 0 WHEN fit_score > {SCORE_MAX} THEN {SCORE_MAX} ELSE fit_score END"
    whens = " ".join(f"WHEN {s} THEN {p!r}" for s, p in enumerate(card.probability))
    return f"CASE {clipped} {whens} END"


def _calibrated(cuts: TierCuts, scale: BandScale) -> str:
    """``calibrate``'s piecewise-linear map of the clipped fit score, rounded down, in SQL: the
    same knots, slopes and arithmetic order (``slope * (x - x0) + y0``, then ``+ 1e-9``)."""
    raws, cals = scale.knots(cuts)
    x = f"CAST(CASE WHEN fit_score < 0 THEN 0 WHEN fit_score > {SCORE_MAX} THEN {SCORE_MAX} ELSE fit_score END AS DOUBLE)"
    whens = []
    if raws[-1] <= SCORE_MAX:
        whens.append(f"WHEN {x} >= {_num(float(raws[-1]))} THEN {int(cals[-1])}")
    for j in range(len(raws) - 2, -1, -1):
        slope = float((cals[j + 1] - cals[j]) / (raws[j + 1] - raws[j]))
        value = (
            f"CAST({slope!r} AS DOUBLE) * ({x} - {_num(float(raws[j]))}) + {_num(float(cals[j]))}"
        )
        whens.append(
            f"WHEN {x} >= {_num(float(raws[j]))} THEN "
            f"CAST(FLOOR({value} + CAST(1e-09 AS DOUBLE)) AS INT)"
        )
    return f"CASE {' '.join(whens)} END"


def _band(scale: BandScale) -> str:
    whens = " ".join(
        f"WHEN calibrated_score >= {edge} THEN {_lit(name)}"
        for edge, name in zip(scale.edges, scale.names, strict=False)
    )
    return f"CASE {whens} ELSE {_lit(scale.names[-1])} END"


def _joined(items: list[tuple[str, str]]) -> str:
    """The texts whose 0/1 column is 1, joined with '; ' (empty text when none)."""
    if not items:
        return "''"
    parts = " || ".join(
        f"CASE WHEN {flag} = 1 THEN {_lit(SEPARATOR + text)} ELSE '' END" for flag, text in items
    )
    return f"SUBSTRING({parts}, {len(SEPARATOR) + 1}, {LONG})"


def _feature_names(card: Scorecard) -> list[str]:
    """A column-safe, unique name per feature, for the points_<name> columns."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for f in card.features:
        base = re.sub(r"[^0-9A-Za-z_]+", "_", f.name).strip("_").lower() or "feature"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
    return out


def _listed(card: Scorecard, i: int) -> str:
    """Feature ``i``'s points as a reason for (:func:`reason_points`: a missing value's positive
    points are 0), ``p_<i>`` itself when no bin differs."""
    if reason_points(card)[i] == tuple(int(p) for p in card.points[i]):
        return f"p_{i}"
    return f"(CASE WHEN b_{i} = {missing_bin(card.features[i])} THEN 0 ELSE p_{i} END)"


def _ranks(card: Scorecard) -> list[str]:
    """Each feature's place among the row's reasons for (``r_i``) and against (``a_i``).

    ``icpkit score`` lists the ``TOP`` largest positive points, then the ``TOP`` most negative,
    equal points in scorecard order. A per-row sort is not portable SQL, so the place is counted:
    1 + the features with more points, + the earlier features with as many.
    """
    n = len(card.features)
    out = []
    for side, name in ((">", "r"), ("<", "a")):
        p = [_listed(card, i) if side == ">" else f"p_{i}" for i in range(n)]
        for i in range(n):
            terms = [
                f"CASE WHEN {p[j]} {side}{'=' if j < i else ''} {p[i]} THEN 1 ELSE 0 END"
                for j in range(n)
                if j != i
            ]
            out.append(f"{' + '.join(['1', *terms])} AS {name}_{i}")
    return out


def _reasons(card: Scorecard) -> str:
    """The reasons ``icpkit score`` gives, word for word: the top reasons for, then against."""
    texts, offsets = reason_table(card)
    listed_points = reason_points(card)
    slots: list[str] = []
    for side, name in ((">", "r"), ("<", "a")):
        for place in range(1, TOP + 1):
            whens = []
            for i, pts in enumerate(card.points):
                listed = [
                    f"WHEN {k} THEN {_lit(SEPARATOR + texts[int(offsets[i]) + k])}"
                    for k, p in enumerate(pts)
                    if (listed_points[i][k] > 0 if side == ">" else p < 0)
                ]
                if listed:
                    text = f"CASE b_{i} {' '.join(listed)} ELSE '' END"
                    value = _listed(card, i) if side == ">" else f"p_{i}"
                    whens.append(f"WHEN {value} {side} 0 AND {name}_{i} = {place} THEN {text}")
            if whens:
                slots.append(f"CASE {' '.join(whens)} ELSE '' END")
    if not slots:
        return "''"
    return f"SUBSTRING({' || '.join(slots)}, {len(SEPARATOR) + 1}, {LONG})"
