"""Messages the web edge shows: never the server's own folders (a leaf module, so the service, the
error handlers and the build process all use one scrubber without importing each other)."""

from __future__ import annotations

import os
import re
from pathlib import Path

_ABSOLUTE = re.compile(r"(?<![\w.:/<~])/(?!v1/)(?:[^\s/'\"`:,;()<>]+/)+([^\s/'\"`:,;()<>]+)")


def public_message(message: str, root: Path) -> str:
    """An error message without the server's own folders: a path in the workspace is shown
    relative to it, the home folder as ``~``, any other absolute path by its file name only."""
    text = message.replace(str(root) + os.sep, "").replace(str(root), "the workspace")
    text = text.replace(str(Path.home()) + os.sep, "~/")
    return _ABSOLUTE.sub(lambda m: m.group(1), text)
