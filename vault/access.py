"""Roles and grants: who may do what. Deny by default; the most specific rule wins.

A member's right to read an asset is decided by the first rule that matches, from
the most specific scope to the least: the asset itself, then its shot, then its
kind, then the member's role defaults. `vault grant` writes an allow rule at a
scope, `vault revoke` a deny rule, so a revoke also overrides a role default.
"""

from __future__ import annotations

from dataclasses import dataclass

from vault.models import ASSET_KINDS

PUT, GET, CREW, GRANT, AUDIT, RENDER, EXPORT, TRACE = (
    "put",
    "get",
    "crew",
    "grant",
    "audit",
    "render",
    "export",
    "trace",
)
ALL_CAPABILITIES = frozenset({PUT, GET, CREW, GRANT, AUDIT, RENDER, EXPORT, TRACE})
SCOPES = ("asset", "shot", "kind")


@dataclass(frozen=True)
class Role:
    capabilities: frozenset[str]
    reads: frozenset[str]  # asset kinds readable without a grant
    writes: frozenset[str]  # asset kinds this role may put


def _role(capabilities: set[str], reads: set[str], writes: set[str] | None = None) -> Role:
    return Role(frozenset(capabilities), frozenset(reads), frozenset(writes or set()))


_EVERY_KIND = set(ASSET_KINDS)
ROLES: dict[str, Role] = {
    # The security officer and the admin run the vault: everything, including the log.
    "admin": _role(set(ALL_CAPABILITIES), _EVERY_KIND, _EVERY_KIND),
    "security": _role(set(ALL_CAPABILITIES), _EVERY_KIND, _EVERY_KIND),
    # The director sees the whole film and may commission renders and copies.
    "director": _role({PUT, GET, RENDER, EXPORT}, _EVERY_KIND, {"script", "footage"}),
    # Producers read the script and the finished renders, and send copies out.
    "producer": _role({GET, EXPORT}, {"script", "render"}),
    # VFX artists work on plates, faces and models, and run renders.
    "vfx": _role(
        {PUT, GET, RENDER}, {"footage", "face", "model", "render"}, {"footage", "face", "model"}
    ),
    # Editors cut plates and renders and bring in footage.
    "editor": _role({PUT, GET}, {"footage", "render"}, {"footage"}),
    # Actors read the script; anything more is granted one by one.
    "actor": _role({GET}, {"script"}),
}


@dataclass(frozen=True)
class Rule:
    scope: str
    value: str
    effect: str  # "allow" | "deny"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    because: str


def can_read(
    role: str, rules: dict[tuple[str, str], Rule], kind: str, asset_id: str, shot: int | None
) -> Decision:
    """Decide whether a member with `role` and `rules` may read this asset."""
    candidates = [("asset", asset_id)]
    if shot is not None:
        candidates.append(("shot", str(shot)))
    candidates.append(("kind", kind))
    for key in candidates:
        rule = rules.get(key)
        if rule is not None:
            return Decision(rule.effect == "allow", f"{rule.effect} rule on {key[0]} {key[1]}")
    defaults = ROLES[role].reads if role in ROLES else frozenset()
    if kind in defaults:
        return Decision(True, f"role {role} reads {kind}")
    return Decision(False, f"no grant on this asset, its shot or kind {kind!r}")


def has_capability(role: str, capability: str) -> bool:
    return role in ROLES and capability in ROLES[role].capabilities


def may_write_kind(role: str, kind: str) -> bool:
    return role in ROLES and PUT in ROLES[role].capabilities and kind in ROLES[role].writes
