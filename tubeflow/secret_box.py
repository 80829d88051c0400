"""Encryption at rest for secrets tubeflow must keep (channels' OAuth refresh tokens).

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) keyed by ``TUBEFLOW_SECRET_KEY``.
Without a key nothing is stored: connecting a channel refuses and says how to make one, rather
than writing a refresh token in the clear.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from tubeflow.errors import ConfigError
from tubeflow.settings import Settings


def new_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    def __init__(self, key: str) -> None:
        if not key:
            raise ConfigError(
                "TUBEFLOW_SECRET_KEY is not set, so OAuth tokens cannot be stored encrypted; create one with "
                '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"` '
                "and set it for every tubeflow process (workers, API, CLI)"
            )
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError) as e:
            raise ConfigError(f"TUBEFLOW_SECRET_KEY is not a Fernet key (32 url-safe base64 bytes): {e}") from None

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        return cls(settings.secret_key)

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open_fresh(self, token: str, max_age_s: float) -> str | None:
        """A token sealed here at most ``max_age_s`` ago, or None (forged, altered, expired or from
        another key): for short-lived values that travel through a browser, e.g. OAuth ``state``."""
        try:
            return self._fernet.decrypt(token.encode(), ttl=int(max_age_s)).decode()
        except (InvalidToken, ValueError, UnicodeError):
            return None

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "a stored OAuth token cannot be decrypted with TUBEFLOW_SECRET_KEY (the key changed?); "
                "reconnect the channel with `tubeflow channel connect`"
            ) from None
