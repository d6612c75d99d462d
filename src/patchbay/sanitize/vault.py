"""The pseudonym vault: a run's token -> value mapping, encrypted before it is stored.

Runs are durable: the run state is checkpointed as JSON after every step, so the mapping that lets
postprocess restore ``<PERSON_1>`` to a name is kept in the state only as a Fernet token
(AES-128-CBC + HMAC-SHA256, from ``cryptography``). The key comes from config
(``vault_key: ${secret:PATCHBAY_VAULT_KEY}``) or, when none is set, from a per-project key file
generated once with mode 0600 in the data directory (``.patchbay/vault.key``). Whoever can read the
run database but not the key sees only ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE = "vault.key"


class VaultError(ValueError):
    """The mapping could not be opened: wrong key, or the data was altered."""


def _fernet_key(secret: str) -> bytes:
    """A Fernet key for ``secret``: used as is when it already is one, else derived with SHA-256."""
    raw = secret.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except (ValueError, TypeError):
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


class Vault:
    """Seals and opens pseudonym mappings with one key."""

    def __init__(self, key: str | bytes) -> None:
        self._fernet = Fernet(_fernet_key(key.decode() if isinstance(key, bytes) else key))

    def __repr__(self) -> str:
        return "Vault(<key hidden>)"

    @classmethod
    def from_key_file(cls, data_dir: Path) -> Vault:
        """The project's vault, creating ``data_dir/vault.key`` (mode 0600) on first use."""
        path = data_dir / KEY_FILE
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            # O_EXCL: two processes starting at once must not each write a different key.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(Fernet.generate_key())
        return cls(path.read_bytes())

    @classmethod
    def resolve(cls, secret: str | None, data_dir: Path) -> Vault:
        """The vault for a configured ``secret``, else the project's key file."""
        return cls(secret) if secret else cls.from_key_file(data_dir)

    def seal(self, mapping: dict[str, str]) -> str:
        """``mapping`` encrypted, as text safe to store in JSON."""
        return self._fernet.encrypt(json.dumps(mapping, separators=(",", ":")).encode()).decode()

    def open(self, sealed: str) -> dict[str, str]:
        """The mapping inside ``sealed``; raises :class:`VaultError` when the key does not fit."""
        try:
            data = json.loads(self._fernet.decrypt(sealed.encode()))
        except (InvalidToken, ValueError) as exc:
            raise VaultError(
                "the pseudonym mapping could not be decrypted: the 'sanitize' and 'postprocess' steps must "
                "use the same vault_key (or both none, to share the project's .patchbay/vault.key)"
            ) from exc
        return {str(k): str(v) for k, v in data.items()}
