"""pandas accepted wherever polars is: one conversion for every public function that takes frames."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from icpkit.errors import SchemaError


def as_polars(data: Any, what: str = "frame") -> tuple[pl.DataFrame, Callable[[Any], Any]]:
    """A polars frame of ``data`` (polars or pandas), and a function that turns a polars result
    back into the caller's type (pandas in → pandas out, index kept)."""
    if isinstance(data, pl.DataFrame):
        return data, lambda result: result
    if type(data).__module__.startswith("pandas") and type(data).__name__ == "DataFrame":
        index = data.index
        frame = pl.from_pandas(data.reset_index(drop=True).rename(columns=str))

        def back(result: Any) -> Any:
            out = result.to_pandas() if isinstance(result, pl.DataFrame) else result
            if len(out) == len(index):
                out.index = index
            return out

        return frame, back
    raise SchemaError(f"{what}: expected a polars or pandas DataFrame; got {type(data).__name__}")
