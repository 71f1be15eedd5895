"""A seeded, feature-length Fountain screenplay for the canary benchmarks.

Real scripts are copyrighted, so the benchmark writes its own: a political thriller of
about 110 pages, mostly dialogue, from a few hundred sentence patterns filled from large
word lists. The patterns are ordinary screen English, written for variety of structure
(questions, orders, fragments, long speeches, interruptions, action with and without
people) and not with the variant rules in mind; sites fall wherever that English puts
them, as they would in a real script.

    python benchmarks/screenplay.py [--seed 7] [--pages 110] > thriller.fountain
"""

from __future__ import annotations

import argparse
import random

__all__ = ["screenplay"]

NAMES = (
    "ANNA", "MARCUS", "DELIA", "VIKTOR", "RUTH", "OWEN", "SAMIRA", "HOLLIS", "TEODOR",
    "JUNE", "FELIX", "NADIA", "CALLUM", "IRIS", "BENNETT", "LENA",
)  # fmt: skip
PLACES = (
    "SAFEHOUSE KITCHEN", "EMBASSY CORRIDOR", "PARKING GARAGE", "EDITING BAY", "HOTEL BAR",
    "PRODUCTION OFFICE", "SOUND STAGE 4", "RAIN-SOAKED ROOFTOP", "TRAIN PLATFORM",
    "INTERROGATION ROOM", "MOTEL ROOM", "CAFE TERRACE", "SERVER ROOM", "RIVERSIDE PATH",
    "CAR - MOVING", "MINISTRY LOBBY", "TRAILER", "LAUNDROMAT", "DINER", "AIRPORT GATE",
)  # fmt: skip
TIMES = ("DAY", "NIGHT", "LATER", "CONTINUOUS", "DAWN", "DUSK", "MOMENTS LATER")
THINGS = (
    "the drive", "the envelope", "the keys", "a photograph", "the laptop", "her badge",
    "the contract", "his phone", "the script", "a burner phone", "the hard drive",
    "a coffee cup", "the folder", "the memory card", "an old camera", "the passport",
    "a cigarette", "the ledger", "a plastic bag", "the remote", "his glasses", "a thermos",
    "the rental car keys", "a stack of pages", "the wristwatch", "her notebook",
)  # fmt: skip
PEOPLE = (
    "the director", "the minister", "my sister", "your friend from Vienna", "the courier",
    "the new editor", "a man in a grey coat", "the driver", "the lawyer", "our producer",
    "the woman at the desk", "the kid with the camera", "the ambassador", "his brother",
)  # fmt: skip
VERBS_PAST = (
    "called", "lied", "left", "signed it", "saw him", "changed the locks", "paid them",
    "told the police", "burned the copies", "moved the money", "kept the key", "ran",
    "read the pages", "missed the train", "came back", "sold the footage",
)  # fmt: skip
VERBS = (
    "call", "wait", "leave", "sign it", "tell them", "drive", "look again", "go home",
    "trust him", "read it", "stop", "listen", "sit down", "lock the door", "pay",
)  # fmt: skip
FEELINGS = (
    "tired", "scared", "angry", "sorry", "sure", "ready", "late", "wrong", "fine",
    "lost", "careful", "serious", "done", "finished", "honest",
)  # fmt: skip
ADJ = (
    "narrow", "empty", "cramped", "dim", "cold", "cluttered", "quiet", "stale", "bright",
    "dusty", "wet", "crowded", "sterile", "shabby", "warm",
)  # fmt: skip
NOUNS = (
    "desk", "window", "sofa", "monitor", "doorway", "stairwell", "sink", "bench", "radiator",
    "table", "shelf", "mirror", "counter", "bed", "lamp",
)  # fmt: skip
SOUNDS = ("a siren", "footsteps", "a car alarm", "rain", "a phone buzzing", "a door slam")
TIMES_SPOKEN = (
    "tonight", "tomorrow", "in an hour", "by Friday", "before the screening", "at noon",
    "after the premiere", "next week", "right now", "in ten minutes",
)  # fmt: skip
PLACES_SPOKEN = (
    "the airport", "the hotel", "the studio", "the embassy", "the border", "the lab",
    "the station", "the cutting room", "the lake house", "Geneva", "the car park",
)  # fmt: skip

LINES = (
    "Where were you {time}?",
    "I can't do this {time}.",
    "You said you'd {verb}.",
    "Give me {thing}.",
    "Who else knows about {thing}?",
    "I don't know what you're talking about.",
    "He {past}. That's all I know.",
    "We need to talk about {person}.",
    "Don't look at me like that.",
    "It isn't what you think.",
    "I'm not {feeling}. I'm {feeling2}.",
    "You're {feeling}, and you know it.",
    "If {person} finds out, we're finished.",
    "Nobody {past}. Not one of us.",
    "Then why did {person} call me {time}?",
    "I told you to {verb}.",
    "Just {verb}. Please.",
    "What do you want from me?",
    "How long have you known?",
    "Since {place}.",
    "Does it matter?",
    "It matters to me.",
    "They'll be at {place} {time}.",
    "We have to move {time}.",
    "I was there. I saw {person}.",
    "You weren't supposed to see that.",
    "Is that a threat?",
    "It's advice.",
    "Take {thing} and go.",
    "Well, that's not how I remember it.",
    "Look, I'm trying to help you.",
    "Are you recording this?",
    "No. Should I be?",
    "I've been thinking about {place}.",
    "Somebody {past}, and it wasn't me.",
    "It was {person}. It had to be.",
    "You really believe that?",
    "I believe what I can prove.",
    "Then prove it.",
    "I have {thing}. That should be enough.",
    "It won't be.",
    "Why not?",
    "Because {person} {past}.",
    "Okay. Okay, so what now?",
    "Now we wait.",
    "I hate waiting.",
    "I know you do.",
    "Did anyone follow you?",
    "I don't think so.",
    "You don't think so?",
    "I was careful.",
    "Careful isn't enough anymore.",
    "Yes, I'm sure.",
    "We could {verb}, or we could {verb2}.",
    "There's a train {time}.",
    "There isn't time for that.",
    "Let's {verb} first.",
    "I wouldn't do that if I were you.",
    "What would you do?",
    "I'd {verb}. Then I'd disappear.",
    "That's easy for you to say.",
    "It wasn't easy. None of it was.",
    "Tell me about {thing}.",
    "There's nothing to tell.",
    "There's always something to tell.",
    "I've told you everything.",
    "Everyone says that.",
    "And everyone lies?",
    "Most of them.",
    "She's been gone since {time}.",
    "He's not coming back, is he?",
    "We'll see.",
    "You promised me.",
    "I know what I promised.",
    "I'll {verb} {time}. I swear.",
    "Don't swear. Just do it.",
    "Who's {person} working for?",
    "Whoever pays more.",
    "And who pays more?",
    "Right now? We do.",
    "It's late. Go home.",
    "I can't go home. They know where I live.",
    "Then stay here.",
    "Here? With you?",
    "Do you have a better idea?",
    "I'm thinking.",
    "Think faster.",
    "You should have told me about {thing}.",
    "I didn't want you involved.",
    "I'm already involved. I have been since {place}.",
    "What happened at {place}?",
    "You don't want to know.",
    "I do. That's why I'm asking.",
    "It doesn't matter now.",
    "It matters to {person}.",
    "Leave {person} out of this.",
    "I can't. They're in it up to their necks.",
    "We all are.",
    "How much did they offer you?",
    "Enough.",
    "Enough to {verb}?",
    "Enough to forget I ever met you.",
    "Did you take it?",
    "Would I be here if I had?",
    "I don't know. Would you?",
    "Maybe. Maybe not.",
    "That's not an answer.",
    "It's the only one I've got.",
    "They're going to find the copies.",
    "Not if we find them first.",
    "Where do we start?",
    "With {person}. Always start with the people.",
    "I thought you'd say that.",
    "Then why did you ask?",
    "I wanted to hear you say it.",
    "Stop. Listen to me. We're not the only ones looking.",
    "I know that.",
    "Do you? Because you're acting like we've got all the time in the world.",
    "We don't.",
    "No, we don't.",
    "Get in the car.",
    "Where are we going?",
    "Somewhere they won't look.",
    "Is there such a place?",
    "There used to be.",
    "I'll drive.",
    "You can't drive. Your hands are shaking.",
    "They always shake. It doesn't mean anything.",
    "It means you're scared.",
    "Of course I'm scared. Aren't you?",
    "Every day.",
)
SPEECHES = (
    "You want to know what happened? Fine. {person_cap} {past}, and then everything went "
    "wrong at once. By the time I got to {place}, the room was empty and {thing} was gone. "
    "I waited until morning. Nobody came.",
    "Listen to me carefully, because I'm only going to say this once. If you {verb} "
    "{time}, they'll know. If you don't, they'll know anyway. Either way we're out of time, "
    "so pick the one you can live with.",
    "I've worked for people like {person} my whole life. They don't shout. They don't "
    "threaten. They just stop returning your calls, and one day you realize you've been "
    "outside for years.",
    "It wasn't supposed to go like this. We were going to {verb}, collect the money and "
    "never talk about it again. Then {person} {past} and suddenly it's my name on every "
    "page.",
    "Do you know what they do with people who sell scripts? They don't arrest them. They "
    "make sure nobody in this town ever hires them again. That's worse. Trust me, it's "
    "worse.",
    "I remember the first time I saw {place}. I was nineteen and I thought it was the "
    "most beautiful thing I'd ever seen. Now I can't walk past it without checking who's "
    "behind me.",
)
ACTIONS = (
    "{name} crosses to the {noun} and waits.",
    "A {adj} room. {thing_cap} sits on the {noun}, untouched.",
    "{name} picks up {thing} and turns it over in {pos} hands.",
    "Somewhere outside, {sound}. Nobody moves.",
    "{name} glances at the door, then back at {name2}.",
    "{name2} doesn't answer. {pron_cap} stares at the {noun}.",
    "A long silence.",
    "{name} slides {thing} across the {noun}.",
    "The lights flicker. {sound_cap} in the distance.",
    "{name} sits down heavily. {pron_cap} looks {feeling}.",
    "{name2} starts to say something, then stops.",
    "{name} pockets {thing} and heads for the exit.",
    "Rain streaks the {noun}. The city glows beyond it.",
    "{name} lights a cigarette with unsteady fingers.",
    "{name2} watches {name} go. After a moment, {pron} follows.",
    "Close on {thing}: scratched, old, important.",
    "{name} checks {pos} phone. Three missed calls.",
    "The {adj} corridor stretches ahead. {name} walks quickly, head down.",
    "{name} and {name2} face each other across the {noun}.",
    "{name} leans against the {noun}, exhausted.",
    "{name2} opens {thing}. Inside: nothing.",
    "A car pulls up outside. Headlights sweep the {noun}.",
    "{name} freezes.",
    "{name2} laughs, but there's no humor in it.",
    "{name} tears the page in half and drops it in the bin.",
    "They sit in silence while {sound} fades.",
)
PARENTHETICALS = (
    "(quietly)", "(beat)", "(without looking up)", "(re: the envelope)", "(into phone)",
    "(sotto)", "(a little too fast)", "(off her look)", "(to himself)", "(smiling)",
)  # fmt: skip
TRANSITIONS = ("CUT TO:", "SMASH CUT TO:", "DISSOLVE TO:", "MATCH CUT TO:")


def _fill(template: str, rng: random.Random, cast: list[str]) -> str:
    name, name2 = rng.sample(cast, 2)
    she = rng.random() < 0.5
    person = rng.choice(PEOPLE)
    feeling, feeling2 = rng.sample(FEELINGS, 2)
    verb, verb2 = rng.sample(VERBS, 2)
    thing = rng.choice(THINGS)
    sound = rng.choice(SOUNDS)
    return template.format(
        name=name.title(),
        name2=name2.title(),
        person=person,
        person_cap=person[0].upper() + person[1:],
        past=rng.choice(VERBS_PAST),
        verb=verb,
        verb2=verb2,
        thing=thing,
        thing_cap=thing[0].upper() + thing[1:],
        place=rng.choice(PLACES_SPOKEN),
        time=rng.choice(TIMES_SPOKEN),
        feeling=feeling,
        feeling2=feeling2,
        noun=rng.choice(NOUNS),
        adj=rng.choice(ADJ),
        sound=sound,
        sound_cap=sound[0].upper() + sound[1:],
        pron="she" if she else "he",
        pron_cap="She" if she else "He",
        pos="her" if she else "his",
    )


def _speech(rng: random.Random, cast: list[str]) -> str:
    if rng.random() < 0.08:
        return _fill(rng.choice(SPEECHES), rng, cast)
    count = rng.choices((1, 2, 3), weights=(5, 3, 1))[0]
    return " ".join(_fill(rng.choice(LINES), rng, cast) for _ in range(count))


def _scene(rng: random.Random, number: int) -> list[str]:
    place = rng.choice(PLACES)
    inside = (
        "EXT." if place in ("RAIN-SOAKED ROOFTOP", "RIVERSIDE PATH", "CAFE TERRACE") else "INT."
    )
    cast = rng.sample(NAMES, rng.choice((2, 2, 3)))
    out = [f"{inside} {place} - {rng.choice(TIMES)}", ""]
    out += [" ".join(_fill(rng.choice(ACTIONS), rng, cast) for _ in range(rng.randint(1, 3))), ""]
    speaker = None
    for beat in range(rng.randint(14, 26)):
        if beat and rng.random() < 0.15:
            out += [_fill(rng.choice(ACTIONS), rng, cast), ""]
            continue
        speaker = rng.choice([c for c in cast if c != speaker])
        out.append(speaker + (" (CONT'D)" if rng.random() < 0.03 else ""))
        if rng.random() < 0.12:
            out.append(rng.choice(PARENTHETICALS))
        out += [_speech(rng, cast), ""]
    if rng.random() < 0.3:
        out += [rng.choice(TRANSITIONS), ""]
    if number % 9 == 4:
        out += ["[[Check this scene against the shooting schedule.]]", ""]
    return out


def screenplay(seed: int = 7, pages: int = 110) -> str:
    """A Fountain screenplay of at least `pages` pages (as laid out by watermark.script)."""
    from watermark.script import lay_out

    rng = random.Random(seed)
    lines = [
        "Title: THE SECOND COPY",
        "Credit: written by",
        "Author: A. Benchmark",
        "Draft date: 1 March 2025",
        "",
        "FADE IN:",
        "",
    ]
    scene = 0
    # Grow in chunks and measure: the page count is what the layout says, not a guess.
    while True:
        for _ in range(10):
            lines += _scene(rng, scene)
            scene += 1
        text = "\n".join(lines) + "\nFADE OUT.\n"
        if len(lay_out(text).pages) >= pages:
            return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pages", type=int, default=110)
    args = parser.parse_args()
    print(screenplay(args.seed, args.pages), end="")


if __name__ == "__main__":
    main()
