"""One error base class; every subclass renders a one-line human diagnosis.

The CLI catches `VaultError` once, at its edge, and prints `str(error)`. Library
callers can catch the specific subclasses.
"""

from __future__ import annotations


class VaultError(Exception):
    """Something the user can act on: what is wrong, then what to do."""

    exit_code = 1

    def __init__(self, problem: str, fix: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        text = f"{self.problem}; {self.fix}" if self.fix else self.problem
        return " ".join(text.split())  # one line, whatever a library put in the message


class UsageError(VaultError):
    """Bad arguments or input files."""

    exit_code = 2


class NotAVault(VaultError):
    """VAULT_HOME does not hold a vault."""


class VaultExists(VaultError):
    """`vault init` on a directory that already holds a vault."""


class NewerFormat(VaultError):
    """The vault was written by a newer version of this tool."""


class MissingSecret(VaultError):
    """A passphrase is needed and there is no terminal to ask for it."""


class AuthenticationFailed(VaultError):
    """Unknown member, wrong passphrase, or revoked member."""

    exit_code = 3


class AccessDenied(VaultError):
    """The member is authenticated but has no right to do this."""

    exit_code = 4


class NotFound(VaultError):
    """An asset or member that does not exist."""


class IntegrityError(VaultError):
    """Stored data does not match what the vault recorded: tampering or corruption."""

    exit_code = 5


class StorageError(VaultError):
    """The disk refused a write (full, read-only, quota)."""

    exit_code = 6


class AuditUnavailable(VaultError):
    """The audit entry could not be written, so the operation was refused (fail closed)."""

    exit_code = 7
