"""A read-only workspace (a share, a read-only mount, a chmod): every verb that writes says so in
one line; the verbs that only read still work (issue 25).

The folder is made read-only for real: its modes are cleared and, when the tests run as root (for
whom modes stop nothing), the process takes the effective user ``nobody`` for the duration, so the
kernel refuses the writes exactly as on a read-only share. SQLite's own C file calls included.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icpkit.atomic import permission_message
from icpkit.cli import app
from icpkit.datasets import make_crm

runner = CliRunner()
NOBODY = 65534


def _run(*args: object) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    text = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += f"\nTraceback: {result.exception!r}"
    return result.exit_code, text


def _set_modes(root: Path, writable: bool) -> None:
    for path in [root, *root.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755 if writable else 0o555)
        else:
            path.chmod(0o644 if writable else 0o444)


@contextmanager
def read_only(root: Path) -> Iterator[None]:
    _set_modes(root, writable=False)
    as_root = os.geteuid() == 0
    if as_root:
        os.seteuid(NOBODY)
    try:
        yield
    finally:
        if as_root:
            os.seteuid(0)
        _set_modes(root, writable=True)


def _new_workspace(accounts: int) -> Path:
    # not under pytest's tmp folder: that one is private to root, so 'nobody' could not even
    # read the workspace, which is not the case under test
    root = Path(tempfile.mkdtemp(prefix="icpkit-ro-"))
    root.chmod(0o755)
    make_crm(accounts, seed=5).write_workspace(root)
    return root


@pytest.fixture
def unbuilt() -> Iterator[Path]:
    root = _new_workspace(120)
    # the lazy imports warmed: the interpreter's files are not readable by 'nobody' under root
    import icpkit.pipeline  # noqa: F401

    code, text = _run("keys", "list", "-w", root)
    assert code == 0, text
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def workspace() -> Iterator[Path]:
    root = _new_workspace(300)
    # every verb runs once writable: the build to read from, and every lazy import warmed (the
    # interpreter's own files are not readable by 'nobody' on a root-only install)
    for args in (
        ("build", "-w", root),
        ("report", "-w", root),
        ("score", root / "accounts.csv", "-o", root / "warm.csv", "-w", root),
    ):
        code, text = _run(*args)
        assert code == 0, text
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _refused_as_read_only(root: Path, argv: list[str]) -> None:
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    with read_only(root):
        code, text = _run(*argv, "-w", root)
    assert code == 1, text
    assert "Traceback" not in text
    assert "the workspace folder is read-only" in text, text
    assert "damaged" not in text and "cannot be read" not in text
    assert str(root) not in text  # the message shows paths inside the workspace only
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


@pytest.mark.parametrize("args", [("keys", "create", "--name", "revops"), ("build",)])
def test_keys_and_build_say_the_workspace_is_read_only(unbuilt: Path, args: tuple[str]) -> None:
    _refused_as_read_only(unbuilt, list(args))


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ("build",),
        ("report",),
        ("report", "-o", "{root}/again.html"),
        ("score", "{root}/accounts.csv", "-o", "{root}/scored.csv"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_verb_that_writes_into_a_built_workspace_says_it_is_read_only(
    workspace: Path, args: tuple[str, ...]
) -> None:
    _refused_as_read_only(workspace, [a.format(root=workspace) for a in args])


@pytest.mark.slow
def test_the_verbs_that_only_read_still_work(workspace: Path) -> None:
    out = Path(tempfile.mkdtemp(prefix="icpkit-out-"))
    out.chmod(0o777)
    try:
        with read_only(workspace):
            listed = _run("versions", "-w", workspace)
            scored = _run("score", workspace / "accounts.csv", "-o", out / "s.csv", "-w", workspace)
        assert listed[0] == 0 and "v1" in listed[1], listed[1]
        assert scored[0] == 0 and (out / "s.csv").exists(), scored[1]
    finally:
        shutil.rmtree(out, ignore_errors=True)


def test_a_read_only_mount_is_named_as_such() -> None:
    """EROFS (a read-only file system) cannot be made without mount rights: the message for it."""
    exc = OSError(errno.EROFS, "Read-only file system", "/srv/ws/.icpkit/api-keys.json")
    message = permission_message(exc, Path("/srv/ws"))
    assert message is not None
    assert message.startswith("the workspace folder is read-only: .icpkit/api-keys.json")
    assert permission_message(OSError(errno.ENOENT, "gone", "/x")) is None
