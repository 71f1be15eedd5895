"""Canary sites in screenplays (watermark/script/): where copies may differ, and that two
recipients' copies differ only there, with the same pages."""

from __future__ import annotations

from itertools import pairwise, product
from pathlib import Path

import numpy as np
import pytest

from watermark import TardosCode, WatermarkError
from watermark.script import (
    find_sites,
    find_wraps,
    lay_out,
    mark_script,
    render_pdf,
    rewrite,
    site_count,
)
from watermark.script.fountain import Kind, parse
from watermark.script.variants import rule_set

FIXTURES = Path(__file__).parent / "fixtures"
KEY = b"script test key"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def copies(text: str, users: range) -> list[str]:
    code = TardosCode.generate(KEY, site_count(text), 2, bias="uniform")
    return [mark_script(text, code.codeword(j), KEY) for j in users]


def spelled_as_master(copy: str, master: str) -> str:
    """The copy with every word site spelled the master's way (its line breaks kept)."""
    return rewrite(copy, find_sites(copy), [s.used for s in find_sites(master)])


def line_breaks(back: str, master: str) -> tuple[str, list[int]]:
    """`back` (a copy spelled as the master; single spaces, so offsets agree) with every
    planned line break made the master's space again, and the option each wrap site shows."""
    wraps = find_wraps(master)
    chars = list(back)
    for start, _ in wraps.fixed:
        assert back[start] == "\n"
        chars[start] = master[start]
    options = []
    for site in wraps.sites:
        shown = [back[start] for start, _ in site.gaps]
        assert sorted(shown) == ["\n"] + [" "] * (len(shown) - 1)  # one break per site
        options.append(shown.index("\n"))
        for start, _ in site.gaps:
            chars[start] = " "
    return "".join(chars), options


def test_parser_classifies_every_kind_of_line() -> None:
    text = (
        "Title: X\nAuthor: Y\n\n"
        "INT. FLAT - DAY\n\nShe waits.\n\nANNA\n(quietly)\nI do not know.\n\n"
        "CUT TO:\n\n> THE END <\n\n# Act two\n\n= A synopsis\n\n~Lyrics here\n\n===\n\n"
        ".FORCED HEADING\n\n!FORCED ACTION IN CAPS\n\n@McCLANE\nYippee.\n"
    )
    kinds = [(e.kind, e.text) for e in parse(text)]
    assert kinds == [
        (Kind.TITLE, "Title: X"),
        (Kind.TITLE, "Author: Y"),
        (Kind.HEADING, "INT. FLAT - DAY"),
        (Kind.ACTION, "She waits."),
        (Kind.CHARACTER, "ANNA"),
        (Kind.PARENTHETICAL, "(quietly)"),
        (Kind.DIALOGUE, "I do not know."),
        (Kind.TRANSITION, "CUT TO:"),
        (Kind.CENTERED, " THE END "),
        (Kind.SECTION, "# Act two"),
        (Kind.SYNOPSIS, " A synopsis"),
        (Kind.LYRICS, "Lyrics here"),
        (Kind.PAGE_BREAK, "==="),
        (Kind.HEADING, "FORCED HEADING"),
        (Kind.ACTION, "FORCED ACTION IN CAPS"),
        (Kind.CHARACTER, "McCLANE"),
        (Kind.DIALOGUE, "Yippee."),
    ]
    for e in parse(text):  # offsets point into the original text
        assert text[e.start : e.end] == e.text


def test_sites_only_in_action_and_dialogue() -> None:
    # Every line but the action and dialogue holds text a rule would take.
    text = (
        "Title: I do not know\n\n"
        "INT. I DO NOT KNOW - DAY\n\n"
        "He does not move.\n\n"
        "I DO NOT KNOW\n(I do not know)\nI do not know that.\n\n"
        "[[I do not know]]\n\n"
        "/* I do not know\nI do not know */\n\n"
        "I DO NOT KNOW TO:\n\n"
        "> I do not know <\n\n"
        "= I do not know\n"
    )
    sites = find_sites(text)
    shown = [(s.rule, s.shown) for s in sites]
    assert shown == [("contraction.does-not", "does not"), ("contraction.do-not", "do not")]
    assert text[sites[1].start - 2 : sites[1].end] == "I do not"
    assert text.count("I do not know that.") == 1  # the one in dialogue


@pytest.mark.parametrize(
    ("line", "rule", "forms"),
    [
        ("I'm going with you.", "contraction.i-am", ("I am", "I'm")),
        ("Don't move.", "contraction.do-not", ("Do not", "Don't")),
        ("DON'T MOVE!", "contraction.do-not", ("DO NOT", "DON'T")),
        ("Somebody lied.", "synonym.someone", ("Someone", "Somebody")),
        ("No one saw us.", "synonym.no-one", ("No one", "Nobody")),
        ("Well, I tried.", "comma.after-well", ("Well,", "Well")),
        ("Me too.", "comma.too", (", too", " too")),
        ("I think he's lying.", "phrasing.think-that", ("think that", "think")),
        ("OK. Fine.", "spelling.okay", ("Okay", "OK")),
        ("It’s late.", "contraction.it-is", ("It is", "It’s")),
        ("Everything's fine.", "contraction.everything-is", (" is", "'s")),
        ("Somebody's coming.", "contraction.everything-is", (" is", "'s")),
        ("The car is outside.", "contraction.noun-is", (" is", "'s")),
        ("Dad's not home.", "contraction.noun-is", (" is", "'s")),
        ("Nothing's been touched.", "contraction.everything-has", (" has", "'s")),
        ("Who'll drive?", "contraction.who-will", ("Who will", "Who'll")),
        ("It'd be nice.", "contraction.it-would", ("It would", "It'd")),
        ("A lot of money.", "synonym.a-lot-of", ("A lot of", "Lots of")),
        ("I'm a bit tired.", "synonym.a-little", ("a little", "a bit")),
        ("The guy who called lied.", "synonym.who-that", ("who", "that")),
        ("I see you're busy.", "phrasing.see-that", ("see that", "see")),
        ("I think there's time.", "phrasing.think-that", ("think that", "think")),
        ("Ask whether or not he knew.", "phrasing.whether-or-not", ("whether or not", "whether")),
        ("Why all this?", "phrasing.all-of-this", ("all of this", "all this")),
        ("It's inside the car.", "phrasing.inside-of", ("inside of", "inside")),
    ],
)
def test_rule_forms_keep_case_and_apostrophe(line: str, rule: str, forms: tuple) -> None:
    sites = [s for s in find_sites(f"ANNA\n{line}\n") if s.rule == rule]
    assert len(sites) == 1
    assert sites[0].forms == forms


@pytest.mark.parametrize(
    ("line", "phrase"),
    [
        ("Yes, I am.", "I am"),  # a stressed auxiliary at a clause end never contracts
        ("Don't you dare.", "Don't"),  # no 'Do not you dare'
        ("I know who you are now.", "you are"),  # an embedded question stresses its verb
        ("That's very kind of you.", "kind of"),  # the adjective, not the hedge
        ("Start to finish, it took a year.", "Start"),
        ("Well done.", "Well"),
        ("What is it?", "What is"),
        # Dialect must not be corrected by a copy.
        ("There's ladies present.", "There's"),
        ("Where's my keys?", "Where's"),
        ("I don't got any batteries!", "don't"),
        ("He don't know.", "don't"),
        ("I doesn't care.", "doesn't"),
        ("We wasn't there.", "wasn't"),
        ("It weren't me.", "weren't"),
        ("I don't know nothing.", "don't"),
        ("I can't get no sleep.", "can't"),
        # 's as has, or as a possessive, never becomes "is".
        ("He's changed.", "He's"),
        ("It's happened again.", "It's"),
        ("She's left the door open.", "She's"),
        ("It's nobody's fault.", "'s fault"),
        ("The car's engine is dead.", "'s engine"),
        ("Somebody's phone is ringing.", "'s phone"),
        ("The rest is history.", " is"),  # "the rest's" reads badly
        # Coordination, adjectives and clauses that only look like a variant.
        ("Both my wife and daughter know.", "Both my"),
        ("She was a little girl.", "a little"),
        ("That's quite a lot of money.", "a lot of"),
        ("I told someone that Marcus lied.", "that"),
        ("Did you tell anyone who took it?", "who"),
        ("You've got a lot of nerve.", "a lot of"),
        ("Is it all that bad?", "all that"),
    ],
)
def test_unsafe_contexts_are_not_sites(line: str, phrase: str) -> None:
    text = f"ANNA\n{line}\n"
    start = text.index(phrase)
    end = start + len(phrase)
    assert [s for s in find_sites(text) if s.start < end and s.end > start] == []


def test_rules_that_belong_to_action_or_dialogue_stay_there() -> None:
    text = (
        "INT. FLAT - DAY\n\nShe crosses over to the window. The car is outside.\n\n"
        "ANNA\nThe car is outside. I crosses over to the window.\n"
    )
    sites = find_sites(text)
    kinds = {s.start: e.kind for s in sites for e in parse(text) if e.start <= s.start < e.end}
    rules = [(s.rule, kinds[s.start]) for s in sites]
    assert ("phrasing.crosses-over-to", Kind.ACTION) in rules
    assert ("contraction.noun-is", Kind.DIALOGUE) in rules
    assert ("phrasing.crosses-over-to", Kind.DIALOGUE) not in rules
    assert ("contraction.noun-is", Kind.ACTION) not in rules


NEW_KINDS = (
    "INT. FLAT - NIGHT\n\nMarcus crosses over to the window. He sits down. Anna walks to "
    "the door.\n\n"
    "ANNA\nSomeone is coming. Everything's fine, the car is outside and Dad's not home.\n\n"
    "MARCUS\nNothing's been touched. Who'll drive? It'd be nice to know.\n\n"
    "ANNA\nLots of money, and I'm a little tired. The guy who called said that he's "
    "lying. Ask whether he knew. Why all this? It's inside of the car. I see there's time.\n"
)


def test_new_rule_kinds_keep_copies_site_for_site() -> None:
    sites = find_sites(NEW_KINDS)
    assert len(sites) >= 18
    # Adjacent sites ("Someone" + " is") are both sites, and each copy has the same ones.
    assert [s.rule for s in sites[:2]] == ["phrasing.crosses-over-to", "phrasing.sits-down"]
    assert {"synonym.someone", "contraction.everything-is"} <= {s.rule for s in sites}
    for copy in copies(NEW_KINDS, range(6)):
        found = find_sites(copy)
        assert [s.rule for s in found] == [s.rule for s in sites]
        assert line_breaks(spelled_as_master(copy, NEW_KINDS), NEW_KINDS)[0] == NEW_KINDS
    everyone = rewrite(NEW_KINDS, sites, [1 - s.used for s in sites])
    assert [s.rule for s in find_sites(everyone)] == [s.rule for s in sites]
    assert "Somebody's coming" in everyone and "the car's outside" in everyone


ACTION = "INT. FLAT - NIGHT\n\n{}\n"
DIALOGUE = "ANNA\n{}\n"


@pytest.mark.parametrize(
    ("block", "line", "rule", "forms"),
    [
        (ACTION, "Marcus picks up the phone.", "order.pick-up", ("up the phone", "the phone up")),
        (ACTION, "She puts the GLASS down.", "order.put-down",
         ("down the GLASS", "the GLASS down")),
        (ACTION, "He takes off his coat and hangs it up.", "order.take-off",
         ("off his coat", "his coat off")),
        (ACTION, "They pick up the bags.", "order.pick-up", ("up the bags", "the bags up")),
        (ACTION, "After a moment, he follows.", "comma.after-opening-phrase",
         ("moment,", "moment")),
        (ACTION, "In the distance a siren wails.", "comma.after-opening-phrase",
         ("distance,", "distance")),
        (DIALOGUE, "For a second, I thought you were dead.", "comma.after-opening-phrase",
         ("second,", "second")),
        (DIALOGUE, "Later we talk.", "comma.after-later", ("Later,", "Later")),
    ],
)  # fmt: skip
def test_word_order_and_opening_phrase_sites(
    block: str, line: str, rule: str, forms: tuple
) -> None:
    text = block.format(line)
    sites = [s for s in find_sites(text) if s.rule == rule]
    assert len(sites) == 1
    assert sites[0].forms == forms
    # The other spelling is found again as the same site: marking never loses a site.
    swapped = rewrite(text, sites, [1 - sites[0].used])
    assert [(s.rule, s.forms) for s in find_sites(swapped) if s.rule == rule] == [(rule, forms)]


@pytest.mark.parametrize(
    ("block", "line", "phrase"),
    [
        (ACTION, "He picks it up.", "it up"),  # a pronoun object has one place only
        (ACTION, "She turns off the road.", "off the road"),  # a preposition, not a particle
        (ACTION, "The car pulls out the driveway.", "out the driveway"),
        (ACTION, "He picks up the gun and the phone.", "up the gun"),  # two objects
        (ACTION, "He picks up the gun and bullets.", "up the gun"),
        (ACTION, "He puts down the phone receiver.", "down the phone"),  # a heavy object
        (DIALOGUE, "Pick up the phone.", "up the phone"),  # an order is performed as written
        (ACTION, "In the middle of the night, the phone rings.", "night,"),  # too long
        (ACTION, "After eating the dog sleeps.", "eating"),  # a garden path without the comma
        (DIALOGUE, "Later that night we talk.", "Later"),
        (DIALOGUE, "First thing tomorrow.", "First"),
    ],
)
def test_unsafe_word_orders_and_opening_phrases_are_not_sites(
    block: str, line: str, phrase: str
) -> None:
    text = block.format(line)
    start = text.index(phrase)
    end = start + len(phrase)
    assert [s for s in find_sites(text) if s.start < end and s.end > start] == []


# The cast's cues come first: the name-order rule swaps only names the script gives cues.
CAST = "INT. FLAT - NIGHT\n\nMARCUS\nHello.\n\nANNA\nHi.\n\nFELIX\nHey.\n\nOLD MAN\nYes.\n\n{}\n"
CAST_SPEECH = CAST.replace("{}", "ANNA\n{}")


@pytest.mark.parametrize(
    ("block", "line", "rule", "forms"),
    [
        (CAST, "Marcus and Anna face each other.", "order.two-names",
         ("Marcus and Anna", "Anna and Marcus")),
        (CAST, "She hugs Marcus and Felix.", "order.two-names",
         ("Marcus and Felix", "Felix and Marcus")),
        (CAST, "MARCUS and ANNA watch the door.", "order.two-names",
         ("MARCUS and ANNA", "ANNA and MARCUS")),
        (ACTION, "Then the door opens.", "comma.after-then", ("Then,", "Then")),
        (DIALOGUE, "Tonight, we finish it.", "comma.after-tonight", ("Tonight,", "Tonight")),
        (ACTION, "Nearby a dog barks.", "comma.after-nearby", ("Nearby,", "Nearby")),
        (ACTION, "Outside they wait.", "comma.after-outside", ("Outside,", "Outside")),
        # Versions 3 and 4 missed it: "a picks up" inside "Anna" was rejected and hid it.
        (ACTION, "Anna picks up the phone.", "order.pick-up", ("up the phone", "the phone up")),
    ],
)  # fmt: skip
def test_version_5_sites(block: str, line: str, rule: str, forms: tuple) -> None:
    text = block.format(line)
    sites = [s for s in find_sites(text) if s.rule == rule]
    assert [s.forms for s in sites] == [forms]
    assert [s.rule for s in find_sites(text, "4") if s.rule == rule] == []
    # The other spelling is the same site (a swap of names shows its two orders reversed).
    swapped = rewrite(text, sites, [1 - sites[0].used])
    again = [s for s in find_sites(swapped) if s.rule == rule]
    assert len(again) == 1 and set(again[0].forms) == set(forms)
    assert again[0].shown == forms[1 - sites[0].used]


@pytest.mark.parametrize(
    ("block", "line", "phrase"),
    [
        (CAST, "Anna hands the gun to Marcus and Felix nods.", "Marcus and Felix"),  # a clause
        (CAST, "Anna gives it to Marcus and Felix just smiles.", "Marcus and Felix"),
        (CAST, "Anna waves at Marcus and Felix will follow.", "Marcus and Felix"),
        (CAST, "Detective Marcus and Anna enter.", "Marcus and Anna"),  # a title
        (CAST, "Marcus and Anna's flat is dark.", "Marcus and Anna"),  # joint possession
        (CAST, "Marcus and Anna Smith arrive.", "Marcus and Anna"),  # a surname
        (CAST, "Smith and Wesson on the table.", "Smith and Wesson"),  # not the cast
        (CAST, "The old Man and Anna wait.", "Man and Anna"),  # a two-word cue is no name
        (CAST_SPEECH, "Marcus and Anna left.", "Marcus and Anna"),  # dialogue is performed
        (ACTION, "Then why stay?", "Then"),
        (DIALOGUE, "Then you're scared.", "Then"),  # "in that case", in dialogue
        (ACTION, "Outside the car waits.", "Outside"),  # a preposition: a garden path
    ],
)  # fmt: skip
def test_unsafe_version_5_sites_are_not_taken(block: str, line: str, phrase: str) -> None:
    text = block.format(line)
    start = text.index(phrase)
    end = start + len(phrase)
    taken = {s.rule for s in find_sites(text) if s.start < end and s.end > start}
    assert not {r for r in taken if r not in {r.id for r in rule_set("4")}}, taken


@pytest.mark.parametrize(
    "line",
    [
        "He hands it to Marcus and Anna, and they leave.",  # "they" may be the second
        "He gives it to Marcus and Anna, who laughs.",
        "The box next to Marcus and Anna doesn't move.",  # the second name's predicate
        "The car behind Marcus and Anna had stopped.",
        "He waves to Marcus and Anna also nods.",
        "They bow to Marcus and Anna, in that order.",  # the order is the point
        "They bow to Marcus and Anna. In that order.",
        "He waves to Marcus and Anna -- in that order.",
        "He waves to Marcus and Anna; they wave back.",
        "Marcus and Anna enter one after the other.",
        "Marcus and Anna speak in turn.",
        "Marcus and Anna arrive as husband and wife.",
        "Marcus and Anna stand up, the former smiling.",
        "Marcus and Anna look up first at him and then at her.",
        "Marcus and Anna take the pills respectively.",
        "Marcus and Anna enter the room in that order.",
        "Marcus and Anna leave one after another.",
        "Marcus and Anna take the left and right doors.",
        "Marcus and Anna play boyfriend and girlfriend.",
        "Marcus and Anna nod, the former first.",
    ],
)
def test_version_6_name_order_is_stricter(line: str) -> None:
    text = CAST.format(line)
    assert "order.two-names" in {s.rule for s in find_sites(text, "5")}  # what v6 fixes
    assert "order.two-names" not in {s.rule for s in find_sites(text, "6")}


@pytest.mark.parametrize(
    ("line", "unstable_in_5"),
    [
        ("Meanwhile, Marcus and Anna run to the car.", True),  # the comma lets names swap
        ("Meanwhile Marcus and Anna run to the car.", True),
        ("Tonight, Marcus and Anna eat. Then the door opens.", False),
        ("Outside, Marcus and Anna wait. Anna picks up the phone.", False),
        ("Dad's not home, and Marcus and Felix know it.", False),
        # Two shorter spellings further back once moved "what" into the guard's view.
        ("I know what the guys at work and all of the kids say about us although Dad "
         "thinks everything is fine.", True),
    ],
)  # fmt: skip
def test_version_6_every_copy_has_the_masters_sites(line: str, unstable_in_5: bool) -> None:
    text = CAST.format(line)

    def unstable_copies(version: str) -> int:
        sites = find_sites(text, version)
        rules = [s.rule for s in sites]
        copies = (rewrite(text, sites, forms) for forms in product((0, 1), repeat=len(sites)))
        return sum([s.rule for s in find_sites(copy, version)] != rules for copy in copies)

    assert (unstable_copies("5") > 0) is unstable_in_5
    assert unstable_copies("6") == 0


# Where copies may differ, per rules version. A change to the rules or to the line plan
# changes the fingerprint: bump RULES_VERSION (watermark/script/variants.py) and add it here,
# so that copies made under an older version are never read with the new rules.
PINNED_RULES = {
    "3": "8d976dae6b838dd02334cff6f29bc558bc9de6e8c9b3e15da06735d9bef36a34",
    "4": "90e99d8a69ecd7ed741344f25105b8202718b05550fcdfc68e07310b9cb39cfa",
    "5": "da6ab3b297a0607858813ffe5c5b1504a169a80d17cfb493d62609817337459e",
    "6": "ff1a510b1831b63ceba4aae5c7d6e6971ef9fe0a519cd024e4a45573012eea09",
}

VECTOR_MASTER = (
    "INT. FLAT - NIGHT\n\nMarcus crosses over to the window and looks down at the street for "
    "a long time, then he sits down. Nobody is out there and the rain does not stop.\n\n"
    "ANNA\nI do not think that anyone is coming. We have waited all of the night, and "
    "nobody came. Well, I am going to bed.\n"
)
# The copies of recipients 0 and 5 (key b"test vector"), byte for byte.
VECTOR_COPIES = {
    0: "INT. FLAT - NIGHT\n\nMarcus crosses to the window and looks down at\nthe street for a "
    "long time, then he sits. Nobody is out\nthere and the rain does not stop.\n\nANNA\nI "
    "don't think that anyone is\ncoming. We've waited all the\nnight, and no one came. "
    "Well, I am\ngoing to bed.\n",
    5: "INT. FLAT - NIGHT\n\nMarcus crosses over to the window and looks down at the\nstreet "
    "for a long time, then he sits down. No one's out\nthere and the rain does not stop.\n\n"
    "ANNA\nI don't think that anyone's\ncoming. We have waited all the\nnight, and no one "
    "came. Well,\nI'm going to bed.\n",
}


def test_rules_are_pinned_to_their_version() -> None:
    from watermark.script import RULE_SETS, RULES_VERSION, rules_fingerprint

    assert rules_fingerprint() == PINNED_RULES[RULES_VERSION], (
        "the rules or the line plan changed: bump RULES_VERSION and pin the new fingerprint"
    )
    # Every older version is still known, exactly as it was: its copies stay traceable.
    assert set(RULE_SETS) == set(PINNED_RULES)
    for version, pinned in PINNED_RULES.items():
        assert rules_fingerprint(version) == pinned, f"rules version {version} changed"


def test_copies_match_the_test_vectors() -> None:
    code = TardosCode.generate(b"test vector", site_count(VECTOR_MASTER), 2, bias="uniform")
    assert site_count(VECTOR_MASTER) == 18
    for user, expected in VECTOR_COPIES.items():
        assert mark_script(VECTOR_MASTER, code.codeword(user), b"test vector") == expected


def test_copies_differ_only_at_sites_and_deterministically() -> None:
    master = fixture("safehouse.fountain")
    sites = find_sites(master)
    wraps = find_wraps(master)
    assert len(wraps.sites) >= 8 and wraps.fixed and 0 < wraps.deep < len(wraps.sites)
    a, b = copies(master, range(2))
    assert copies(master, range(2)) == [a, b]
    assert a != b != master
    # Outside the sites, both copies are the master, byte for byte: spelling each word site
    # the master's way and undoing the printed line breaks gives the master back.
    wrap_forms = []
    for copy in (a, b):
        found = find_sites(copy)
        assert [s.rule for s in found] == [s.rule for s in sites]
        restored, forms = line_breaks(spelled_as_master(copy, master), master)
        assert restored == master
        wrap_forms.append(forms)
        changed = sum(x.used != y.used for x, y in zip(found, sites, strict=True))
        assert 0.2 * len(sites) < changed < 0.8 * len(sites)
    moved = sum(x != y for x, y in zip(*wrap_forms, strict=True))
    assert 0.2 * len(wraps.sites) < moved < 0.9 * len(wraps.sites)
    assert {0, 1, 2} <= set(wrap_forms[0]) | set(wrap_forms[1])


def test_wrap_sites_keep_lines_full_and_never_change_an_element() -> None:
    master = fixture("safehouse.fountain") + "\n" + fixture("rooftop.fountain")
    kinds = [e.kind for e in parse(master)]
    for copy in copies(master, range(4)):
        for line in (ln for page in lay_out(copy).pages for ln in page if ln.text):
            assert len(line.text) <= 60
        # Every printed line of a paragraph is still that paragraph's kind: no line of a
        # copy opens like a heading, a transition or a parenthetical.
        copy_kinds = [e.kind for e in parse(copy)]
        squeezed = [k for i, k in enumerate(copy_kinds) if i == 0 or k is not copy_kinds[i - 1]]
        assert squeezed == [k for i, k in enumerate(kinds) if i == 0 or k is not kinds[i - 1]]
    text = "ANNA\nThe guard looks at me and I say nothing at all (quietly) because we know.\n"
    # An action paragraph in capitals keeps its one line: printed as two, its first line
    # would read as a character cue.
    shout = (
        "INT. YARD - DAY\n\nTHE TRUCK SMASHES THROUGH THE GATE, FLATTENS TWO CARS AND STOPS.\n\n"
    )
    (copy,) = copies(shout + NEW_KINDS, range(1))
    assert [e.kind for e in parse(copy)][:3] == [Kind.HEADING, Kind.ACTION, Kind.HEADING]
    assert shout.splitlines()[2] in copy.splitlines()
    # Nor does a line of dialogue that opens with "(": cut after its ")", its first line
    # would print as a parenthetical.
    aside = (
        "INT. ROOM - DAY\n\nBOB\n(quietly, to himself and to all) I never liked him, you know.\n\n"
    )
    (copy,) = copies(aside + NEW_KINDS, range(1))
    assert [e.kind for e in parse(copy)][:3] == [Kind.HEADING, Kind.CHARACTER, Kind.DIALOGUE]
    assert aside.splitlines()[3] in copy.splitlines()
    # No line of dialogue may open with "(": it would print as a parenthetical.
    openers = [text[gap[1]] for site in find_wraps(text).sites for gap in site.gaps[1:]]
    assert openers and "(" not in openers


def test_a_paragraph_longer_than_a_page_still_breaks_across_pages() -> None:
    from watermark.script.layout import LINES_PER_PAGE

    # A speech typed with a line break after every sentence, 80 printed lines long.
    speech = "\n".join(f"Line {n}: I do not know where he is going now." for n in range(80))
    master = f"INT. HALL - NIGHT\n\nANNA\n{speech}\n\n" + NEW_KINDS
    pages = lay_out(master).pages
    assert len(pages) > 2 and all(len(page) <= LINES_PER_PAGE for page in pages)
    lines = {tuple(len(page) for page in lay_out(c).pages) for c in copies(master, range(3))}
    assert len(lines) == 1 and len(next(iter(lines))) == len(pages)
    assert max(next(iter(lines))) <= LINES_PER_PAGE


def test_copies_have_the_same_sites_and_pages() -> None:
    master = fixture("safehouse.fountain") + "\n" + fixture("rooftop.fountain")
    rules = [s.rule for s in find_sites(master)]
    layout = lay_out(master)
    pages = [master[a:b].split() for a, b in pairwise(layout.page_starts)]
    for copy in copies(master, range(6)):
        assert [s.rule for s in find_sites(copy)] == rules
        back = spelled_as_master(copy, master)
        starts = lay_out(back).page_starts
        assert len(starts) == len(layout.page_starts) == len(lay_out(copy).page_starts)
        # Each page holds the master's words for that page, in every copy.
        assert [back[a:b].split() for a, b in pairwise(starts)] == pages


def test_pdf_page_count_does_not_depend_on_the_variants() -> None:
    from io import BytesIO

    from pypdf import PdfReader

    master = "\n".join(fixture("safehouse.fountain") for _ in range(6))
    counts = {
        len(PdfReader(BytesIO(render_pdf(c, recipient="A B", copy_id="C-1"))).pages)
        for c in [master, *copies(master, range(4))]
    }
    assert len(counts) == 1


def test_cues_print_as_a_reader_expects() -> None:
    # Extensions in capitals, a forced cue's own case, no dual-dialogue mark.
    master = (
        "INT. HALL - NIGHT\n\nANNA (cont'd) ^\nWell.\n\n@McCLANE\nYippee.\n\nNADIA (V.O.)^\nHere.\n"
    )
    elements = parse(master)
    lines = [line for page in lay_out(master).pages for line in page if line.element >= 0]
    cues = [line.text for line in lines if elements[line.element].kind is Kind.CHARACTER]
    assert cues == ["ANNA (CONT'D)", "McCLANE", "NADIA (V.O.)"]
    assert not any("^" in cue for cue in cues)


def test_a_script_with_no_sites_cannot_be_marked() -> None:
    text = "INT. ROOM - DAY\n\nSilence.\n\nANNA\nHello.\n"
    assert find_sites(text) == []
    with pytest.raises(WatermarkError, match="no sites"):
        mark_script(text, np.ones(8, dtype=np.uint8), KEY)


def test_uniform_bias_code_for_text() -> None:
    code = TardosCode.generate(KEY, 400, 2, bias="uniform")
    assert np.all(code.p == 0.5)
    assert 150 < code.codeword(1).sum() < 250
    with pytest.raises(WatermarkError):
        TardosCode.generate(KEY, 10, 2, bias="beta")


def test_a_rule_whose_forms_hold_different_slots_is_refused() -> None:
    from watermark.script.rules import Rule

    with pytest.raises(ValueError, match="slots"):
        Rule("order.bad", "order", ("up {object}", "up"), "", slots=(("object", "[a-z]+"),))


def test_the_quick_test_skips_a_rule_only_where_its_regex_cannot_match() -> None:
    from watermark.script.rules import Rule, lowered_for_rules

    sofa = Rule("synonym.sofa", "synonym", ("sofa", "couch"), "")
    name = "[A-Z][a-z]+"
    names = Rule(
        "order.n", "order", ("{a} and {b}", "{b} and {a}"), "", slots=(("a", name), ("b", name))
    )
    only_slot = Rule("order.o", "order", ("{a}", "{a}!"), "", slots=(("a", "[a-z]+"),))
    for text in ("He sits on the COUCH.", "He sits on the chair.", "Anna AND Marcus", "hi"):
        lowered = lowered_for_rules(text)
        assert lowered is not None
        for rule in (sofa, names, only_slot):
            assert rule.may_occur_in(lowered) or not list(rule.matches(text)), (rule.id, text)
    assert not sofa.may_occur_in(lowered_for_rules("He sits on the chair."))
    # The regex folds "ſ" to "s" (and "ı" to "i") where lower() does not: no quick test.
    assert lowered_for_rules("He sits on the ſofa.") is None
    assert list(sofa.matches("He sits on the ſofa."))


def test_a_letter_the_regex_folds_to_ascii_but_lower_does_not_turns_the_quick_test_off() -> None:
    import re
    import string

    from watermark.script.rules import lowered_for_rules

    folds_apart = {
        ch
        for ch in map(chr, range(0x80, 0x30000))
        for ascii_ch in string.ascii_lowercase
        if ch.lower() != ascii_ch and re.fullmatch(ascii_ch, ch, re.IGNORECASE)
    }
    assert folds_apart  # Python's re has such letters: "ı", "ſ", "İ"
    for ch in folds_apart:
        assert lowered_for_rules(f"kind of {ch}") is None, repr(ch)
    # "İ" lowers to "i" and a combining dot: a lower-cased "kind" would be missed.
    retyped = "INT. FLAT - NIGHT\n\nMARCUS\nIT'S KİND OF LATE.\n"
    assert any(site.rule == "synonym.kind-of" for site in find_sites(retyped, "5"))


@pytest.mark.parametrize("name", ["rooftop.fountain", "safehouse.fountain"])
def test_version_6_random_copies_of_a_scene_have_the_masters_sites(name: str) -> None:
    text = fixture(name)
    sites = find_sites(text, "6")
    rng = np.random.default_rng(6)
    for _ in range(12):
        copy = rewrite(text, sites, rng.integers(0, 2, len(sites)).tolist())
        assert [s.rule for s in find_sites(copy, "6")] == [s.rule for s in sites]
