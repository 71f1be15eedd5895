"""The vault: encrypted assets, crew identities and grants, a tamper-evident audit log.

Public face for other code and for scripting; everything else is internal.
"""

from vault.core import UnsealedKeys, Vault
from vault.errors import VaultError
from vault.session import MemberSession
from vault.version import __version__

__all__ = ["MemberSession", "UnsealedKeys", "Vault", "VaultError", "__version__"]
