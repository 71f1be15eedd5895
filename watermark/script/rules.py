"""What a variant rule is, and how one is found in a text.

A rule is a pair of spellings that say the same thing ("do not" / "don't", "Well," / "Well")
plus the context in which swapping them is safe. The context is judged only on the text
*outside* the two spellings, so a rule finds the same site whichever spelling a copy shows:
marking never creates or destroys sites, and every copy lays out and reads like the master.

Case follows the text: "Don't" ↔ "Do not", "DON'T" ↔ "DO NOT". Apostrophes follow the
document's own style (typewriter ' or typographic ’).

A spelling may hold a *slot*, `{name}`, filled by whatever its pattern matches in the text
and carried over unchanged to the other spelling: "up {object}" / "{object} up" turns
"picks up the phone" into "picks the phone up", "{word}," / "{word}" drops the comma after
whatever word ends an opening phrase. A rule may ask that its slots hold names of the
script's characters (`cast_only`): "{first} and {second}" / "{second} and {first}" swaps
"Marcus and Anna" only where both are cues of the script, never "Smith and Wesson".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Rule", "RuleMatch", "lowered_for_rules", "match_case"]

_APOSTROPHES = "'’"
MAX_CONTEXT = 80  # characters of context a condition may look at on either side
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Rule:
    """Two interchangeable spellings and where they may be swapped.

    `before` / `after` are regular expressions (case-insensitive) that must match the text
    just before the spelling (anchored at its end, within the same line) and just after it
    (anchored at its start); `not_before` / `not_after` must not. `lower_only` skips
    capitalised matches, for words that are also names (Gray, Grey); `action_only` keeps a
    rule out of dialogue, `dialogue_only` out of action. `slots` gives the pattern of each
    `{name}` in the forms (both forms hold the same slots); `cast_only` keeps a match only
    where every slot holds a one-word character cue of the script (checked by sites.py).
    """

    id: str
    kind: str  # contraction | synonym | spelling | phrasing | order | comma
    forms: tuple[str, str]
    note: str
    before: str = ""
    after: str = ""
    not_before: str = ""
    not_after: str = ""
    lower_only: bool = False
    action_only: bool = False
    dialogue_only: bool = False
    slots: tuple[tuple[str, str], ...] = ()
    cast_only: bool = False

    def __post_init__(self) -> None:
        slots = dict(self.slots)
        if any(sorted(_SLOT.findall(f)) != sorted(slots) for f in self.forms):
            raise ValueError(f"rule {self.id}: both forms must hold the slots {sorted(slots)}")
        if self.cast_only and not slots:
            raise ValueError(f"rule {self.id}: cast_only needs a slot to hold the names")
        # The longer form first, so "inside of" is not found as "inside" followed by "of".
        order = sorted((0, 1), key=lambda i: len(self.forms[i]), reverse=True)
        pattern = "|".join(f"(?P<f{i}>{_form_pattern(self.forms[i], slots, i)})" for i in order)
        object.__setattr__(self, "_regex", re.compile(pattern, re.IGNORECASE))
        object.__setattr__(self, "_literals", _literals(self.forms))
        for name in ("before", "not_before"):
            if getattr(self, name):
                compiled = re.compile(f"(?:{getattr(self, name)})$", re.IGNORECASE)
                object.__setattr__(self, f"_{name}", compiled)
        for name in ("after", "not_after"):
            if getattr(self, name):
                object.__setattr__(self, f"_{name}", re.compile(getattr(self, name), re.I))

    def matches(
        self, text: str, start: int = 0, end: int | None = None, *, retry_rejected: bool = True
    ) -> Iterator[RuleMatch]:
        """Every place in text[start:end] where one of the forms stands in a safe context.

        A match that is rejected (inside a word, or in an unsafe context) may overlap one that
        is not: "Anna picks up the phone" first matches "a picks up" inside "Anna". The search
        goes on from the next character (`retry_rejected`), or, as rule versions 3 and 4 did,
        from the rejected match's end, which misses the site.
        """
        end = len(text) if end is None else end
        regex: re.Pattern[str] = self._regex  # type: ignore[attr-defined]
        position = start
        while (m := regex.search(text, position, end)) is not None:
            if self._accepts(text, m, end):
                used = 0 if m.group("f0") is not None else 1
                filled = {name: m.group(f"{name}_{used}") for name, _ in self.slots}
                forms = (_fill(self.forms[0], filled), _fill(self.forms[1], filled))
                yield RuleMatch(self, m.start(), m.end(), used, forms, tuple(filled.values()))
                position = m.end()
            else:
                position = m.start() + 1 if retry_rejected else m.end()

    def may_occur_in(self, lowered: str) -> bool:
        """False only if no match can lie in this text (given in lower case, from
        `lowered_for_rules`): neither form's fixed letters occur in it. A quick test that
        spares running the rule's regex over a short window."""
        literals: tuple[str, ...] = self._literals  # type: ignore[attr-defined]
        return not literals or any(literal in lowered for literal in literals)

    def _accepts(self, text: str, m: re.Match[str], end: int) -> bool:
        if m.group(0)[0].isalnum() and m.start() > 0 and _in_word(text[m.start() - 1]):
            return False  # the middle of a word ("Hi am"), not the word "I"
        return self._context_ok(text, m.start(), m.end(), end) and self._case_ok(m.group(0))

    def _context_ok(self, text: str, start: int, stop: int, end: int) -> bool:
        line_start = text.rfind("\n", 0, start) + 1
        left = text[max(line_start, start - MAX_CONTEXT) : start]
        if start - line_start > MAX_CONTEXT:
            left = "\x00" + left  # a cut line: '^' must not match where the cut is
        right = text[stop : min(end, stop + MAX_CONTEXT)]
        checks = (
            (getattr(self, "_before", None), left, True, re.Pattern.search),
            (getattr(self, "_not_before", None), left, False, re.Pattern.search),
            (getattr(self, "_after", None), right, True, re.Pattern.match),
            (getattr(self, "_not_after", None), right, False, re.Pattern.match),
        )
        return all(bool(find(rx, s)) is want for rx, s, want, find in checks if rx is not None)

    def _case_ok(self, matched: str) -> bool:
        return not (self.lower_only and matched[:1].isupper())


@dataclass(frozen=True)
class RuleMatch:
    rule: Rule
    start: int
    end: int
    used: int  # which of the forms the text shows
    forms: tuple[str, str]  # the rule's forms, slots filled with what stands here
    filled: tuple[str, ...] = ()  # what each slot holds here


def _form_pattern(form: str, slots: dict[str, str], which: int) -> str:
    """Regex for one spelling: any apostrophe, any run of spaces, slots by their pattern
    (as groups named `{slot}_{which}`), whole words only."""
    parts = []
    for i, piece in enumerate(_SLOT.split(form)):
        if i % 2:
            parts.append(f"(?P<{piece}_{which}>{slots[piece]})")
            continue
        for ch in piece:
            if ch in _APOSTROPHES:
                parts.append(f"[{_APOSTROPHES}]")
            elif ch == " ":
                parts.append("[ \t]+")
            else:
                parts.append(re.escape(ch))
    # No look-behind at the start: a pattern that opens with a literal is found by a fast
    # prefix search. The word boundary before it is checked by `matches` instead.
    # A clitic may follow ("Someone's" holds the word "Someone"), but never more letters
    # ("don" is not a word of "don't").
    ends_in_word = form[-1].isalnum() or form.endswith("}")
    tail = r"(?!\w|['’](?![sS]\b))" if ends_in_word else ""
    return "".join(parts) + tail


def _literals(forms: tuple[str, str]) -> tuple[str, ...]:
    """The longest run of each form that its pattern matches letter for letter (lower
    case), or () when a form has none: then every text may hold a match."""
    found = []
    for form in forms:
        runs = re.split(rf"[ {_APOSTROPHES}]+", " ".join(_SLOT.split(form)[::2]))
        longest = max(runs, key=len)
        if not longest or not longest.isascii():
            return ()
        found.append(longest.lower())
    return tuple(found)


# Letters that re.IGNORECASE matches to an ASCII one whose str.lower() is not that
# letter ("İ" lowers to two code points).
_FOLDS_TO_ASCII = frozenset("ıſİ")


def lowered_for_rules(text: str) -> str | None:
    """`text` lower-cased for `Rule.may_occur_in`, or None where the quick test could
    miss a match (a letter that only the regex folds to ASCII)."""
    if not _FOLDS_TO_ASCII.isdisjoint(text):
        return None
    return text.lower()


def _fill(form: str, slots: dict[str, str]) -> str:
    return _SLOT.sub(lambda slot: slots[slot[1]], form)


def _in_word(ch: str) -> bool:
    return ch.isalnum() or ch in _APOSTROPHES or ch == "_"


_FIXED_CASE = frozenset({"OK"})  # spellings whose capitals say nothing about the sentence


def match_case(
    form: str,
    shown: str,
    *,
    apostrophe: str = "'",
    sentence_start: bool = False,
    shouting: bool = False,
) -> str:
    """`form` written as the text it replaces (`shown`) is written: in capitals when the line
    shouts, capitalised at a sentence start or where `shown` is, with the document's
    apostrophe."""
    out = form.replace("'", apostrophe)
    fixed = shown.upper() in _FIXED_CASE
    letters = [c for c in shown if c.isalpha()]
    if shouting or (len(letters) > 1 and not fixed and all(c.isupper() for c in letters)):
        return out.upper()
    if out in _FIXED_CASE:
        return out
    if sentence_start or (letters and letters[0].isupper() and not fixed):
        return _capitalise(out)
    return out


def _capitalise(text: str) -> str:
    for i, c in enumerate(text):
        if c.isalpha():
            return text[:i] + c.upper() + text[i + 1 :]
    return text
