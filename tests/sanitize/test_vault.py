"""The pseudonym vault: encrypted at rest, key from config or a 0600 key file."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchbay.sanitize.vault import Vault, VaultError


def test_key_file_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    first = Vault.from_key_file(tmp_path / "data")
    key = (tmp_path / "data" / "vault.key").read_bytes()
    assert (tmp_path / "data" / "vault.key").stat().st_mode & 0o777 == 0o600
    sealed = first.seal({"<PERSON_1>": "Ann Lee"})
    assert "Ann" not in sealed
    second = Vault.from_key_file(tmp_path / "data")
    assert (tmp_path / "data" / "vault.key").read_bytes() == key
    assert second.open(sealed) == {"<PERSON_1>": "Ann Lee"}


def test_configured_key_wins_and_a_wrong_key_says_how_to_fix(tmp_path: Path) -> None:
    vault = Vault.resolve("a passphrase from ${secret:...}", tmp_path)
    assert not (tmp_path / "vault.key").exists()
    sealed = vault.seal({"<EMAIL_1>": "a@b.c"})
    assert Vault("a passphrase from ${secret:...}").open(sealed) == {"<EMAIL_1>": "a@b.c"}
    with pytest.raises(VaultError, match="must use the same vault_key"):
        Vault.from_key_file(tmp_path).open(sealed)
    assert "passphrase" not in repr(vault)
