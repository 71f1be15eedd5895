"""The curated list of canary variants: every pair of spellings a copy may switch, and why
the switch is safe. Review this file, not the code, to know what a recipient's copy can
differ in.

Principles:
- Neither meaning nor register changes: only pairs a careful reader takes as the same
  line ("don't" / "do not", "somebody" / "someone"); no synonym that shifts tone (maybe /
  perhaps), no change a line could be performed differently for.
- Context is judged outside the two spellings only, so both spellings find the same site.
- Word-level differences survive retyping and OCR; commas are kept for their number but
  are read with less confidence from OCR (see `RELIABILITY`).
- Order matters: when two rules claim overlapping text, the earlier one wins, so the rules
  that change words come before the comma rules that might share their text.
"""

from __future__ import annotations

from watermark.script.rules import Rule

__all__ = ["RELIABILITY", "RULES"]

# How far a reading of each kind can be trusted, per way the text was obtained. A word
# swap ("someone" / "somebody") is hard for OCR or a typist to fake; a comma is easily lost.
RELIABILITY: dict[str, dict[str, float]] = {
    "text": {"contraction": 1.0, "synonym": 1.0, "spelling": 1.0, "phrasing": 1.0, "comma": 0.8},
    "ocr": {"contraction": 0.9, "synonym": 0.9, "spelling": 0.8, "phrasing": 0.9, "comma": 0.5},
}

# --- shared context ---------------------------------------------------------------------------

_WORD_NEXT = r"[ \t]+[a-z]"  # a word follows: the auxiliary is not stressed at a clause end
_SUBJECT = r"(?:i|you|he|she|it|we|they|there)\b"
# An embedded question or comparison stresses its verb: "I know who you are now", never
# "who you're now"; "taller than he is".
_EMBEDDED = r"\b(?:who|what|where|how|than|as|whoever|whatever|wherever|which)[ \t]+"
_SENTENCE_START = r"(?:^[ \t(\"“]*|[.!?][\"'’”)]*[ \t]+[(\"“]?)"
_CLAUSE_VERB = (
    r"(?:['’](?:m|re|s|ll|d|ve)\b|[ \t]+(?:am|is|are|was|were|will|would|can|could|should|"
    r"might|must|may|do|does|did|don['’]t|doesn['’]t|didn['’]t|can['’]t|won['’]t|wasn['’]t|"
    r"isn['’]t|have|has|had|never|just|really|always|still|already|only|even|also|"
    r"need|needs|want|wants|know|knows|think|thinks|got|like|love|said|told|saw|made)\b)"
)
# A clause follows: subject pronoun and a verb ("he's", "you never"), so an optional
# "that" or a comma before it joins two clauses and nothing else.
_CLAUSE = r"[ \t]+(?:i|you|he|she|it|we|they)" + _CLAUSE_VERB

# 's before been/got is "has"; "What is it?" does not shorten to "What's it?".
_NOT_IS = r"[ \t]+(?:been|got|gotten|had)\b|[ \t]+(?:it|that|this|he|she|they|you|i|we)[ \t]*[?.!,]"

_PARTICIPLES = (
    "been|got|gotten|seen|done|had|heard|told|known|made|found|given|taken|lost|tried|"
    "wanted|waited|changed|decided|never|always|already|just|ever|come|gone|said|met|left|"
    "thought|forgotten|finished|killed|started|missed|noticed|read|written|spoken"
)
_BASE_VERBS = (
    "like|love|rather|be|have|say|do|go|think|want|kill|hate|give|take|know|tell|bet|"
    "need|help|feel|get|make|see|ask|let|try|stay|leave|come|call|die|put"
)
_HAD_PARTICIPLES = "been|better|seen|gotten|forgotten|known|heard|told|lost|left|met"


def _contractions() -> list[Rule]:
    rules: list[Rule] = []

    def pronoun(aux: str, short: str, subjects: str, after: str, note: str) -> None:
        for subject in subjects.split():
            rules.append(
                Rule(
                    id=f"contraction.{subject.lower()}-{aux}",
                    kind="contraction",
                    forms=(f"{subject} {aux}", f"{subject}{short}"),
                    note=note,
                    after=after,
                    not_before=_EMBEDDED,
                    not_after=_NOT_IS if aux == "is" else "",
                )
            )

    word_next = "a word must follow: 'Yes, I am.' never becomes 'Yes, I'm.'"
    pronoun("am", "'m", "I", _WORD_NEXT, word_next)
    pronoun("is", "'s", "he she it that there here what who where", _WORD_NEXT, word_next)
    pronoun("are", "'re", "you we they", _WORD_NEXT, word_next)
    pronoun("will", "'ll", "I you he she it we they that", _WORD_NEXT, word_next)
    pronoun(
        "have", "'ve", "I you we they", rf"[ \t]+(?:{_PARTICIPLES})\b",
        "only the auxiliary: 'I have a car' stays",
    )  # fmt: skip
    pronoun(
        "has", "'s", "he she it that there", r"[ \t]+(?:been|got|gotten)\b",
        "only before been/got, where 's can only be has",
    )  # fmt: skip
    pronoun(
        "would", "'d", "I you he she we they", rf"[ \t]+(?:{_BASE_VERBS})\b",
        "'d before a bare verb can only be would",
    )  # fmt: skip
    pronoun(
        "had", "'d", "I you he she we they", rf"[ \t]+(?:{_HAD_PARTICIPLES})\b",
        "'d before a participle (or 'better') can only be had",
    )  # fmt: skip

    for modal in ("could", "should", "would", "must", "might"):
        rules.append(
            Rule(
                f"contraction.{modal}-have",
                "contraction",
                (f"{modal} have", f"{modal}'ve"),
                "only before a participle, where 've can only be have",
                after=rf"[ \t]+(?:{_PARTICIPLES}|[a-z]+ed)\b",
            )
        )
    pronoun("is", "'s", "how", _WORD_NEXT, word_next)
    pronoun("will", "'ll", "there", _WORD_NEXT, word_next)
    pronoun(
        "would", "'d", "that", rf"[ \t]+(?:{_BASE_VERBS})\b",
        "'d before a bare verb can only be would",
    )  # fmt: skip

    # The negative of an auxiliary whose subject already contracts with it ("he isn't" /
    # "he's not") is left alone: the pronoun rule owns that text in either spelling.
    owned = {
        "is": r"\b(?:he|she|it|that|there|here|what|who|where|how)[ \t]+",
        "are": r"\b(?:you|we|they)[ \t]+",
        "will": r"\b(?:i|you|he|she|it|we|they|that|there)[ \t]+",
    }
    negatives = (
        ("do", "don't"), ("does", "doesn't"), ("did", "didn't"), ("is", "isn't"),
        ("are", "aren't"), ("was", "wasn't"), ("were", "weren't"), ("have", "haven't"),
        ("has", "hasn't"), ("had", "hadn't"), ("will", "won't"), ("would", "wouldn't"),
        ("could", "couldn't"), ("should", "shouldn't"), ("must", "mustn't"),
    )  # fmt: skip
    for aux, short in negatives:
        rules.append(
            Rule(
                id=f"contraction.{aux}-not",
                kind="contraction",
                forms=(f"{aux} not", short),
                note="not before a subject: 'Don't you dare' cannot become 'Do not you dare'",
                not_after=r"[ \t]+" + _SUBJECT,
                not_before=owned.get(aux, ""),
            )
        )
    rules.append(
        Rule(
            "contraction.cannot",
            "contraction",
            ("cannot", "can't"),
            "same inversion guard as the other negatives",
            not_after=r"[ \t]+" + _SUBJECT,
        )
    )
    return rules


def _synonyms() -> list[Rule]:
    pairs = (
        ("someone", "somebody", "same word, same register"),
        ("anyone", "anybody", "same word, same register"),
        ("everyone", "everybody", "same word, same register"),
        ("no one", "nobody", "same word, same register"),
        ("each other", "one another", "reciprocal pronouns, used interchangeably"),
    )
    rules = [Rule(f"synonym.{a.replace(' ', '-')}", "synonym", (a, b), n) for a, b, n in pairs]
    rules.append(
        Rule(
            "synonym.kind-of",
            "synonym",
            ("kind of", "sort of"),
            "hedge or type ('kind of cold', 'what kind of man'); not the adjective ('kind of you')",
            not_after=r"[ \t]+(?:you|him|her|them|me|us)\b",
        )
    )
    rules.append(
        Rule(
            "synonym.although",
            "synonym",
            ("although", "though"),
            "conjunctions only: a word must follow, and not 'even though' / 'as though'",
            after=_WORD_NEXT,
            not_before=r"\b(?:even|as)[ \t]+",
        )
    )
    not_verbs = (
        r"[ \t]+(?:(?:some|no|any|every)?thing|morning|evening|building|ceiling|wedding)\b"
        r"|[ \t]+to[ \t]+(?:the|a|an|his|her|my|your|our|their|this|that|finish|end)\b"
    )
    for start, begin in (
        ("starts", "begins"), ("started", "began"), ("start", "begin"), ("starting", "beginning"),
    ):  # fmt: skip
        rules.append(
            Rule(
                f"synonym.{start}",
                "synonym",
                (start, begin),
                "only before 'to' + verb or a verb in -ing: 'starts the car' stays",
                after=r"[ \t]+(?:to[ \t]+[a-z]|[a-z]+ing\b)",
                not_after=not_verbs,
            )
        )
    return rules


def _spellings() -> list[Rule]:
    directions = ("toward", "afterward", "backward", "upward", "downward")
    rules = [
        Rule(f"spelling.{d}", "spelling", (d, d + "s"), "both standard US usage")
        for d in directions
    ]
    rules += [
        Rule("spelling.okay", "spelling", ("okay", "OK"), "the same word, two house styles"),
        Rule("spelling.all-right", "spelling", ("all right", "alright"), "common in dialogue"),
        Rule(
            "spelling.gray", "spelling", ("gray", "grey"), "colour; never a name", lower_only=True
        ),
        Rule("spelling.email", "spelling", ("email", "e-mail"), "two house styles"),
        Rule("spelling.cell-phone", "spelling", ("cell phone", "cellphone"), "two house styles"),
    ]
    return rules


def _phrasings() -> list[Rule]:
    determiners = "the|these|those|my|your|his|her|our|their"
    idioms = r"[ \t]+(?:same|more|better|worse|way|while|rage|time|world)\b"
    rules = []
    for quantifier in ("all", "both", "half"):
        for det in determiners.split("|"):
            rules.append(
                Rule(
                    f"phrasing.{quantifier}-of-{det}",
                    "phrasing",
                    (f"{quantifier} of {det}", f"{quantifier} {det}"),
                    "optional 'of' before a determiner; idioms ('all the same') excluded",
                    after=_WORD_NEXT,
                    not_after=idioms,
                )
            )
    rules.append(
        Rule(
            "phrasing.outside-of",
            "phrasing",
            ("outside of", "outside"),
            "place only, before a determiner ('outside of that' = 'except' is excluded)",
            after=r"[ \t]+(?:the|his|her|my|your|our|their)\b",
        )
    )
    verbs = (
        "think thought know knew said say says guess hope believe figure figured bet swear "
        "realize realized mean means sure glad afraid promise promised heard remember "
        "forgot understand wish suppose imagine admit sorry proud pretend"
    )
    for verb in verbs.split():
        rules.append(
            Rule(
                f"phrasing.{verb}-that",
                "phrasing",
                (f"{verb} that", verb),
                "optional complementiser, only before a clause (pronoun and verb)",
                after=_CLAUSE,
            )
        )
    for pronoun in ("me", "you", "him", "her", "us", "them"):
        rules.append(
            Rule(
                f"phrasing.told-{pronoun}-that",
                "phrasing",
                (f"told {pronoun} that", f"told {pronoun}"),
                "optional complementiser after 'told someone'",
                after=_CLAUSE,
            )
        )
    rules.append(
        Rule(
            "phrasing.so-that",
            "phrasing",
            ("so that", "so"),
            "purpose clause ('so that you can' / 'so you can'), mid-sentence only",
            before=r"[a-z][ \t]+",
            after=_CLAUSE,
        )
    )
    for verb, particle in (("sits", "down"), ("sit", "down"), ("stands", "up"), ("wakes", "up")):
        rules.append(
            Rule(
                f"phrasing.{verb}-{particle}",
                "phrasing",
                (f"{verb} {particle}", verb),
                "in action only: 'She sits down' / 'She sits' (in dialogue 'Sit.' is curt)",
                after=r"[ \t]*[.,;]|[ \t]+and\b",
                action_only=True,
            )
        )
    return rules


def _commas() -> list[Rule]:
    rules = []
    subject_next = r"[ \t]+(?:i|you|he|she|we|they|it|that|this|there)\b"
    openers = (
        # word, what may follow it without changing the sense
        ("well", subject_next), ("so", subject_next), ("no", subject_next),
        ("yes", subject_next + r"|[ \t]+(?:sir|ma'am|please)\b"), ("look", subject_next),
        ("listen", subject_next), ("besides", subject_next), ("anyway", subject_next),
        ("oh", _WORD_NEXT), ("okay", _WORD_NEXT), ("yeah", _WORD_NEXT), ("hey", _WORD_NEXT),
        ("please", _WORD_NEXT), ("of course", subject_next), ("actually", _WORD_NEXT),
        ("honestly", _WORD_NEXT), ("seriously", _WORD_NEXT), ("frankly", _WORD_NEXT),
        ("suddenly", _WORD_NEXT), ("finally", _WORD_NEXT), ("eventually", _WORD_NEXT),
        ("meanwhile", _WORD_NEXT), ("luckily", _WORD_NEXT), ("unfortunately", _WORD_NEXT),
        ("apparently", _WORD_NEXT), ("obviously", _WORD_NEXT), ("personally", _WORD_NEXT),
    )  # fmt: skip
    for word, after in openers:
        rules.append(
            Rule(
                f"comma.after-{word.replace(' ', '-')}",
                "comma",
                (f"{word},", word),
                "optional comma after a sentence-opening word; 'Now I know' / 'Now, I "
                "know' differ, so 'now' is not here, and 'Well done' keeps 'well' bare",
                before=_SENTENCE_START,
                after=after,
            )
        )
    closers = (
        ("please", r"\b(?:yes|no)"), ("though", r"\b(?:as|even)"), ("anyway", r"\bor"),
        ("then", r"\b(?:by|until|till|since|from|and|but|now|just|back|even|what|right|only)"),
    )  # fmt: skip
    for word, not_before in closers:
        rules.append(
            Rule(
                f"comma.before-{word}",
                "comma",
                (f", {word}", f" {word}"),
                f"optional comma before a sentence-final '{word}'",
                before=r"[a-z]",
                not_before=not_before,
                after=r"[ \t]*[.!?]",
            )
        )
    rules.append(
        Rule(
            "comma.and",
            "comma",
            (", and", " and"),
            "optional comma before 'and' joining two clauses; not after a pronoun, where "
            "'you and he were' is one subject",
            before=r"[a-z]",
            not_before=r"\b(?:you|me|him|her|us|them|i|he|she|we|they|it)",
            after=r"[ \t]+(?:it|you|he|she|we|they)" + _CLAUSE_VERB,
        )
    )
    rules.append(
        Rule(
            "comma.too",
            "comma",
            (", too", " too"),
            "'Me too.' / 'Me, too.' at a sentence end; not 'way too'",
            before=r"[a-z]",
            not_before=r"\b(?:way|much|far|all|only|not|just|bit|one)",
            after=r"[ \t]*[.!?]",
        )
    )
    rules.append(
        Rule(
            "comma.but",
            "comma",
            (", but", " but"),
            "optional comma before 'but' joining two clauses",
            before=r"[a-z]",
            after=_CLAUSE,
        )
    )
    interjections = r"\b(?:yes|no|well|oh|so|okay|hey|look|now|and|but|or|wait)\b"
    for conjunction in ("and", "or"):
        rules.append(
            Rule(
                f"comma.serial-{conjunction}",
                "comma",
                (f", {conjunction}", f" {conjunction}"),
                "serial comma in a list of single words ('guns, money, and passports')",
                before=r"\b[a-z]+,[ \t]+[a-z]+",
                not_before=interjections + r",[ \t]+[a-z]+",
                after=r"[ \t]+[a-z]+[.,!?;]",
            )
        )
    return rules


RULES: tuple[Rule, ...] = (
    *_contractions(),
    *_synonyms(),
    *_spellings(),
    *_phrasings(),
    *_commas(),
)
