"""Which account columns may describe a customer: ONE choice for discovery and the scorecard.

A column is an attribute unless it is

- an identifier, name, domain or URL (by its name),
- personal data: e-mail addresses, phone numbers or person names, recognised by the column name
  (``owner_email``, ``primary_contact``, ``account_owner``) **and** by the content (values that are
  e-mails, phone numbers, or "Given Family" names),
- a person of the sales process (owner, rep, seller, SDR, account manager: by name, or by a
  weaker name and values that read as person names or initials; :mod:`icpkit.data.trait_words`),
- a date (a record's creation date is a data-window artefact, not a trait of the customer; a date
  is never "personal data" by its name),
- constant, empty, only placeholders ("unknown", "other", "n/a"…), free text, or a code with no
  frequent level (an identifier). A text column with many levels of which some are frequent is
  kept and **grouped**: its frequent levels, the rest as "other".
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
from icpkit.data.model import SCHEMA
from icpkit.data.trait_words import ASSIGNED_PERSON, is_placeholder, people_column, people_name

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
_PII_MIN_DISTINCT = 12
_PII_SAMPLE = 300
MAX_DISTINCT_SHARE = 0.5
MAX_MEAN_TEXT_LENGTH = 40
# A many-level text column is grouped (frequent levels + other) when its frequent levels — each
# on at least this share of the filled rows and FREQUENT_COUNT rows — hold GROUPED_SHARE of them;
# otherwise it is a code unique to most rows (an identifier).
FREQUENT_SHARE, FREQUENT_COUNT, GROUPED_SHARE = 0.01, 10, 0.3
# More levels than this and a categorical attribute is reported as grouped (the scorecard keeps
# at most this many levels, scoring.binning.MAX_LEVELS; the rest are "other").
GROUPED_LEVELS = 30
# What happened to a column, for `icpkit check` and the report (Exclusion.fate).
FATES = (
    "attribute",
    "grouped",
    "id",
    "empty",
    "constant",
    "placeholder_only",
    "personal_data",
    "sales_process",
    "date",
    "free_text",
    "leakage",
    "excluded",
    "not_listed",
    "unsupported",
)


@dataclass(frozen=True)
class Exclusion:
    """A column that is not an attribute, and why (``code`` groups the reasons, ``fate`` is the
    short kind shown in the column-fate table)."""

    column: str
    reason: str
    code: str
    fate: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"column": self.column, "reason": self.reason, "code": self.code}


@dataclass(frozen=True)
class ColumnFate:
    """One column of the accounts table and what became of it (see ``FATES``)."""

    column: str
    fate: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"column": self.column, "fate": self.fate, "reason": self.reason}


@dataclass(frozen=True)
class AttributeChoice:
    """The attribute columns (table order) and every column left out with its reason."""

    columns: tuple[str, ...]
    excluded: tuple[Exclusion, ...]
    grouped: tuple[tuple[str, str], ...] = ()

    def reported(self) -> list[Exclusion]:
        """The exclusions worth telling a user (not ids/names or empty columns)."""
        quiet = {"identifier_name", "unusable", "not_listed"}
        return [e for e in self.excluded if e.code not in quiet]

    def fates(self, order: list[str] | None = None) -> list[ColumnFate]:
        """Every column's fate, in table order (``order``, see :func:`fate_order`) or used
        columns first."""
        grouped = dict(self.grouped)
        out = {
            c: ColumnFate(c, "grouped", grouped[c])
            if c in grouped
            else ColumnFate(c, "attribute", "used as a customer attribute")
            for c in self.columns
        }
        for e in self.excluded:
            out[e.column] = ColumnFate(
                e.column, e.fate or _FATE_OF_CODE.get(e.code, "excluded"), e.reason
            )
        names = order if order is not None else list(out)
        return [out[c] for c in names if c in out]


_FATE_OF_CODE = {
    "identifier_name": "id",
    "pii": "personal_data",
    "guard": "leakage",
    "date": "date",
    "free_text": "free_text",
    "not_listed": "not_listed",
    "excluded": "excluded",
    "sales_process": "sales_process",
}


_COLUMN, _CELL = "\x00column", "\x00cell"
_FLAGS = ["yes", "no", "true", "false", "y", "n", "0", "1", "t", "f"]
_DATED = r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$"


def _pii_stats(frame: pl.DataFrame, text: list[str]) -> dict[str, dict[str, object]]:
    """Per text column: filled cells looked at and the shares of e-mails, phone numbers and
    person names among them, and whether all are yes/no flags.

    ``_PII_SAMPLE`` rows of every column, chosen by a hash of the row's key (never by file order,
    so a shuffled export reads the same), are stacked into one long column: a table with 50,000
    columns costs one regex pass over one column (linear in its columns).
    """
    # the stacked names cannot be a column of the file ('value', 'column' are common ones)
    long = _sample_rows(frame.select(pl.col(text).cast(pl.Utf8)), frame, _PII_SAMPLE).unpivot(
        variable_name=_COLUMN, value_name=_CELL
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
        value.str.contains(_DATED).mean().alias("dated"),
        value.n_unique().alias("distinct"),
        value.str.contains(r"^[-+]?\d*[.,]\d+$").mean().alias("decimal"),
    )
    return {row[_COLUMN]: row for row in stats.iter_rows(named=True)}


def _sample_rows(columns: pl.DataFrame, frame: pl.DataFrame, n: int) -> pl.DataFrame:
    """``n`` rows of ``columns`` picked by a hash of each row's key in ``frame`` (the account id,
    else the whole row): the same rows whatever the order of the file."""
    if frame.height <= n:
        return columns
    flat = [c for c, t in frame.schema.items() if not t.is_nested() and t != pl.Object]
    key = (
        pl.col("account_id").cast(pl.Utf8)
        if "account_id" in frame.columns
        else pl.concat_str(pl.col(flat).cast(pl.Utf8), separator="\x1f", ignore_nulls=True)
    )
    rank = frame.select(key.hash(seed=24).alias("h")).with_row_index("i")
    rows = rank.sort(["h", "i"]).head(n)["i"]
    # shares and "all" over the sample do not depend on the sample's own order
    return columns.with_row_index("__i").filter(pl.col("__i").is_in(rows.implode())).drop("__i")


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
    dated = stats.get("dated")
    if isinstance(dated, float) and dated >= _PII_SHARE:
        return None  # a date ("first_contact", "birth" of a company) is no personal data by name
    distinct = stats.get("distinct")
    few = isinstance(distinct, int) and distinct < _PII_MIN_DISTINCT
    decimal = stats.get("decimal")
    if isinstance(decimal, float) and decimal >= _PII_SHARE:
        return None  # "AvgMobileRevenue" = 40.17: an amount, no phone number has decimals
    # a handful of levels ("contact" = cellular / telephone) is a channel, not someone's details;
    # a handful of reps' initials ("sales_rep" = JS / MK) are still people
    if few and people_name(name) is not None:
        few = False
    if PII_NAME.search(name) and not stats.get("flags") and not few:
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


def _unusable(column: pl.Series, placeholders: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """(fate, reason) when a column cannot be an attribute by its type and values (None: usable)."""
    dtype = column.dtype
    non_null = column.drop_nulls()
    if isinstance(dtype, pl.List):
        return None if non_null.list.len().sum() > 0 else ("empty", "empty")
    if non_null.len() == 0:
        return "empty", "empty"
    if dtype.is_numeric() or dtype == pl.Boolean:
        return None if non_null.n_unique() > 1 else ("constant", "constant")
    if dtype in (pl.Utf8, pl.Categorical) or isinstance(dtype, pl.Enum):
        text = non_null.cast(pl.Utf8)
        counts = text.value_counts(sort=True, name="n")
        levels = counts.get_column(text.name).to_list()
        if all(is_placeholder(v, placeholders) for v in levels):
            shown = ", ".join(repr(v) for v in sorted(levels)[:3])
            return "placeholder_only", f"only placeholders ({shown}): no answer in any row"
        distinct = len(levels)
        if distinct < 2:
            return "constant", "constant"
        mean_length = text.str.len_chars().mean()
        if not (isinstance(mean_length, int | float) and mean_length <= MAX_MEAN_TEXT_LENGTH):
            return "free_text", "free text (long values)"
        if distinct > max(MAX_DISTINCT_SHARE * text.len(), 30):
            floor = max(FREQUENT_COUNT, FREQUENT_SHARE * text.len())
            held = counts.filter(pl.col("n") >= floor).get_column("n").sum()
            if held < GROUPED_SHARE * text.len():
                return "id", (
                    f"a code unique to most rows ({distinct:,} distinct values, none frequent): "
                    "an identifier, not a trait"
                )
        return None
    return "unsupported", "not a number, category or tag list"


# "PID", "LeadNumber", "customer_no", "CustomerID": an id by name once its values say so too.
_ID_LIKE_NAME = re.compile(r"(id|number|num|no|nr|code|ref|key)$", re.I)
_ID_DISTINCT_SHARE = 0.9


def _id_like(name: str, column: pl.Series) -> bool:
    """A column named like an id whose values are nearly all distinct (an id the name rule
    ``ID_NAME`` misses: 'PID', 'Lead Number', numbers a spreadsheet may have mangled)."""
    if not _ID_LIKE_NAME.search(re.sub(r"[^0-9A-Za-z]", "", name)):
        return False
    if isinstance(column.dtype, pl.List) or column.dtype.is_temporal():
        return False
    filled = column.drop_nulls()
    distinct = filled.n_unique()
    if len(filled) < 20 or distinct < _ID_DISTINCT_SHARE * len(filled):
        return False
    if filled.dtype.is_float() and bool((filled == filled.round()).all()):
        filled = filled.cast(pl.Int64)  # whole numbers typed as floats
    numbers = filled.cast(pl.Int64, strict=False) if not filled.dtype.is_float() else filled
    if numbers.dtype.is_integer() and numbers.null_count() == 0:
        # a run of consecutive numbers is a sequence: the guard judges it against creation order
        span = int(numbers.max()) - int(numbers.min()) + 1  # type: ignore[arg-type]
        return span > 2 * distinct
    return True


def _grouped(column: pl.Series) -> str | None:
    """Why a usable text column is grouped (more levels than the scorecard keeps), or None."""
    if column.dtype not in (pl.Utf8, pl.Categorical) and not isinstance(column.dtype, pl.Enum):
        return None
    distinct = column.drop_nulls().n_unique()
    if distinct <= GROUPED_LEVELS:
        return None
    return f"{distinct:,} levels: the frequent ones are used, the rest grouped as 'other'"


def fate_order(accounts: pl.DataFrame) -> list[str]:
    """The accounts columns whose fate is worth listing: all but the canonical columns that no
    file column was mapped onto (they exist, empty, in every accounts table)."""
    empty = {c for c in SCHEMA["accounts"] if c in accounts.columns}
    if empty:
        nulls = accounts.select(pl.col(sorted(empty)).null_count()).row(0, named=True)
        empty = {c for c, n in nulls.items() if n == accounts.height and c != "account_id"}
    return [c for c in accounts.columns if c not in empty]


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
    placeholders = tuple(settings.placeholders)
    chosen: list[str] = []
    grouped: list[tuple[str, str]] = []
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
            # a date is a date whatever its name ("first_contact_date" is no contact detail)
            if column.dtype.is_temporal():
                why = flagged.get(name, "a date (when a record was made is not a trait)")
                excluded.append(Exclusion(name, why, "guard" if name in flagged else "date"))
                continue
            kind = kinds.get(name)
            # an owner's name is a sales-process fact; an owner's e-mail or phone stays personal
            contact = kind is not None and kind.startswith(("e-mail", "phone"))
            if not contact and people_column(column, settings.people):
                why = (
                    ASSIGNED_PERSON if kind is None else f"{ASSIGNED_PERSON}; personal data: {kind}"
                )
                excluded.append(Exclusion(name, why, "sales_process"))
                continue
            if kind is not None:
                excluded.append(Exclusion(name, f"personal data: {kind}", "pii"))
                continue
            if name in flagged:
                fate = "id" if "identifier" in flagged[name] else "leakage"
                excluded.append(Exclusion(name, flagged[name], "guard", fate))
                continue
        if _id_like(name, column):
            why = "an identifier: named like one, a different value on nearly every row"
            excluded.append(Exclusion(name, why, "unusable", "id"))
            continue
        unusable = _unusable(column, placeholders)
        if unusable is not None and not (column.dtype.is_temporal() and name in allow):
            excluded.append(Exclusion(name, unusable[1], "unusable", unusable[0]))
            continue
        group = _grouped(column)
        if group is not None:
            grouped.append((name, group))
        chosen.append(name)
    return AttributeChoice(tuple(chosen), tuple(excluded), tuple(grouped))
