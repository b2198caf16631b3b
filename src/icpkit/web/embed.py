"""Signed, expiring links to the account card a CRM shows in a frame (``/embed/accounts/…``).

A link names one account (by id, or by domain for ``/embed/accounts?domain=``), the second it
expires and an HMAC-SHA256 signature over both, keyed by the workspace's embed secret::

    /embed/accounts/A000067?exp=1767225600&sig=<base64url>
    /embed/accounts?domain=acme.io&exp=1767225600&sig=<base64url>

The secret comes from the environment variable named by ``[web] embed_secret_env`` (never from a
file, never logged); without it no link can be minted or opened, and only an API key opens a
card. A link that expires later than ``[web] embed_max_hours`` from now is refused too, so a
leaked link cannot live for ever. Anyone who holds the secret (the CRM's server side: an Apex
controller, a HubSpot serverless function, ``icpkit embed-link``) mints links for any account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

from icpkit.config import WebConfig
from icpkit.errors import ConfigError
from icpkit.web.search import search_text

Kind = Literal["id", "domain"]
MIN_SECRET = 32
CONTEXT = "icpkit-embed-v1"


class EmbedRefused(Exception):
    """A signed link that does not open the card: why, in words a rep may see."""


def normal_domain(domain: str) -> str:
    """The domain a link signs and a lookup matches: lower case, no scheme, path or ``www.``."""
    return search_text(domain)


@dataclass(frozen=True)
class EmbedLinks:
    """Mints and checks signed embed links with one secret."""

    secret: bytes | None
    max_seconds: int
    env_name: str = "ICPKIT_EMBED_SECRET"

    @classmethod
    def from_settings(cls, settings: WebConfig) -> EmbedLinks:
        """The links of a workspace: the secret read from its environment variable now."""
        raw = os.environ.get(settings.embed_secret_env, "")
        return cls(
            raw.encode() if raw else None,
            settings.embed_max_hours * 3600,
            settings.embed_secret_env,
        )

    def _key(self) -> bytes:
        if self.secret is None:
            raise ConfigError(
                f"embed links are off: set the environment variable {self.env_name} to a "
                f"secret of {MIN_SECRET}+ characters (setting web.embed_secret_env)"
            )
        if len(self.secret) < MIN_SECRET:
            raise ConfigError(
                f"the embed secret in {self.env_name} is too short: expected {MIN_SECRET}+ "
                f"characters, found {len(self.secret)}"
            )
        return self.secret

    def signature(self, kind: Kind, value: str, expires: int) -> str:
        """base64url(HMAC-SHA256(secret, 'icpkit-embed-v1|<kind>|<value>|<expires>'))."""
        if kind == "domain":
            value = normal_domain(value)
        message = f"{CONTEXT}|{kind}|{value}|{expires}".encode()
        digest = hmac.new(self._key(), message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def mint(
        self, kind: Kind, value: str, seconds: int, now: float | None = None
    ) -> tuple[str, int]:
        """The card's path and query for one account, valid ``seconds`` from now, and when it
        expires (Unix seconds)."""
        if not 1 <= seconds <= self.max_seconds:
            raise ConfigError(
                f"an embed link lives 1 to {self.max_seconds:,} seconds "
                f"(setting web.embed_max_hours); asked for {seconds:,}"
            )
        if not value.strip():
            raise ConfigError(f"an embed link needs an account {kind}")
        expires = int(now if now is not None else time.time()) + seconds
        sig = self.signature(kind, value, expires)
        if kind == "id":
            path = f"/embed/accounts/{quote(value, safe='')}?" + urlencode(
                {"exp": expires, "sig": sig}
            )
        else:
            path = "/embed/accounts?" + urlencode(
                {"domain": normal_domain(value), "exp": expires, "sig": sig}
            )
        return path, expires

    def verify(self, kind: Kind, value: str, exp: str, sig: str, now: float | None = None) -> None:
        """Nothing when the link is good; :class:`EmbedRefused` saying why when it is not."""
        if self.secret is None or len(self.secret) < MIN_SECRET:
            raise EmbedRefused("signed links are not enabled on this icpkit server")
        if not exp.isdigit() or len(exp) > 12:
            raise EmbedRefused("the link has no valid expiry")
        expires = int(exp)
        current = now if now is not None else time.time()
        good = self.signature(kind, value, expires)
        if not hmac.compare_digest(good.encode(), sig.encode()):
            raise EmbedRefused("the link's signature is not valid")
        if expires < current:
            raise EmbedRefused("the link has expired: reload the record in your CRM")
        if expires > current + self.max_seconds:
            raise EmbedRefused("the link lives longer than this server allows")
