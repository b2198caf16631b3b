"""Which account columns may describe a customer: ONE choice for discovery and the scorecard.

A column is an attribute unless it is

- an identifier, name, domain or URL (by its name),
- personal data: e-mail addresses, phone numbers or person names, recognised by the column name
  (``owner_email``, ``primary_contact``, ``account_owner``) **and** by the content (values that are
  e-mails, phone numbers, or "Given Family" names),
- a date (a record's creation date is a data-window artefact, not a trait of the customer),
- constant, empty, free text or a high-cardinality text,
- excluded in the config (``discovery.exclude``), or not listed when ``discovery.attributes`` is set,
- flagged by the leakage/identifier guard (``icpkit.data.guard``; passed in as ``flagged``).

``discovery.allow`` re-admits a column that was left out for personal data, for being a date, or by
the guard: the user's explicit choice wins over a heuristic. Every exclusion carries a reason so
``check``, ``build`` and the report can list them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from icpkit.config import DiscoveryConfig

# Columns that identify or locate an account rather than describe it.
ID_NAME = re.compile(
    r"(^|_)(id|uuid|key|guid)$|^(id|name|domain|website|url|email|phone|account_name|"
    r"company_name)$",
    re.I,
)
# Personal data by column name. "ownership" (a firmographic) is not "owner".
PII_NAME = re.compile(
    r"e-?mail|phone|mobile|\bfax\b|(^|_)fax(_|$)|address|street|zip|postcode|postal|contact|"
    r"owner(?!ship)|(^|_)(first|last|full|given|family|sur|middle)_?name($|_)|(^|_)person(_|$)|"
    r"(^|_)(sales_?)?rep(_|$)|salesperson|(^|_)agent(_|$)|assigned_to|created_by|modified_by|"
    r"updated_by|linkedin|(^|_)ssn(_|$)|birth",
    re.I,
)
_EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
_PHONE = r"^\+?[\d\s().\-/]{7,20}$"
# Common given names in many languages (lower case): a value whose first word is one of these and
# that has two or three capitalised words reads as a person's name.
_GIVEN_NAMES = frozenset(
    [
        "aaron",
        "adam",
        "adrian",
        "ahmed",
        "aisha",
        "alan",
        "albert",
        "alejandro",
        "alex",
        "alexander",
        "alexandra",
        "ali",
        "alice",
        "amanda",
        "amy",
        "ana",
        "andrea",
        "andreas",
        "andrew",
        "angela",
        "anna",
        "anne",
        "anthony",
        "antonio",
        "ashley",
        "barbara",
        "ben",
        "benjamin",
        "beth",
        "brian",
        "bruce",
        "carl",
        "carla",
        "carlos",
        "carmen",
        "caroline",
        "catherine",
        "charles",
        "charlotte",
        "chen",
        "chris",
        "christian",
        "christina",
        "christine",
        "christopher",
        "claire",
        "claudia",
        "daniel",
        "david",
        "deborah",
        "dennis",
        "diana",
        "diego",
        "dmitri",
        "donald",
        "dorothy",
        "edward",
        "elena",
        "elizabeth",
        "emily",
        "emma",
        "eric",
        "erik",
        "eva",
        "fatima",
        "felix",
        "fernando",
        "francesca",
        "francesco",
        "francisco",
        "frank",
        "gabriel",
        "gary",
        "george",
        "gerald",
        "giovanni",
        "giulia",
        "grace",
        "greg",
        "gregory",
        "hannah",
        "hans",
        "harry",
        "heather",
        "helen",
        "henry",
        "hiroshi",
        "hugo",
        "ian",
        "isabel",
        "isabella",
        "ivan",
        "jack",
        "jacob",
        "james",
        "jan",
        "jane",
        "janet",
        "jason",
        "javier",
        "jean",
        "jeff",
        "jeffrey",
        "jennifer",
        "jeremy",
        "jessica",
        "jim",
        "joan",
        "joe",
        "john",
        "jonathan",
        "jorge",
        "jose",
        "joseph",
        "joshua",
        "juan",
        "julia",
        "julie",
        "justin",
        "karen",
        "karin",
        "katherine",
        "kathleen",
        "kelly",
        "kenneth",
        "kevin",
        "kim",
        "laura",
        "lauren",
        "laurent",
        "leo",
        "linda",
        "lisa",
        "liu",
        "lucas",
        "lucia",
        "luis",
        "luke",
        "marco",
        "margaret",
        "maria",
        "marie",
        "mario",
        "mark",
        "martin",
        "mary",
        "matthew",
        "max",
        "mehmet",
        "melissa",
        "michael",
        "michelle",
        "miguel",
        "mohamed",
        "mohammed",
        "nancy",
        "natalie",
        "nathan",
        "nicholas",
        "nicole",
        "nina",
        "olga",
        "olivia",
        "omar",
        "oscar",
        "pablo",
        "patricia",
        "patrick",
        "paul",
        "paula",
        "pedro",
        "peter",
        "philip",
        "pierre",
        "priya",
        "rachel",
        "rahul",
        "raj",
        "rebecca",
        "richard",
        "robert",
        "roberto",
        "ryan",
        "sandra",
        "sara",
        "sarah",
        "scott",
        "sean",
        "sergei",
        "sharon",
        "sophie",
        "stefan",
        "stephanie",
        "stephen",
        "steven",
        "susan",
        "thomas",
        "tim",
        "timothy",
        "tom",
        "tony",
        "victoria",
        "vincent",
        "wang",
        "wei",
        "william",
        "yuki",
        "zhang",
    ]
)
GIVEN_NAMES = _GIVEN_NAMES  # for the scrubbers of free text (themes.pii)
_PERSON = (
    r"^[A-Z][a-z]+(?:[-'][A-Z][a-z]+)?(?: [A-Z]\.?)?(?: [A-Z][a-z]+(?:[-'][A-Z][a-z]+)?){1,2}$"
)
_PII_SHARE = 0.6
_PII_SAMPLE = 300
MAX_DISTINCT_SHARE = 0.5
MAX_MEAN_TEXT_LENGTH = 40


@dataclass(frozen=True)
class Exclusion:
    """A column that is not an attribute, and why (``code`` groups the reasons)."""

    column: str
    reason: str
    code: str

    def to_dict(self) -> dict[str, str]:
        return {"column": self.column, "reason": self.reason, "code": self.code}


@dataclass(frozen=True)
class AttributeChoice:
    """The attribute columns (table order) and every column left out with its reason."""

    columns: tuple[str, ...]
    excluded: tuple[Exclusion, ...]

    def reported(self) -> list[Exclusion]:
        """The exclusions worth telling a user (not ids/names or empty columns)."""
        quiet = {"identifier_name", "unusable", "not_listed"}
        return [e for e in self.excluded if e.code not in quiet]


_COLUMN, _CELL = "\x00column", "\x00cell"
_FLAGS = ["yes", "no", "true", "false", "y", "n", "0", "1", "t", "f"]
_DATED = r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$"


def _pii_stats(frame: pl.DataFrame, text: list[str]) -> dict[str, dict[str, object]]:
    """Per text column: filled cells looked at and the shares of e-mails, phone numbers and
    person names among them, and whether all are yes/no flags.

    The first ``_PII_SAMPLE`` rows of every column are stacked into one long column, so a table
    with 50,000 columns costs one regex pass over one column (linear in its columns).
    """
    # the stacked names cannot be a column of the file ('value', 'column' are common ones)
    long = (
        frame.select(pl.col(text).cast(pl.Utf8))
        .head(_PII_SAMPLE)
        .unpivot(variable_name=_COLUMN, value_name=_CELL)
    )
    value = pl.col(_CELL).str.strip_chars()
    long = long.with_columns(value).filter(pl.col(_CELL).is_not_null() & (pl.col(_CELL) != ""))
    digits = value.str.replace_all(r"\D", "").str.len_chars()
    phone = (
        value.str.contains(_PHONE)
        & (digits >= 7)
        & value.str.contains(r"[\s().\-/+]")
        & ~value.str.contains(_DATED)
        & ~value.str.contains(r"^[-+]?\d+([.,]\d+)?$")  # a plain number (a latitude) is no phone
    )
    first = value.str.extract(r"^([A-Z][a-z]+)").str.to_lowercase()
    person = value.str.contains(_PERSON) & first.is_in(list(_GIVEN_NAMES)).fill_null(False)
    stats = long.group_by(_COLUMN).agg(
        pl.len().alias("n"),
        value.str.contains(_EMAIL).mean().alias("email"),
        phone.mean().alias("phone"),
        person.mean().alias("person"),
        value.str.to_lowercase().is_in(_FLAGS).all().alias("flags"),
    )
    return {row[_COLUMN]: row for row in stats.iter_rows(named=True)}


def pii_from(name: str, stats: Mapping[str, object] | None) -> str | None:
    """The personal-data kind of text column ``name`` from its :func:`_pii_stats` row."""
    if not stats or not stats.get("n"):
        return None
    for kind, key in (
        ("e-mail addresses", "email"),
        ("phone numbers", "phone"),
        ("person names", "person"),
    ):
        share = stats.get(key)
        if isinstance(share, float) and share >= _PII_SHARE:
            return kind
    if PII_NAME.search(name) and not stats.get("flags"):
        return "contact details, by its name"
    return None


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.Utf8, pl.Categorical) or isinstance(dtype, pl.Enum)


def pii_kinds(frame: pl.DataFrame, columns: list[str] | None = None) -> dict[str, str]:
    """Column → personal-data kind for every column of ``frame`` (or ``columns``) that holds some:
    e-mail addresses, phone numbers or person names by content, or personal data by name."""
    schema = frame.schema
    names = columns if columns is not None else frame.columns
    found: dict[str, str] = {}
    text = [c for c in names if _is_text(schema[c])]
    for c in names:
        phone = PII_NAME.search(c) and re.search(r"phone|mobile|fax", c, re.I)
        if phone and schema[c].is_integer():
            found[c] = "phone numbers, by its name"
    if text:
        stats = _pii_stats(frame, text)
        for c in text:
            kind = pii_from(c, stats.get(c))
            if kind is not None:
                found[c] = kind
    return found


def pii_kind(column: pl.Series) -> str | None:
    """'e-mail addresses', 'phone numbers' or 'person names' when the column's name or most of its
    filled values say so; None otherwise. Flags, counts and dates named 'contacted' or
    'email_opens' are not personal data."""
    return pii_kinds(column.to_frame()).get(column.name)


def _unusable(column: pl.Series) -> str | None:
    """Why a column cannot be an attribute by its type and values (None: usable)."""
    dtype = column.dtype
    non_null = column.drop_nulls()
    if isinstance(dtype, pl.List):
        return None if non_null.list.len().sum() > 0 else "empty"
    if non_null.len() == 0:
        return "empty"
    if dtype.is_numeric() or dtype == pl.Boolean:
        return None if non_null.n_unique() > 1 else "constant"
    if dtype in (pl.Utf8, pl.Categorical) or isinstance(dtype, pl.Enum):
        text = non_null.cast(pl.Utf8)
        distinct = text.n_unique()
        if distinct < 2:
            return "constant"
        if distinct > max(MAX_DISTINCT_SHARE * text.len(), 30):
            return "free text or a code unique to most rows"
        mean_length = text.str.len_chars().mean()
        usable = isinstance(mean_length, int | float) and mean_length <= MAX_MEAN_TEXT_LENGTH
        return None if usable else "free text (long values)"
    return "not a number, category or tag list"


def choose_attributes(
    accounts: pl.DataFrame,
    settings: DiscoveryConfig | None = None,
    flagged: Mapping[str, str] | None = None,
) -> AttributeChoice:
    """The attribute columns of ``accounts`` and every column left out, with the reason.

    Parameters
    ----------
    accounts : the accounts table (canonical columns and extras).
    settings : ``discovery.attributes`` limits the choice, ``discovery.exclude`` removes columns,
        ``discovery.allow`` re-admits personal-data, date and guard-flagged columns.
    flagged : column → reason from the leakage/identifier guard.
    """
    settings = settings or DiscoveryConfig.model_validate({})
    flagged = flagged or {}
    allow = set(settings.allow)
    chosen: list[str] = []
    excluded: list[Exclusion] = []
    kinds = pii_kinds(accounts, [c for c in accounts.columns if c not in allow])
    for name in accounts.columns:
        column = accounts.get_column(name)
        if settings.attributes and name not in settings.attributes:
            excluded.append(Exclusion(name, "not in discovery.attributes", "not_listed"))
            continue
        if name in settings.exclude:
            excluded.append(Exclusion(name, "listed in discovery.exclude", "excluded"))
            continue
        if name == "description":  # free text: lookalikes compare it, discovery does not bin it
            excluded.append(Exclusion(name, "a company description (free text)", "free_text"))
            continue
        if ID_NAME.search(name):
            excluded.append(
                Exclusion(name, "an identifier, name or web address", "identifier_name")
            )
            continue
        if name not in allow:
            kind = kinds.get(name)
            if kind is not None:
                excluded.append(Exclusion(name, f"personal data: {kind}", "pii"))
                continue
            if name in flagged:
                excluded.append(Exclusion(name, flagged[name], "guard"))
                continue
            if column.dtype.is_temporal():
                excluded.append(
                    Exclusion(name, "a date (when a record was made is not a trait)", "date")
                )
                continue
        why = _unusable(column)
        if why is not None and not (column.dtype.is_temporal() and name in allow):
            excluded.append(Exclusion(name, why, "unusable"))
            continue
        chosen.append(name)
    return AttributeChoice(tuple(chosen), tuple(excluded))
