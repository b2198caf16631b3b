"""``python -m icpkit`` runs the command-line interface."""

from icpkit.cli import run

run()
