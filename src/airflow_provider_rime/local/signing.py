"""Short signed tokens with an expiry: the result pages' session cookie and login links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Signer:
    """Signs and checks the session cookie and login links (HMAC-SHA256 with the engine's session key)."""

    secret: bytes

    def _mac(self, purpose: str, payload: bytes) -> str:
        digest = hmac.new(self.secret, purpose.encode() + b"\0" + payload, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, purpose: str, subject: str, seconds: float) -> str:
        payload = json.dumps({"s": subject, "e": int(time.time() + seconds)}, separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._mac(purpose, payload)}"

    def subject(self, purpose: str, token: str | None) -> str | None:
        """The subject of a valid, unexpired token of ``purpose``; ``None`` otherwise."""
        if not token or len(token) > 1000:
            return None
        body, _, mac = token.partition(".")
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            data = json.loads(payload)
            subject, expires = data["s"], data["e"]
        except (ValueError, TypeError, KeyError):
            return None
        if not hmac.compare_digest(mac.encode(errors="replace"), self._mac(purpose, payload).encode()):
            return None
        if not isinstance(subject, str) or not isinstance(expires, int) or expires < time.time():
            return None
        return subject
