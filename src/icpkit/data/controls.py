"""Free text from people (a feedback reason, a build's ``--note``) as plain text.

A terminal escape sequence in stored text is replayed by every terminal that later prints it (a
colour change, a cleared screen, an OSC 8 link, a window title) and lands raw in the Markdown and
HTML reports; bidirectional overrides make text read differently from what it is. So whole
escape sequences are removed (not just their ESC byte, which would leave ``[2J`` behind), then
every other control character except tab and newline.
"""

from __future__ import annotations

import re

_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves, clear screen
    r"|\x9b[0-?]*[ -/]*[@-~]"  # CSI as one 8-bit byte
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC (links, titles), DCS, PM, APC
    r"|\x1b[ -/]*[0-~]?"  # any other escape
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (tab and newline
    stay; a CR LF or lone CR becomes a newline)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))
