"""Regenerate the report screenshots in docs/ (`make docs-images`).

Renders the demo workspace's latest ICP (or a profile JSON given with --profile) as PDF and HTML,
then page 1 of each to PNG: the PDF with pdftoppm (poppler-utils) or pypdfium2, the HTML with
headless Chromium. Installs nothing: it says what is missing and how to get it.

    uv run --frozen python docs/make_images.py                   # runs `icpkit demo` in a temp dir
    uv run --frozen python docs/make_images.py --workspace demo  # an existing workspace
    uv run --frozen python docs/make_images.py --profile tests/fixtures/profile_full.json
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PDF_PNG = DOCS / "report-onepager-pdf.png"
HTML_PNG = DOCS / "report-html.png"
MAX_BYTES = 300_000
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1240,1754",
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def missing_tools() -> list[str]:
    """Every tool this script needs and cannot find, with how to install it."""
    problems = []
    if find_chromium() is None:
        problems.append("headless Chromium (Debian/Ubuntu: apt-get install -y chromium)")
    if shutil.which("pdftoppm") is None:
        try:
            import pypdfium2  # noqa: F401
        except ImportError:
            problems.append("pdftoppm (apt-get install -y poppler-utils) or pypdfium2")
    return problems


def report_input(args: argparse.Namespace, scratch: Path):  # type: ignore[no-untyped-def]
    """The ReportInput of the demo workspace's latest version, or of a profile file."""
    from icpkit.profile import IcpProfile
    from icpkit.report import ReportInput

    if args.profile:
        return ReportInput(IcpProfile.read(Path(args.profile)), version=1, version_note="sample")
    workspace = Path(args.workspace) if args.workspace else scratch / "demo"
    if not args.workspace:
        # the console script installed beside this interpreter (icpkit has no __main__ module)
        script = Path(sys.executable).with_name("icpkit")
        command = str(script) if script.exists() else (shutil.which("icpkit") or "icpkit")
        subprocess.run([command, "demo", str(workspace)], check=True, stdout=subprocess.DEVNULL)
    from icpkit.lifecycle.store import Store

    stored = Store(workspace).latest()
    return ReportInput(stored.profile(), version=stored.version, version_note=stored.note)


def pdf_page1_png(pdf: Path, target: Path) -> None:
    if shutil.which("pdftoppm"):
        stem = target.with_suffix("")
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "110",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(pdf),
                str(stem),
            ],
            check=True,
        )
        return
    import pypdfium2

    page = pypdfium2.PdfDocument(str(pdf))[0]
    page.render(scale=110 / 72).to_pil().save(target)


def html_png(html: Path, target: Path, chromium: str) -> None:
    profile_dir = tempfile.mkdtemp(prefix="icpkit-chromium-")
    try:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile_dir}",
                f"--screenshot={target}",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    finally:
        shutil.rmtree(profile_dir, ignore_errors=True)


def shrink(png: Path) -> None:
    """Quantise a screenshot to a palette when it is over the size budget (needs Pillow)."""
    if png.stat().st_size <= MAX_BYTES:
        return
    try:
        from PIL import Image
    except ImportError:
        print(f"note: {png.name} is {png.stat().st_size:,} bytes; install Pillow to shrink it")
        return
    image = Image.open(png).convert("RGB").quantize(colors=64)
    image.save(png, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", help="an existing workspace (default: a fresh demo)")
    parser.add_argument("--profile", help="render this profile JSON instead of a workspace")
    args = parser.parse_args()
    problems = missing_tools()
    if problems:
        print("make docs-images needs: " + "; ".join(problems), file=sys.stderr)
        return 1
    from icpkit.report import render

    with tempfile.TemporaryDirectory(prefix="icpkit-docs-") as tmp:
        scratch = Path(tmp)
        report = report_input(args, scratch)
        pdf = render(report, "pdf", scratch / "icp.pdf")
        html = render(report, "html", scratch / "icp.html")
        pdf_page1_png(pdf, PDF_PNG)
        html_png(html, HTML_PNG, find_chromium() or "chromium")
    for png in (PDF_PNG, HTML_PNG):
        shrink(png)
        print(f"{png.relative_to(DOCS.parent)}: {png.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
