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

from watermark.errors import WatermarkError
from watermark.script.rules import Rule

__all__ = [
    "KEEPS_UNSTABLE_SITES", "RELIABILITY", "RULES", "RULES_VERSION", "RULE_SETS",
    "SCANS_PAST_REJECTED", "rule_set",
]  # fmt: skip

# Which rule set a copy was made with. Any change to the rules, or to how lines are planned
# (layout.py, wraps.py), moves sites, so a copy can only be read with the rules it was made
# with: the vault records this per copy, and such a change must bump it. (3: wrap sites;
# 4: particle order, the comma after an opening phrase, more opening adverbs; 5: the order
# of two characters' names, opening words of time and place; 6: a site is kept only where
# no other site's spelling changes what the rules find around it, a stricter name order,
# "Outside" and its kin only before a personal pronoun.)
RULES_VERSION = "6"

# How far a reading of each kind can be trusted, per way the text was obtained. A word
# swap ("someone" / "somebody") is hard for OCR or a typist to fake; a comma is easily lost.
# "wrap" is a line-break site (wraps.py), read only where the excerpt kept its lines.
RELIABILITY: dict[str, dict[str, float]] = {
    "text": {
        "contraction": 1.0, "synonym": 1.0, "spelling": 1.0, "phrasing": 1.0, "order": 1.0,
        "comma": 0.8, "wrap": 1.0,
    },
    "ocr": {
        "contraction": 0.9, "synonym": 0.9, "spelling": 0.8, "phrasing": 0.9, "order": 0.9,
        "comma": 0.5, "wrap": 0.9,
    },
}  # fmt: skip

# --- shared context ---------------------------------------------------------------------------

_WORD_NEXT = r"[ \t]+[a-z]"  # a word follows: the auxiliary is not stressed at a clause end
_SUBJECT = r"(?:i|you|he|she|it|we|they|there)\b"
# An embedded question or comparison stresses its verb: "I know who you are now", never
# "who you're now"; "taller than he is".
_EMBEDDED = r"\b(?:who|what|where|how|than|as|whoever|whatever|wherever|which)[ \t]+"
# The words between an embedding word and "is" ("what the others think everything is").
# Since version 6 they are a few words, so the guard's reach (at most 88 characters, only
# for seven words of ten letters) lies within MAX_CONTEXT on any real line: a site further
# back whose other spelling is shorter or longer cannot move the embedding word into or out
# of view. Only a sentence that grows or shrinks across the sixth word still can.
_EMBEDDED_CLAUSE = {
    "5": _EMBEDDED + r"[a-z ]*",
    "6": _EMBEDDED.replace("[ \t]+", "[ \t]{1,3}") + r"(?:[a-z]{1,10} ){0,6}[a-z]{0,10}"
    # Seven words with no stop between: too far back to see the clause's start, refused.
    r"|\b(?:[a-z]{1,10} ){6}[a-z]{1,10}",
}
_SENTENCE_START = r"(?:^[ \t(\"“]*|[.!?][\"'’”)]*[ \t]+[(\"“]?)"
_CLAUSE_VERB = (
    r"(?:['’](?:m|re|s|ll|d|ve)\b|[ \t]+(?:am|is|are|was|were|will|would|can|could|should|"
    r"might|must|may|cannot|do|does|did|don['’]t|doesn['’]t|didn['’]t|can['’]t|won['’]t|wasn['’]t|"
    r"isn['’]t|have|has|had|never|just|really|always|still|already|only|even|also|"
    r"need|needs|want|wants|know|knows|think|thinks|got|like|love|said|told|saw|made|took|"
    r"left|came|went|wanted|needed|tried|lied|meant|knew|thought|felt|found|kept|gave|used|"
    r"killed|sold|stole|look|looks|looked|seem|seems|seemed|feel|feels|ever|probably|"
    r"won['’]t|wouldn['’]t|couldn['’]t|shouldn['’]t|haven['’]t|hasn['’]t|aren['’]t)\b)"
)
# A clause follows: subject pronoun and a verb ("he's", "you never"), so an optional
# "that" or a comma before it joins two clauses and nothing else.
_CLAUSE = (
    r"[ \t]+(?:i|you|he|she|it|we|they)"
    + _CLAUSE_VERB
    + r"|[ \t]+there(?:['’]s|['’]ll|[ \t]+(?:is|are|was|were|will|would)\b)"
)

# 's before a participle is "has" ("He's changed" is not "He is changed", "It's happened"
# not "It is happened"); -ed words that are only adjectives after "is" stay. "What is it?"
# does not shorten to "What's it?".
_IS_ADJECTIVES = (
    "tired|scared|worried|married|supposed|interested|excited|involved|surprised|locked|"
    "closed|dead|armed|loaded|wanted|needed|concerned|embarrassed|ashamed|confused|bored|"
    "pissed|engaged|related|allowed|expected|obsessed|convinced|determined|amazed|annoyed"
)
_HAS_PARTICIPLE = (
    rf"[ \t]+(?:(?!(?:{_IS_ADJECTIVES})\b)[a-z]+ed|been|got|gotten|had|done|seen|taken|given|"
    r"made|known|told|left|gone|come|become|found|lost|kept|brought|bought|heard|said|sent|"
    r"spent|won|begun|broken|chosen|driven|eaten|fallen|forgotten|written|spoken|stolen|"
    r"thrown|shown|grown|hidden|fought|caught|taught|thought|felt|met|paid|put|read|sold|"
    r"understood|run|hit|let|cut|set|quit|shut)\b"
)
_NOT_IS = _HAS_PARTICIPLE + r"|[ \t]+(?:it|that|this|he|she|they|you|i|we)[ \t]*[?.!,]"
# "There's ladies present" is dialect that "There is ladies present" would correct: after
# there/here/where/what/who/how/that the noun phrase must not look plural (a word ending in
# -s among the next three, or a plural determiner).
_PLURAL_NEXT = (
    r"[ \t]+(?:[a-z'’]+[ \t]+){0,2}?(?:these|those|they|them|we|some|many|two|three|four|"
    r"five|several|lots|both|(?!(?:is|was|has|this|his|its|us|yes|always|perhaps|"
    r"anyways|less|unless|across|nevertheless|regardless|nothing|less)\b)[a-z]*[^s\W'’]s)\b"
)
# What can follow "is" and never a possessive 's: "the car's ready" / "the car is ready",
# but "the car's engine", "nobody's fault" and "someone's good friend" stay as written.
_IS_NEXT = (
    r"[ \t]+(?:not|going|gonna|coming|trying|looking|waiting|watching|following|lying|"
    r"getting|happening|moving|listening|calling|doing|saying|telling|hiding|working|leaving|"
    r"running|knocking|talking|asking|here|there|still|always|never|just|really|so|too|"
    r"a|an|the|in|inside|outside|at|on|over|out|up|down|back|gone|about|right[ \t]+(?:here|"
    r"there|behind)|all[ \t]+right)\b"
    r"|[ \t]+(?:fine|wrong|right|okay|ok|dead|missing|safe|late|ready|home|alive|open|"
    r"closed|broken|true|possible|different|perfect|finished|over|empty|locked|free|"
    r"clean|sick|crazy|lying)[ \t]*(?:[.,!?;]|--|$)"
)

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


def _not_after(aux: str, subject: str) -> str:
    if aux != "is":
        return ""
    if subject.lower() in ("there", "here", "where", "what", "who", "how", "that"):
        return _NOT_IS + "|" + _PLURAL_NEXT
    return _NOT_IS


# Dialect a contraction must not "correct": "He don't", "I doesn't", "We wasn't", "It
# weren't", "I don't got", and double negatives ("I don't know nothing" is not "I do not
# know nothing").
_DIALECT = {
    "do": r"\b(?:he|she|it|that|this)[ \t]+",
    "does": r"\b(?:i|you|we|they)[ \t]+",
    "was": r"\b(?:you|we|they)[ \t]+",
    "were": r"\b(?:i|he|she|it)[ \t]+",
}
_DOUBLE_NEGATIVE = (
    r"[ \t]+(?:got|gotta|ain['’]t|need[ \t]+no)\b"
    r"|[ \t]+(?:[a-z'’]+[ \t]+){0,3}?(?:nothing|nobody|nowhere|none|no|never|neither)\b"
)


def _contractions(version: str) -> list[Rule]:
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
                    not_after=_not_after(aux, subject),
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
        not_before = "|".join(x for x in (owned.get(aux, ""), _DIALECT.get(aux, "")) if x)
        rules.append(
            Rule(
                id=f"contraction.{aux}-not",
                kind="contraction",
                forms=(f"{aux} not", short),
                note="not before a subject: 'Don't you dare' cannot become 'Do not you dare'; "
                "not in dialect ('He don't', 'I don't got', 'don't know nothing')",
                not_after=r"[ \t]+" + _SUBJECT + "|" + _DOUBLE_NEGATIVE,
                not_before=not_before,
            )
        )
    rules.append(
        Rule(
            "contraction.cannot",
            "contraction",
            ("cannot", "can't"),
            "same inversion guard as the other negatives",
            not_after=r"[ \t]+" + _SUBJECT + "|" + _DOUBLE_NEGATIVE,
        )
    )
    pronoun("will", "'ll", "who", _WORD_NEXT, word_next)
    pronoun(
        "would", "'d", "who it", rf"[ \t]+(?:{_BASE_VERBS})\b",
        "'d before a bare verb can only be would",
    )  # fmt: skip
    pronoun(
        "has", "'s", "who what", r"[ \t]+(?:been|got|gotten)\b",
        "only before been/got, where 's can only be has",
    )  # fmt: skip

    # "is" after an indefinite pronoun or a noun with its determiner ("Everything's fine",
    # "The car's outside", "Dad's home"): only the verb is the site, so "Someone" next to it
    # stays a site of its own. 's is also a possessive ("nobody's fault", "the car's
    # engine"), so only words that cannot follow a possessive may follow.
    indefinites = (
        "everything|nothing|something|anything|everyone|everybody|someone|somebody|"
        "no[ \t]+one|nobody|anyone|anybody"
    )
    nouns = (
        # A noun not ending in a hiss ("the rest's", "the bridge's" read badly), never a
        # pronoun ("that he is" belongs to the pronoun rules).
        r"\b(?:the|my|your|his|her|our|their|this|that)[ \t]+"
        r"(?!(?:i|you|he|she|it|we|they|there|here|what|who|this|that|way)\b)"
        r"[a-z]*[a-rt-wy](?<!ch)(?<!sh)(?<!ce)(?<!ge)(?<!se)(?<!ze)(?<!st)"
        r"|\b(?:dad|mom|mum|daddy|mommy|mama|papa|grandma|grandpa)"
    )
    for rule_id, before, note in (
        ("contraction.everything-is", rf"\b(?:{indefinites})", "indefinite pronoun + is"),
        ("contraction.noun-is", nouns, "noun with its determiner + is, in dialogue only"),
    ):
        rules.append(
            Rule(
                rule_id,
                "contraction",
                (" is", "'s"),
                note + "; never before a participle (has) or where 's could be possessive",
                before=before,
                after=_IS_NEXT,
                not_before=_EMBEDDED_CLAUSE[version],
                not_after=_NOT_IS,
                dialogue_only=rule_id == "contraction.noun-is",
            )
        )
        rules.append(
            Rule(
                rule_id.replace("-is", "-has"),
                "contraction",
                (" has", "'s"),
                note.replace("+ is", "+ has") + "; only before been/got, where 's is has",
                before=before,
                after=r"[ \t]+(?:been|got|gotten)\b",
                not_before=_EMBEDDED_CLAUSE[version],
                dialogue_only=rule_id == "contraction.noun-is",
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
    people = (
        r"\b(?:man|woman|guy|girl|boy|kid|kids|person|people|one|ones|someone|somebody|"
        r"anyone|anybody|everyone|everybody|no[ \t]+one|nobody|those|friend|friends|men|"
        r"women|guys|girls|boys)"
    )
    rules.append(
        Rule(
            "synonym.who-that",
            "synonym",
            ("who", "that"),
            "relative pronoun for a person ('the guy who called' / 'the guy that called'), "
            "in dialogue; only before a finite verb, so a 'that' opening a clause ('told "
            "someone that Marcus lied') is never taken",
            before=people + r"[ \t]+",
            # "Did you tell anyone who took it?" may ask which person took it.
            not_before=r"\b(?:tell|tells|told|ask|asks|asked|show|shows|showed|remind|"
            r"reminded|warn|warned|teach|taught)[ \t]+(?:[a-z]+[ \t]+)?" + people + r"[ \t]+",
            after=r"['’](?:s|d|ll|re|ve)\b|[ \t]+(?:is|was|are|were|has|had|have|can|could|"
            r"would|will|knows|knew|wants|wanted|needs|needed|called|came|lives|lived|works|"
            r"worked|does|did|doesn['’]t|didn['’]t|won['’]t|can['’]t|isn['’]t|wasn['’]t|"
            r"sold|took|saw|says|said|tried|loves|loved|left|gets|got|makes|made|pays|paid)\b",
            dialogue_only=True,
        )
    )
    rules.append(
        Rule(
            "synonym.a-lot-of",
            "synonym",
            ("a lot of", "lots of"),
            "same quantity, same everyday register; not 'quite a lot of', 'such a lot of'",
            not_before=r"\b(?:quite|such|what|not|whole|awful|hell|heck)[ \t]+",
            after=_WORD_NEXT,
            not_after=r"[ \t]+(?:nerve|guts|good|explaining|help)\b",  # idioms
        )
    )
    rules.append(
        Rule(
            "synonym.a-little",
            "synonym",
            ("a little", "a bit"),
            "degree only ('a little late' / 'a bit late'); never the adjective ('a little "
            "girl'), so only before a comparative, a few adjectives or a clause end",
            not_before=r"\b(?:just|only|quite|such|not)[ \t]+",
            after=r"[ \t]*[.,!?;]|[ \t]+(?:more|less|longer|later|earlier|further|closer|"
            r"faster|slower|louder|quieter|better|worse|bigger|smaller|too|late|early|tired|"
            r"nervous|scared|drunk|strange|weird|odd|busy|cold|warm|hot|worried|confused|"
            r"surprised|disappointed|embarrassed|rusty|tight|loose|high|low|off)\b",
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
    # "Both my wife and daughter" would not read "Both of my wife and daughter".
    coordinated = r"|[ \t]+[a-z]+[ \t]+(?:and|or)\b"
    for quantifier in ("all", "both", "half"):
        for det in determiners.split("|"):
            rules.append(
                Rule(
                    f"phrasing.{quantifier}-of-{det}",
                    "phrasing",
                    (f"{quantifier} of {det}", f"{quantifier} {det}"),
                    "optional 'of' before a determiner; idioms ('all the same') and a "
                    "coordinated 'both my wife and daughter' excluded",
                    after=_WORD_NEXT,
                    not_after=idioms + (coordinated if quantifier == "both" else ""),
                )
            )
    rules.append(
        Rule(
            "phrasing.all-of-this",
            "phrasing",
            ("all of this", "all this"),
            "only at a clause end ('because of all this.'), where nothing can follow",
            not_before=r"\bnot[ \t]+",
            after=r"[ \t]*(?:[.,!?;]|--)",
        )
    )
    rules.append(
        Rule(
            "phrasing.inside-of",
            "phrasing",
            ("inside of", "inside"),
            "place only, before a determiner",
            after=r"[ \t]+(?:the|a|his|her|my|your|our|their)\b",
        )
    )
    rules.append(
        Rule(
            "phrasing.whether-or-not",
            "phrasing",
            ("whether or not", "whether"),
            "'whether or not he comes' / 'whether he comes'",
            after=r"[ \t]+(?:i|you|he|she|it|we|they|there|the|to)\b",
        )
    )
    for verb in ("crosses", "walks", "heads", "moves", "goes", "comes", "runs", "hurries"):
        rules.append(
            Rule(
                f"phrasing.{verb}-over-to",
                "phrasing",
                (f"{verb} over to", f"{verb} to"),
                "in action only: 'She crosses over to the window' / 'She crosses to the "
                "window' (a movement within the scene)",
                after=r"[ \t]+(?:the|a|an|his|her|their|its|him|them|[a-z]+['’]s)\b",
                action_only=True,
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
        "forgot understand wish suppose imagine admit sorry proud pretend feel felt notice "
        "noticed see saw hear assume doubt pray hoped believed guessed decided agree agreed "
        "worried seems seemed thinks knows hopes figures realizes swore read learned found "
        "convinced positive certain lucky"
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
                "in action only: 'She sits down' / 'She sits' (in dialogue 'Sit.' is curt); "
                "not before a place, where 'sits at her desk' is a state, not a movement",
                after=r"[ \t]*[.,;]|[ \t]+and\b",
                action_only=True,
            )
        )
    return rules


# The object a particle may move around: a determiner and one word, never a pronoun ("picks
# it up" has one order only) and never two words ("picks up the phone receiver" would read
# heavy as "picks the phone receiver up").
_DETERMINER = r"(?:the|a|an|his|her|their|its|my|your|our|this|that)"
_NOT_OBJECTS = _DETERMINER[3:-1] + "|same|other|way|rest|one|hell"
# "pulls out the driveway" is a car leaving it, not a driveway taken out.
_NOT_OBJECTS_OF = {"out": "|drive|driveway|gate|garage|lot|door|window|road|street"}
# Verbs whose particle may stand before or after a short object with the same meaning
# ("puts down the glass" / "puts the glass down"). Left out on purpose: verbs whose particle
# is also a preposition of a movement ("turns off the road", "rolls up the drive", "tears up
# the stairs", "pulls up the drive", "pulls on the rope", "slips on the ice", "looks up the
# street", "zips up the street"), and idioms that hold only one order ("puts up a fight").
_PARTICLE_VERBS = (
    ("picks", "pick", "up"), ("puts", "put", "down"), ("sets", "set", "down"),
    ("lays", "lay", "down"), ("writes", "write", "down"), ("takes", "take", "down"),
    ("puts", "put", "on"), ("takes", "take", "off"), ("puts", "put", "away"),
    ("puts", "put", "back"), ("gives", "give", "back"), ("hands", "hand", "back"),
    ("hands", "hand", "over"), ("takes", "take", "out"), ("puts", "put", "out"),
    ("holds", "hold", "out"), ("holds", "hold", "up"), ("hangs", "hang", "up"),
    ("switches", "switch", "on"), ("switches", "switch", "off"), ("shuts", "shut", "off"),
    ("throws", "throw", "away"), ("locks", "lock", "up"),
    ("wipes", "wipe", "off"), ("knocks", "knock", "over"), ("fills", "fill", "out"),
    ("sets", "set", "off"), ("fishes", "fish", "out"), ("digs", "dig", "out"),
    ("counts", "count", "out"), ("stubs", "stub", "out"), ("tucks", "tuck", "away"),
    ("pushes", "push", "open"), ("kicks", "kick", "open"), ("pulls", "pull", "open"),
    ("pries", "pry", "open"), ("pulls", "pull", "out"),
)  # fmt: skip


# The object ends where the sentence does, or where "and" opens the next action ("and
# turns it over", "and heads for the door": a verb in -s and its complement), never where
# "and" could join a second object ("and the phone", "and bullets.").
_OBJECT_ENDS = (
    r"[ \t]*(?:[.!?;]|--)"
    r"|[ \t]+and[ \t]+(?!(?:" + _DETERMINER[3:-1] + r"|some|two|three|hers)\b)[a-z]+s[ \t]+"
    r"(?:it|him|her|them|the|a|an|his|their|its|to|at|for|out|away|back|over|up|down|into|"
    r"through|toward|towards|off|on|across|inside)\b"
)


def _object(not_nouns: str) -> str:
    return _DETERMINER + rf"[ \t]+(?!(?:{not_nouns})\b)[a-z][a-z-]*"


def _orders() -> list[Rule]:
    rules = []
    for third, base, particle in _PARTICLE_VERBS:
        rules.append(
            Rule(
                f"order.{base}-{particle}",
                "order",
                (f"{particle} {{object}}", f"{{object}} {particle}"),
                f"in action only: '{third} {particle} the glass.' / '{third} the glass "
                f"{particle}.'; the object is a determiner and one word, and the sentence "
                "ends there, so it is the whole object",
                before=rf"\b(?:{third}|{base})[ \t]+",
                after=_OBJECT_ENDS,
                action_only=True,
                slots=(("object", _object(_NOT_OBJECTS + _NOT_OBJECTS_OF.get(particle, ""))),),
            )
        )
    return rules


# A one-word name of the script's cast, capitalised as a name is.
_NAME = r"(?-i:[A-Z][A-Za-z]*(?:-[A-Z][A-Za-z]*)?)"
# Words after "Marcus and Felix" that would make "Felix" the subject of a new clause ("gives
# it to Marcus and Felix nods", "... and Felix just smiles", "... and Felix will"): a verb in
# -s or -ed, an adverb, a modal or a common irregular past. Action is in the present tense.
_NEW_CLAUSE = (
    r"[ \t]+(?:[a-z]+(?:s|ed|ly)|just|only|still|never|then|even|almost|can|could|will|"
    r"would|shall|should|must|might|may|ran|sat|stood|left|took|came|went|saw|got|put|set|"
    r"let|made|said|told|gave|fell|felt|held|kept|met|sent|threw|drew|drove|wore|woke|shot|"
    r"hid|lay|led|lost|found|brought|caught|thought|knew|broke|spoke|froze|stole|wrote|"
    r"began|ate|became|turned|and|or|nor)\b"
)
# Version 6 also stops before a negative, "had" or an adverb that can open a predicate
# ("... to Marcus and Anna doesn't move", "... and Anna had left", "... and Anna also
# nods"), and where the order is said to matter ("Marcus and Anna, in that order").
_NEW_CLAUSE_6 = _NEW_CLAUSE + r"|[ \t]+(?:[a-z]+n['’]t|cannot|had|also|already)\b"
# Version 6 also keeps the order where a sequence or a pairing follows in the sentence
# ("... one after the other", "... the left and right doors", "... as husband and wife").
# The look-ahead is bounded so that it lies within the context a rule sees (MAX_CONTEXT).
_W = r"[ \t]{1,3}"
_POSITIONS = r"(?:left|right|first|second|front|back|elder|older|younger|upper|lower)"
_ROLES = (
    r"(?:husband|wife|man|brother|sister|mother|father|son|daughter|boyfriend|girlfriend|"
    r"boss|assistant|master|servant|teacher|pupil|student|doctor|patient)"
)
_ORDER_SAID = rf"respectively|in{_W}(?:that|this){_W}order"
_ORDER_MATTERS_6 = (
    rf"[ \t]*[.!?]?[ \t]*(?:{_ORDER_SAID})\b"
    rf"|[^.!?\n]{{0,40}}?\b(?:(?:{_ORDER_SAID}|in{_W}turn"
    rf"|one{_W}after{_W}(?:the{_W}other|another)|first\b[^.!?\n]{{0,20}}?\bthen"
    rf"|{_POSITIONS}{_W}and{_W}{_POSITIONS}"
    rf"|(?:as|plays?|playing|are|were|bec[oa]me){_W}(?:the{_W})?{_ROLES}{_W}and{_W}{_ROLES}"
    rf")\b|the{_W}(?:former|latter|elder|older|younger)(?:[ \t]*(?:[.,;!?]|--|$)"
    rf"|{_W}(?:[a-z]+ing|first|last|second|too|also|still|then|again|ahead|behind)\b))"
)


def _names(version: str) -> list[Rule]:
    if version == "5":
        after = r"[ \t]*(?:[.,!?;:]|--|$)|(?-i:[ \t]+[a-z])"
        not_after = r"['’]s\b|[ \t]*,?[ \t]*respectively\b|" + _NEW_CLAUSE
    else:
        # Not before a comma, a dash, a colon or a semicolon: "gives it to Marcus and
        # Anna, who" may name the second as the one the clause is about.
        after = r"[ \t]*(?:[.!?]|$)|(?-i:[ \t]+[a-z])"
        not_after = r"['’]s\b|" + _ORDER_MATTERS_6 + "|" + _NEW_CLAUSE_6
    return [
        Rule(
            "order.two-names",
            "order",
            ("{first} and {second}", "{second} and {first}"),
            "in action only, two of the script's characters ('Marcus and Anna face each "
            "other' / 'Anna and Marcus face each other'); not after a title or another "
            "capitalised word ('Detective Marcus'), not before a surname or a possessive "
            "('Anna Smith', 'Marcus and Anna's flat'), and not where the second name opens "
            "a new clause ('hands it to Marcus and Anna nods')",
            not_before=r"(?-i:[A-Z][\w.'’]*)[ \t]+",
            after=after,
            not_after=not_after,
            action_only=True,
            slots=(("first", _NAME), ("second", _NAME)),
            cast_only=True,
        )
    ]


# Opening words of time and place added in version 5; those that are also prepositions
# ("Outside the car waits" would be a garden path) only before a pronoun.
_OPENERS_5 = (
    "then", "tonight", "today", "tomorrow", "yesterday", "upstairs", "downstairs", "nearby",
    "overhead", "together",
)  # fmt: skip
_PREPOSITION_OPENERS_5 = ("outside", "inside", "above", "below")
_PRONOUN_NEXT = {
    "5": r"[ \t]+(?:i|you|he|she|we|they|there)\b",
    # "Outside you can hear..." and "Inside there is..." read as places in version 6.
    "6": r"[ \t]+(?:i|he|she|we|they)\b",
}
# In dialogue "Then you're scared" means "in that case", which "Then, you're scared" blurs.
_ACTION_OPENERS = frozenset({"then"})

# Opening adverbs added in version 4. A clause must follow them: "Later that night" and
# "First thing" are no openers.
_OPENERS_4 = (
    "later", "slowly", "quietly", "instead", "sometimes", "otherwise", "hopefully", "clearly",
    "basically", "naturally", "thankfully", "first",
)  # fmt: skip
_CLAUSE_NEXT = r"[ \t]+(?:i|you|he|she|we|they|it|there|the|a|an|his|her|their)\b"


def _commas(version: str) -> list[Rule]:
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
        *((word, _CLAUSE_NEXT) for word in _OPENERS_4),
        *((word, _CLAUSE_NEXT) for word in _OPENERS_5),
        *((word, _PRONOUN_NEXT[version]) for word in _PREPOSITION_OPENERS_5),
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
                action_only=word in _ACTION_OPENERS,
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
    rules.append(
        Rule(
            "comma.after-opening-phrase",
            "comma",
            ("{word},", "{word}"),
            "optional comma after a short opening phrase of place or time ('After a "
            "moment, he follows' / 'After a moment he follows'); a determiner must open the "
            "phrase and a clause follow it, so 'After eating the dog' cannot arise",
            before=_SENTENCE_START + r"(?:after|behind|across|beyond|beneath|below|above|"
            r"under|through|around|along|beside|inside|outside|in|at|on|for|from|down|up|"
            r"over|during|within)[ \t]+" + _DETERMINER + r"[ \t]+(?:[a-z]+[ \t]+)?",
            after=r"[ \t]+(?:i|you|he|she|we|they|it|there|the|a|an|his|her|their|someone|"
            r"somebody|nobody|no[ \t]+one|everyone|everybody|nothing|something)\b",
            slots=(("word", r"(?!(?:of|to|and|or|with|by|the|a|an)\b)[a-z]+"),),
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


def _all_rules(version: str) -> tuple[Rule, ...]:
    """Every rule as of `version` (5 or later); older versions are this less what came since."""
    return (
        *_contractions(version),
        *_synonyms(),
        *_spellings(),
        *_phrasings(),
        *_orders(),
        *_names(version),
        *_commas(version),
    )


_RULES_5 = _all_rules("5")
_ADDED_IN_4 = frozenset(
    [r.id for r in _orders()]
    + ["comma.after-opening-phrase"]
    + [f"comma.after-{word}" for word in _OPENERS_4]
)
_ADDED_IN_5 = frozenset(
    ["order.two-names"] + [f"comma.after-{word}" for word in (*_OPENERS_5, *_PREPOSITION_OPENERS_5)]
)

# Every rule set a copy may have been made with, by version: a copy is read with the rules
# it was made with, so a leak of a copy issued before an upgrade is still traced. A version
# is the current rules less what was added since, in the same order (pinned by its
# fingerprint in the tests).
RULE_SETS: dict[str, tuple[Rule, ...]] = {
    "3": tuple(r for r in _RULES_5 if r.id not in _ADDED_IN_4 | _ADDED_IN_5),
    "4": tuple(r for r in _RULES_5 if r.id not in _ADDED_IN_5),
    "5": _RULES_5,
    "6": _all_rules("6"),
}
RULES = RULE_SETS[RULES_VERSION]

# Versions 3 and 4 went on searching after the end of a match they rejected, so a site that
# overlapped it was never found ("Anna picks up the phone": "a picks up" inside "Anna" is
# tried first). Their copies were made so and are read so.
SCANS_PAST_REJECTED = frozenset({"3", "4"})

# Up to version 5 a site was kept even where another site's spelling changed what the
# rules found around it ("Suddenly, Marcus and Anna": without the comma, "Suddenly" is a
# capitalised word before the names and the swap is refused), so a copy could hold a site
# the master lacked or lack one it had. Their copies were made so and are read so.
KEEPS_UNSTABLE_SITES = frozenset({"3", "4", "5"})


def rule_set(version: str) -> tuple[Rule, ...]:
    """The rules of one version; a version this software does not know is an error."""
    try:
        return RULE_SETS[version]
    except KeyError:
        raise WatermarkError(
            f"canary rules version {version!r} is unknown to this software "
            f"(it knows {', '.join(RULE_SETS)})",
            "trace with the release that issued the copy, or a newer one",
        ) from None
