"""Deny by default; the most specific rule wins; roles give sensible defaults."""

from __future__ import annotations

import pytest

from vault.access import ROLES, Rule, can_read, has_capability, may_write_kind
from vault.models import ASSET_KINDS


def rules(*items: tuple[str, str, str]) -> dict:
    return {(scope, value): Rule(scope, value, effect) for scope, value, effect in items}


@pytest.mark.parametrize("role", ["admin", "security"])
def test_admins_read_every_kind(role: str) -> None:
    for kind in ASSET_KINDS:
        assert can_read(role, {}, kind, "a1", None).allowed


def test_unknown_role_reads_nothing() -> None:
    assert not can_read("caterer", {}, "script", "a1", None).allowed
    assert not has_capability("caterer", "get")


def test_actor_reads_script_but_not_footage_by_default() -> None:
    assert can_read("actor", {}, "script", "a1", None).allowed
    decision = can_read("actor", {}, "footage", "a1", 12)
    assert not decision.allowed and "no grant" in decision.because


def test_grant_on_shot_opens_that_shot_only() -> None:
    r = rules(("shot", "12", "allow"))
    assert can_read("actor", r, "footage", "a1", 12).allowed
    assert not can_read("actor", r, "footage", "a2", 13).allowed
    assert not can_read("actor", r, "footage", "a3", None).allowed


def test_asset_rule_beats_shot_rule_beats_kind_rule_beats_role() -> None:
    r = rules(("kind", "footage", "allow"), ("shot", "12", "deny"), ("asset", "a1", "allow"))
    assert can_read("actor", r, "footage", "a1", 12).allowed  # asset allow
    assert not can_read("actor", r, "footage", "a2", 12).allowed  # shot deny
    assert can_read("actor", r, "footage", "a3", 13).allowed  # kind allow


def test_revoke_overrides_a_role_default() -> None:
    assert not can_read("director", rules(("kind", "script", "deny")), "script", "a1", None).allowed


def test_put_rights_follow_the_role() -> None:
    assert may_write_kind("vfx", "face") and not may_write_kind("vfx", "script")
    assert not may_write_kind("actor", "script")
    assert may_write_kind("admin", "model")


def test_every_role_is_defined_with_known_kinds() -> None:
    for role in ROLES.values():
        assert role.reads <= set(ASSET_KINDS) and role.writes <= set(ASSET_KINDS)
