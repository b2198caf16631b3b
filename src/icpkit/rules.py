"""Rules as values: a ``Condition`` on one attribute and a ``Segment`` (up to three conditions).

Both print as plain text people can read and diff, and parse back to an equal value::

    industry = 'Software'
    industry in ('Retail', 'Software')
    employees in [100, 500)            # half-open; open ends print as -inf / inf
    tech_stack contains 'Salesforce'
    region is missing
    industry = 'Software' AND employees in [100, 500)

Strings are single-quoted with a quote inside doubled (``'O''Brien'``, as in SQL); attribute
names that are not plain identifiers are double-quoted the same way (``"Annual Revenue" in [1,
5)``). Numbers print in the shortest form that reads back to the same float. A missing value
(null, or NaN in a float column) never satisfies ``=``, ``in``, a range or ``contains``; only
``is missing`` selects it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import reduce
from typing import Any, ClassVar, Literal

import numpy as np
import polars as pl

from icpkit.errors import ConfigError, SchemaError

Op = Literal["eq", "in", "range", "contains", "missing"]
OPS: tuple[str, ...] = ("eq", "in", "range", "contains", "missing")
MAX_CONDITIONS = 3
ALL_TEXT = "(all accounts)"

Scalar = str | int | float | bool

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


# ---------------------------------------------------------------------------------------------
# Printing


def format_number(x: float | int) -> str:
    """The shortest text that reads back to the same number (``100``, ``0.25``, ``inf``)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(float(x))


def _quote(text: str, mark: str) -> str:
    return mark + text.replace(mark, mark + mark) + mark


def _format_literal(value: Scalar) -> str:
    if isinstance(value, str):
        return _quote(value, "'")
    return format_number(value)


def _format_attr(attr: str) -> str:
    # "inf" would read back as a number, so it is quoted like any non-identifier
    plain = _IDENTIFIER.match(attr) and attr.lower() != "inf"
    return attr if plain else _quote(attr, '"')


def _literal_key(value: Scalar) -> tuple[int, float, str]:
    """Sort key that orders numbers numerically and strings lexically (numbers first)."""
    if isinstance(value, str):
        return (1, 0.0, value)
    return (0, float(value), "")


# ---------------------------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class Condition:
    """One test on one attribute.

    Parameters
    ----------
    attr : str
        Column name.
    op : {"eq", "in", "range", "contains", "missing"}
        ``eq``: value is one literal; ``in``: a tuple of literals (stored sorted, de-duplicated;
        a single value becomes ``eq``); ``range``: ``(lo, hi)`` floats, half-open ``[lo, hi)``,
        either end may be infinite; ``contains``: a tag of a multi-valued (list) column;
        ``missing``: value None.
    value : object
        See ``op``.
    """

    attr: str
    op: Op
    value: Any = None

    parse: ClassVar[Any]  # set below: Condition.parse(text) -> Condition

    def __post_init__(self) -> None:
        if not isinstance(self.attr, str) or self.attr == "":
            raise ConfigError(f"a condition needs a column name; got {self.attr!r}")
        if self.op not in OPS:
            raise ConfigError(
                f"condition on {self.attr!r}: op must be one of {OPS}; got {self.op!r}"
            )
        op, value = _canonical(self.attr, self.op, self.value)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "value", value)

    def __str__(self) -> str:
        # computed once per condition: discovery sorts and prints the same conditions ~10^5
        # times (the instance dict is not a field: equality and hashing ignore it)
        text = self.__dict__.get("_text")
        if text is None:
            text = self._format()
            self.__dict__["_text"] = text
        return text

    def _format(self) -> str:
        attr = _format_attr(self.attr)
        if self.op == "eq":
            return f"{attr} = {_format_literal(self.value)}"
        if self.op == "in":
            return f"{attr} in ({', '.join(_format_literal(v) for v in self.value)})"
        if self.op == "range":
            lo, hi = self.value
            return f"{attr} in [{format_number(lo)}, {format_number(hi)})"
        if self.op == "contains":
            return f"{attr} contains {_format_literal(self.value)}"
        return f"{attr} is missing"

    def sort_key(self) -> tuple[str, int, str]:
        key = self.__dict__.get("_key")
        if key is None:
            key = (self.attr, OPS.index(self.op), str(self))
            self.__dict__["_key"] = key
        return key

    def expr(self) -> pl.Expr:
        """A polars boolean expression (never null) that is True on the covered rows."""
        col = pl.col(self.attr)
        if self.op == "missing":
            return col.is_null()
        if self.op == "contains":
            return col.list.contains(pl.lit(self.value, dtype=pl.Utf8)).fill_null(False)
        if self.op == "range":
            lo, hi = self.value
            num = col.cast(pl.Float64).fill_nan(None)
            return ((num >= lo) & (num < hi)).fill_null(False)
        values = (self.value,) if self.op == "eq" else self.value
        if all(isinstance(v, str) for v in values):
            target = col.cast(pl.Utf8)
            if self.op == "eq":
                return (target == self.value).fill_null(False)
            return target.is_in(list(values)).fill_null(False)
        if any(isinstance(v, bool) for v in values):
            return col.is_in(list(values)).fill_null(False)
        num = col.cast(pl.Float64).fill_nan(None)
        return num.is_in([float(v) for v in values]).fill_null(False)

    def mask(self, frame: pl.DataFrame) -> np.ndarray:
        """Boolean numpy array: which rows of ``frame`` satisfy the condition."""
        return Segment((self,)).mask(frame)


def _canonical(attr: str, op: str, value: Any) -> tuple[str, Any]:
    """Normalise the value of a condition so equal conditions compare and hash equal."""
    where = f"condition on {attr!r}"
    if op == "missing":
        if value is not None:
            raise ConfigError(f"{where}: 'is missing' takes no value; got {value!r}")
        return op, None
    if op == "range":
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise ConfigError(f"{where}: a range needs (lo, hi); got {value!r}")
        lo, hi = (_number(v, where) for v in value)
        if not lo < hi or (math.isinf(lo) and math.isinf(hi)):
            raise ConfigError(
                f"{where}: a range needs lo < hi and one finite end; got [{lo}, {hi})"
            )
        return op, (lo, hi)
    if op == "in":
        if isinstance(value, str) or not isinstance(value, tuple | list | set | frozenset):
            raise ConfigError(f"{where}: 'in' needs a tuple of values; got {value!r}")
        items = sorted({_scalar(v, where) for v in value}, key=_literal_key)
        if not items:
            raise ConfigError(f"{where}: 'in' needs at least one value")
        return ("eq", items[0]) if len(items) == 1 else ("in", tuple(items))
    if op == "contains":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: 'contains' needs a text tag; got {value!r}")
        return op, value
    return op, _scalar(value, where)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(f"{where}: range ends must be numbers; got {value!r}")
    out = float(value)
    if math.isnan(out):
        raise ConfigError(f"{where}: range ends must not be NaN")
    return out


def _scalar(value: Any, where: str) -> Scalar:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ConfigError(f"{where}: a value must be finite; got {value!r}")
        return value
    raise ConfigError(f"{where}: a value must be text, a number or true/false; got {value!r}")


@dataclass(frozen=True)
class Segment:
    """A conjunction of up to three conditions, kept in canonical order (by attribute, then text).

    ``Segment(())`` is the whole population and prints as ``(all accounts)``.
    """

    conditions: tuple[Condition, ...] = field(default=())

    parse: ClassVar[Any]  # set below: Segment.parse(text) -> Segment

    def __post_init__(self) -> None:
        conditions = tuple(self.conditions)
        for c in conditions:
            if not isinstance(c, Condition):
                raise ConfigError(f"a segment is made of Condition values; got {c!r}")
        unique = sorted(set(conditions), key=Condition.sort_key)
        if len(unique) > MAX_CONDITIONS:
            text = " AND ".join(str(c) for c in unique)
            raise ConfigError(f"a segment has at most {MAX_CONDITIONS} conditions; got {text!r}")
        object.__setattr__(self, "conditions", tuple(unique))

    def __str__(self) -> str:
        if not self.conditions:
            return ALL_TEXT
        return " AND ".join(str(c) for c in self.conditions)

    def __len__(self) -> int:
        return len(self.conditions)

    def __iter__(self) -> Iterator[Condition]:
        return iter(self.conditions)

    @property
    def attrs(self) -> tuple[str, ...]:
        """The attributes the segment tests, in order, without repeats."""
        return tuple(dict.fromkeys(c.attr for c in self.conditions))

    def and_(self, condition: Condition) -> Segment:
        """This segment refined by one more condition."""
        return Segment((*self.conditions, condition))

    def is_refinement_of(self, other: Segment) -> bool:
        """True when every condition of ``other`` is also a condition of this segment."""
        return set(other.conditions) <= set(self.conditions)

    def expr(self) -> pl.Expr:
        """A polars boolean expression (never null) that is True on the covered rows."""
        if not self.conditions:
            return pl.lit(True)
        return reduce(lambda a, b: a & b, (c.expr() for c in self.conditions))

    def mask(self, frame: pl.DataFrame) -> np.ndarray:
        """Boolean numpy array: which rows of ``frame`` the segment covers.

        Float NaN counts as missing, like null. Raises SchemaError when a column is absent or has a
        type the condition cannot test.
        """
        if not self.conditions:
            return np.ones(frame.height, dtype=bool)
        frame = _prepare(frame, self)
        out = frame.select(self.expr().alias("covered")).to_series()
        return out.to_numpy().astype(bool, copy=False)


def _prepare(frame: pl.DataFrame, segment: Segment) -> pl.DataFrame:
    """Select the tested columns, check their types, and turn float NaN into null."""
    problems: list[str] = []
    for c in segment.conditions:
        if c.attr not in frame.columns:
            problems.append(f"column {c.attr!r} is not in the table")
            continue
        expected = _type_problem(c, frame.schema[c.attr])
        if expected:
            problems.append(f"column {c.attr!r} is {frame.schema[c.attr]}, expected {expected}")
    if problems:
        shown = ", ".join(frame.columns[:20])
        raise SchemaError(
            f"rule {str(segment)!r} cannot be applied: {'; '.join(problems)} "
            f"(columns found: {shown})"
        )
    cols = list(segment.attrs)
    return frame.select(
        pl.col(a).fill_nan(None) if frame.schema[a].is_float() else pl.col(a) for a in cols
    )


def _type_problem(c: Condition, dtype: pl.DataType) -> str | None:
    """What the column type should be, or None when the condition can test this column."""
    if c.op == "missing":
        return None
    if c.op == "contains":
        return None if isinstance(dtype, pl.List) else "a list (multi-valued) column"
    if c.op == "range":
        return None if dtype.is_numeric() else "a numeric column"
    values = (c.value,) if c.op == "eq" else c.value
    if all(isinstance(v, str) for v in values):
        text = dtype in (pl.Utf8, pl.Categorical) or isinstance(dtype, pl.Enum)
        return None if text else "a text column"
    if any(isinstance(v, bool) for v in values):
        return None if dtype == pl.Boolean else "a true/false column"
    return None if dtype.is_numeric() else "a numeric column"


# ---------------------------------------------------------------------------------------------
# Parsing

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<quoted>"(?:[^"]|"")*")
      | (?P<number>[-+]?(?:inf|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![A-Za-z0-9_.]))
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<punct>[=(),\[\]])
    )""",
    re.VERBOSE,
)


@dataclass
class _Reader:
    """A tiny recursive-descent reader over the rule text; errors name the position."""

    text: str
    pos: int = 0

    def fail(self, expected: str) -> ConfigError:
        rest = self.text[self.pos :].lstrip()
        found = repr(rest[:20]) if rest else "the end of the text"
        where = len(self.text) - len(rest)
        return ConfigError(
            f"cannot read rule {self.text!r}: expected {expected} at position {where}, "
            f"found {found}"
        )

    def take(self, expected: str) -> tuple[str, str]:
        m = _TOKEN.match(self.text, self.pos)
        if m is None or m.lastgroup is None:
            raise self.fail(expected)
        self.pos = m.end()
        return m.lastgroup, m.group(m.lastgroup)

    def expect(self, word: str) -> None:
        start = self.pos
        _, tok = self.take(repr(word))
        if tok.lower() != word.lower():
            self.pos = start
            raise self.fail(repr(word))

    def at_end(self) -> bool:
        return self.text[self.pos :].strip() == ""


def _unquote(token: str) -> str:
    mark = token[0]
    return token[1:-1].replace(mark + mark, mark)


def _read_literal(r: _Reader) -> Scalar:
    start = r.pos
    kind, tok = r.take("a value ('text', a number, true or false)")
    if kind == "string":
        return _unquote(tok)
    if kind == "number":
        return _read_number(tok)
    if kind == "word" and tok.lower() in ("true", "false"):
        return tok.lower() == "true"
    r.pos = start
    raise r.fail("a value ('text', a number, true or false)")


def _read_number(tok: str) -> float | int:
    if re.fullmatch(r"[-+]?\d+", tok):
        return int(tok)
    return float(tok)


def _read_range_end(r: _Reader) -> float:
    start = r.pos
    kind, tok = r.take("a number or inf")
    if kind != "number":
        r.pos = start
        raise r.fail("a number or inf")
    return float(tok)


def _read_attr(r: _Reader) -> str:
    start = r.pos
    kind, tok = r.take("a column name")
    if kind == "quoted":
        return _unquote(tok)
    if kind == "word":
        return tok
    r.pos = start
    raise r.fail("a column name")


def _read_in(r: _Reader, attr: str) -> Condition:
    start = r.pos
    _, bracket = r.take("'(' or '['")
    if bracket == "[":
        lo = _read_range_end(r)
        r.expect(",")
        hi = _read_range_end(r)
        r.expect(")")
        return Condition(attr, "range", (lo, hi))
    if bracket != "(":
        r.pos = start
        raise r.fail("'(' (a list of values) or '[' (a range)")
    values = [_read_literal(r)]
    while True:
        before = r.pos
        _, tok = r.take("',' or ')'")
        if tok == ")":
            return Condition(attr, "in", tuple(values))
        if tok != ",":
            r.pos = before
            raise r.fail("',' or ')'")
        values.append(_read_literal(r))


def _read_condition(r: _Reader) -> Condition:
    attr = _read_attr(r)
    start = r.pos
    _, tok = r.take("'=', 'in', 'contains' or 'is missing'")
    word = tok.lower()
    if word == "=":
        return Condition(attr, "eq", _read_literal(r))
    if word == "in":
        return _read_in(r, attr)
    if word == "contains":
        tag = _read_literal(r)
        if not isinstance(tag, str):
            raise ConfigError(f"cannot read rule {r.text!r}: 'contains' needs a quoted tag")
        return Condition(attr, "contains", tag)
    if word == "is":
        r.expect("missing")
        return Condition(attr, "missing")
    r.pos = start
    raise r.fail("'=', 'in', 'contains' or 'is missing'")


def parse_condition(text: str) -> Condition:
    """Read one condition from its text form (the inverse of ``str(condition)``).

    Raises
    ------
    ConfigError
        When the text is not a condition; the message names the text and the position.
    """
    r = _Reader(text)
    cond = _read_condition(r)
    if not r.at_end():
        raise r.fail("the end of the condition")
    return cond


def parse_segment(text: str) -> Segment:
    """Read a segment (conditions joined by ``AND``) from its text form.

    Raises
    ------
    ConfigError
        When the text is not a segment; the message names the text and the position.
    """
    if text.strip() == ALL_TEXT:
        return Segment(())
    r = _Reader(text)
    conditions = [_read_condition(r)]
    while not r.at_end():
        r.expect("AND")
        conditions.append(_read_condition(r))
    return Segment(tuple(conditions))


Condition.parse = staticmethod(parse_condition)
Segment.parse = staticmethod(parse_segment)


# ---------------------------------------------------------------------------------------------
# Plain words (the one-pager's statement and the scored file's reasons share these)

# Attributes that describe company size, and the unit each is counted in.
SIZE_UNITS = {
    "employees": "employees",
    "annual_revenue": "in annual revenue",
    "revenue": "in annual revenue",
}
PLACE_ATTRS = {"region", "country", "office_location", "city", "state"}


def amount_words(x: float) -> str:
    """A size as people write it: 2,000 / 5M / 1.2B."""
    if abs(x) >= 1e9:
        return f"{format_number(round(x / 1e9, 2))}B"
    if abs(x) >= 1e6:
        return f"{format_number(round(x / 1e6, 2))}M"
    return f"{x:,.0f}" if float(x).is_integer() else format_number(x)


def _range_words(lo: float, hi: float, unit: str) -> str:
    # sizes read as amounts (2,000; 5M); other numbers (years, scores) exactly as written
    show = amount_words if unit else format_number
    if math.isinf(hi):
        return f"{show(lo)}+ {unit}"
    if math.isinf(lo):
        return f"under {show(hi)} {unit}"
    return f"{show(lo)}–{show(hi)} {unit}"


def _values_words(cond: Condition) -> str:
    values = (cond.value,) if cond.op == "eq" else cond.value
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def describe_condition(cond: Condition) -> str:
    """One condition in plain words (``employees in [200, 2000)`` → ``200–2,000 employees``)."""
    name = cond.attr.replace("_", " ")
    if cond.op == "missing":
        return f"no known {name}"
    if cond.op == "contains":
        return f"uses {cond.value}"
    if cond.op == "range":
        lo, hi = cond.value
        unit = SIZE_UNITS.get(cond.attr, "")
        words = _range_words(lo, hi, unit).strip()
        return words if unit else f"{name} {words}"
    if cond.attr == "industry":
        return f"in the {_values_words(cond)} sector"
    if cond.attr in PLACE_ATTRS:
        return f"based in {_values_words(cond)}"
    return f"{name} {_values_words(cond)}"
