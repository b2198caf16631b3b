"""The workspace of the rep-view tests (worklist, account page, embed card): the web tests'
synthetic CRM with an account owner column (two reps), so owner filters have something to
filter, and the embed card framed by one allowed origin."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from icpkit import pipeline
from icpkit.datasets import make_crm

OWNERS = ("Dana Reyes", "Sam Okafor")
FRAMER = "http://localhost:*"  # the allowed frame origin: the browser tests' CRM page
SECRET = "test-embed-secret-0123456789abcdef-xyz"


def rep_workspace(root: Path, n: int = 500) -> Path:
    from test_web import set_web

    make_crm(n, seed=11).write_workspace(root)
    accounts = pl.read_csv(root / "accounts.csv", infer_schema_length=0)
    accounts = accounts.with_columns(
        owner=pl.when(pl.int_range(pl.len()) % 5 < 3)
        .then(pl.lit(OWNERS[0]))
        .otherwise(pl.lit(OWNERS[1]))
    )
    accounts.write_csv(root / "accounts.csv")
    set_web(root, frame_ancestors=[FRAMER], embed_secret_env="ICPKIT_TEST_EMBED_SECRET")
    pipeline.build_and_save(pipeline.Workspace.open(root), note="rep views")
    return root
