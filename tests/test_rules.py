"""Rules as values: text round trip, canonical form, masks, and clear errors."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget import examples
from icpkit.errors import ConfigError, SchemaError
from icpkit.rules import Condition, Segment, format_number, parse_condition, parse_segment

# --- strategies ---------------------------------------------------------------------------------

attrs = st.one_of(
    st.sampled_from(["industry", "employees", "tech_stack", "region", "inf", "and", "x.y"]),
    st.text(min_size=1, max_size=12),
)
texts = st.text(max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
numbers = st.one_of(st.integers(-(10**18), 10**18), finite)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[float, float]:
    lo, hi = sorted(draw(st.lists(finite, min_size=2, max_size=2, unique=True)))
    kind = draw(st.sampled_from(["closed", "open_low", "open_high"]))
    if kind == "open_low":
        return (-math.inf, hi)
    if kind == "open_high":
        return (lo, math.inf)
    return (lo, hi)


@st.composite
def conditions(draw: st.DrawFn, attr: st.SearchStrategy[str] = attrs) -> Condition:
    name = draw(attr)
    op = draw(st.sampled_from(["eq", "in", "range", "contains", "missing"]))
    if op == "eq":
        return Condition(name, "eq", draw(st.one_of(texts, numbers, st.booleans())))
    if op == "in":
        values = draw(
            st.one_of(
                st.lists(texts, min_size=1, max_size=4), st.lists(numbers, min_size=1, max_size=4)
            )
        )
        return Condition(name, "in", tuple(values))
    if op == "range":
        return Condition(name, "range", draw(ranges()))
    if op == "contains":
        return Condition(name, "contains", draw(texts))
    return Condition(name, "missing")


segments = st.lists(conditions(), min_size=1, max_size=3).map(lambda cs: Segment(tuple(cs)))


# --- text round trip ----------------------------------------------------------------------------


@given(conditions())
def test_condition_text_round_trips(cond: Condition) -> None:
    text = str(cond)
    back = parse_condition(text)
    assert back == cond
    assert hash(back) == hash(cond)
    assert str(back) == text
    assert Condition.parse(text) == cond


@given(segments)
def test_segment_text_round_trips(segment: Segment) -> None:
    text = str(segment)
    assert parse_segment(text) == segment
    assert Segment.parse(text) == segment
    assert str(parse_segment(text)) == text


@given(st.lists(conditions(), min_size=1, max_size=3), st.randoms())
def test_segment_order_does_not_matter(conds: list[Condition], rnd: object) -> None:
    shuffled = list(conds)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert Segment(tuple(conds)) == Segment(tuple(shuffled))
    assert len({Segment(tuple(conds)), Segment(tuple(shuffled))}) == 1


@pytest.mark.parametrize(
    ("cond", "text"),
    [
        (Condition("industry", "eq", "Software"), "industry = 'Software'"),
        (Condition("industry", "in", ("B", "A")), "industry in ('A', 'B')"),
        (Condition("employees", "range", (100, 500)), "employees in [100, 500)"),
        (Condition("employees", "range", (100, math.inf)), "employees in [100, inf)"),
        (Condition("employees", "range", (-math.inf, 10)), "employees in [-inf, 10)"),
        (Condition("tech_stack", "contains", "Salesforce"), "tech_stack contains 'Salesforce'"),
        (Condition("region", "missing"), "region is missing"),
        (Condition("name", "eq", "O'Brien"), "name = 'O''Brien'"),
        (Condition("Annual Revenue", "range", (0.5, 2.5)), '"Annual Revenue" in [0.5, 2.5)'),
        (Condition("founded_year", "in", (2010, 2001.0)), "founded_year in (2001, 2010)"),
        (Condition("industry", "in", ("A",)), "industry = 'A'"),
        (Condition("public", "eq", True), "public = true"),
    ],
)
def test_condition_prints_exactly(cond: Condition, text: str) -> None:
    assert str(cond) == text
    assert parse_condition(text) == cond


def test_segment_prints_in_canonical_order() -> None:
    seg = parse_segment("industry = 'Software' AND employees in [100, 500)")
    assert str(seg) == "employees in [100, 500) AND industry = 'Software'"
    assert parse_segment("employees in [100, 500) and industry = 'Software'") == seg
    assert str(Segment(())) == "(all accounts)"
    assert parse_segment("(all accounts)") == Segment(())


@pytest.mark.parametrize(
    ("value", "text"),
    [(100.0, "100"), (0.1, "0.1"), (1e20, "1e+20"), (-math.inf, "-inf"), (7, "7")],
)
def test_numbers_print_short_and_exact(value: float, text: str) -> None:
    assert format_number(value) == text
    assert float(text) == value


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("industry ==", 10),
        ("industry = Software", 11),
        ("employees in [1, 2]", 18),
        ("a = 'x' OR b = 'y'", 8),
        ("= 'x'", 0),
        ("industry = 'unclosed", 11),
        ("region is there", 10),
    ],
)
def test_unreadable_rule_names_text_and_position(text: str, position: int) -> None:
    with pytest.raises(ConfigError) as info:
        parse_segment(text)
    assert repr(text) in str(info.value)
    assert f"position {position}" in str(info.value)


@pytest.mark.parametrize(
    ("attr", "op", "value"),
    [
        ("e", "range", (5, 5)),
        ("e", "range", (-math.inf, math.inf)),
        ("e", "range", (1, float("nan"))),
        ("e", "in", ()),
        ("e", "eq", None),
        ("e", "between", 1),
        ("", "eq", "x"),
        ("e", "missing", "x"),
        ("e", "contains", 3),
    ],
)
def test_invalid_condition_is_a_config_error(attr: str, op: str, value: object) -> None:
    with pytest.raises(ConfigError):
        Condition(attr, op, value)  # type: ignore[arg-type]


def test_more_than_three_conditions_is_refused() -> None:
    conds = tuple(Condition(f"a{i}", "missing") for i in range(4))
    with pytest.raises(ConfigError, match="at most 3"):
        Segment(conds)


# --- masks --------------------------------------------------------------------------------------

FRAME = pl.DataFrame(
    {
        "industry": ["Software", "Retail", None, "O'Brien", "Software"],
        "employees": [50.0, float("nan"), 200.0, None, 500.0],
        "tech_stack": [["Salesforce"], [], None, ["Snowflake", "Salesforce"], ["Snowflake"]],
        "year": [2001, 2010, None, 2010, 1999],
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("industry = 'Software'", [1, 0, 0, 0, 1]),
        ("industry in ('O''Brien', 'Retail')", [0, 1, 0, 1, 0]),
        ("employees in [100, 500)", [0, 0, 1, 0, 0]),
        ("employees in [100, inf)", [0, 0, 1, 0, 1]),
        ("employees in [-inf, 100)", [1, 0, 0, 0, 0]),
        ("employees is missing", [0, 1, 0, 1, 0]),
        ("industry is missing", [0, 0, 1, 0, 0]),
        ("tech_stack contains 'Salesforce'", [1, 0, 0, 1, 0]),
        ("tech_stack is missing", [0, 0, 1, 0, 0]),
        ("year = 2010", [0, 1, 0, 1, 0]),
        ("year in [2000, inf) AND tech_stack contains 'Salesforce'", [1, 0, 0, 1, 0]),
        ("(all accounts)", [1, 1, 1, 1, 1]),
    ],
)
def test_mask_covers_exactly_the_matching_rows(text: str, expected: list[int]) -> None:
    mask = parse_segment(text).mask(FRAME)
    assert mask.dtype == bool
    assert mask.tolist() == [bool(x) for x in expected]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("country = 'DE'", "'country' is not in the table"),
        ("industry in [1, 5)", "expected a numeric column"),
        ("employees contains 'x'", "expected a list"),
        ("employees = 'x'", "expected a text column"),
    ],
)
def test_mask_on_unsuitable_column_is_a_schema_error(text: str, fragment: str) -> None:
    with pytest.raises(SchemaError, match=fragment):
        parse_segment(text).mask(FRAME)


# Reference semantics in plain Python, to check mask() and expr() against.
def _holds(cond: Condition, value: object) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return cond.op == "missing"
    if cond.op == "missing":
        return False
    if cond.op == "eq":
        return value == cond.value
    if cond.op == "in":
        return value in cond.value
    if cond.op == "range":
        return cond.value[0] <= value < cond.value[1]  # type: ignore[operator]
    return cond.value in value  # type: ignore[operator]


LEVELS = ["a", "b", "c"]
small_numbers = st.one_of(st.none(), st.integers(-3, 3).map(float))


@st.composite
def frames_and_segments(draw: st.DrawFn) -> tuple[pl.DataFrame, Segment]:
    n = draw(st.integers(1, 12))
    frame = pl.DataFrame(
        {
            "cat": draw(
                st.lists(st.one_of(st.none(), st.sampled_from(LEVELS)), min_size=n, max_size=n)
            ),
            "num": draw(st.lists(small_numbers, min_size=n, max_size=n)),
            "tags": draw(
                st.lists(
                    st.one_of(st.none(), st.lists(st.sampled_from(LEVELS), max_size=3)),
                    min_size=n,
                    max_size=n,
                )
            ),
        },
        schema={"cat": pl.Utf8, "num": pl.Float64, "tags": pl.List(pl.Utf8)},
    )
    by_column = {
        "cat": st.one_of(
            st.builds(lambda v: Condition("cat", "eq", v), st.sampled_from(LEVELS)),
            st.builds(
                lambda v: Condition("cat", "in", tuple(v)),
                st.lists(st.sampled_from(LEVELS), min_size=1),
            ),
            st.just(Condition("cat", "missing")),
        ),
        "num": st.one_of(
            st.builds(
                lambda bounds: Condition("num", "range", bounds),
                st.sampled_from(
                    [
                        (-math.inf, -1.0),
                        (-math.inf, 0.5),
                        (-2.0, 0.0),
                        (0.0, math.inf),
                        (1.5, 2.5),
                        (-1.0, 1.0),
                    ]
                ),
            ),
            st.builds(lambda v: Condition("num", "eq", v), st.integers(-3, 3)),
            st.just(Condition("num", "missing")),
        ),
        "tags": st.one_of(
            st.builds(lambda v: Condition("tags", "contains", v), st.sampled_from(LEVELS)),
            st.just(Condition("tags", "missing")),
        ),
    }
    cols = draw(st.lists(st.sampled_from(list(by_column)), min_size=1, max_size=3))
    seg = Segment(tuple(draw(by_column[c]) for c in cols))
    return frame, seg


@settings(max_examples=examples(150), deadline=None)
@given(frames_and_segments())
def test_mask_equals_expr_and_reference(case: tuple[pl.DataFrame, Segment]) -> None:
    frame, seg = case
    mask = seg.mask(frame)
    via_expr = frame.select(seg.expr()).to_series().to_numpy()
    rows = frame.to_dicts()
    reference = np.array([all(_holds(c, r[c.attr]) for c in seg) for r in rows], dtype=bool)
    np.testing.assert_array_equal(mask, via_expr)
    np.testing.assert_array_equal(mask, reference)


def test_nan_counts_as_missing_in_mask() -> None:
    frame = pl.DataFrame({"x": [1.0, float("nan"), None]})
    assert parse_segment("x is missing").mask(frame).tolist() == [False, True, True]
    assert parse_segment("x in [-inf, inf)".replace("-inf", "0")).mask(frame).tolist() == [
        True,
        False,
        False,
    ]


def test_refinement_and_attrs() -> None:
    base = parse_segment("industry = 'Software'")
    refined = base.and_(parse_condition("employees in [100, 500)"))
    assert refined.is_refinement_of(base)
    assert not base.is_refinement_of(refined)
    assert refined.attrs == ("employees", "industry")
    assert len(refined) == 2
