"""The field names of records to score, checked before scoring, so that a typo is not scored as a
missing value in silence.

Without mapping (icpkit's names): a field that is not a name icpkit reads but is close to one
(``industy``, ``employes``) is refused, naming the closest known name; any other unknown field is
ignored and listed (a CRM's ``owner`` or ``notes`` may ride along). With mapping (the export's own
headers): records none of whose fields is a header the mapping knows are refused — they would all
score as "unknown" on every attribute.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from icpkit.data.similar import closest
from icpkit.errors import Problem, SchemaError

CLOSE = 0.8  # rapidfuzz similarity of flattened names from which a field reads as a misspelling


def _flat(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def unknown_fields(
    names: Iterable[str], known: Iterable[str], *, file: str = "request"
) -> list[str]:
    """The fields of ``names`` icpkit does not read (to be ignored and reported).

    Raises
    ------
    SchemaError
        A field is not known but close to a known name: one problem per such field, naming it
        and the closest known name.
    """
    known = list(dict.fromkeys(known))
    flats = {_flat(k): k for k in known}
    unknown: list[str] = []
    problems: list[Problem] = []
    for name in dict.fromkeys(names):
        if name in known or _flat(name) in flats:
            continue
        near = closest(_flat(name), [f for f in flats if f], cutoff=CLOSE) if _flat(name) else None
        if near is None:
            unknown.append(name)
            continue
        problems.append(
            Problem(
                file=file,
                column=name,
                code="unknown_field",
                message=f"field {name!r} is not a field icpkit reads; did you mean "
                f"{flats[near]!r}? (it would be scored as missing)",
                expected=f"{flats[near]!r}",
            )
        )
    if problems:
        names_text = ", ".join(repr(p.column) for p in problems)
        raise SchemaError(f"unknown field{'s' if len(problems) > 1 else ''} {names_text}: "
                          + "; ".join(p.message for p in problems[:1]), problems)  # fmt: skip
    return unknown


def require_mapped_field(
    names: Iterable[str], headers: Iterable[str], *, file: str = "request"
) -> None:
    """Refuse records (read through the export mapping) none of whose fields is a header the
    mapping knows (``headers``: the mapping's and the preset's column names, and icpkit's)."""
    names = list(dict.fromkeys(names))
    flats = {_flat(h) for h in headers}
    if any(n in flats or _flat(n) in flats for n in names):
        return
    shown = ", ".join(repr(n) for n in names[:10]) + (", …" if len(names) > 10 else "")
    examples = ", ".join(repr(h) for h in list(dict.fromkeys(headers))[:6])
    raise SchemaError(
        f"map=true, but no field of the records is a column of the workspace's accounts export "
        f"(found {shown}; expected headers such as {examples}): every account would score as "
        "unknown. Send icpkit's field names with map=false, or the export's own headers.",
        [
            Problem(
                file=file,
                column=None,
                code="no_known_field",
                message="no field matches the workspace's accounts mapping",
                expected=f"headers such as {examples}",
            )
        ],
    )
