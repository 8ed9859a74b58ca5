"""A gentle hint when a review names a person as the cause. It never blocks anything.

"Blameless" (the lessons-learned essay: reflect "without looking for blame"): the
review asks what in the system let a person's action cause harm, not who. The
hint looks for a participant's name next to words that assign the cause
("Anna forgot", "because of Bob", "Bob's mistake") and for blame words on their
own ("human error", "careless"). The reviewer sees the sentence and may ignore it.
"""

import re

BLAME_VERBS = (
    r"forgot|forgets|missed|failed to|didn't|did not|broke|messed up|should have|neglected|ignored"
    r"|screwed up|caused|was careless|was sloppy|made a mistake|overlooked|deployed without"
)
BLAME_WORDS = re.compile(
    r"\b(human error|careless(?:ness)?|sloppy|negligen(?:t|ce)|incompeten(?:t|ce)|blame)\b", re.I
)
SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def _name_pattern(names: list[str]) -> str:
    return "|".join(sorted({re.escape(n) for n in names if len(n) >= 2}, key=len, reverse=True))


def hints(text: str, names: list[str]) -> list[str]:
    """The sentences of `text` that seem to name one of `names` (or anyone) as the cause."""
    if not text.strip():
        return []
    found: list[str] = []
    names_re = _name_pattern(names)
    person_cause = None
    if names_re:
        person_cause = re.compile(
            rf"\b({names_re})\b('s)?\s+(?:{BLAME_VERBS}|mistake|fault|error)\b"
            rf"|\b(?:because(?: of)?|due to|thanks to|blame)\s+({names_re})\b",
            re.I,
        )
    for match in SENTENCE.finditer(text):
        sentence = match.group(0).strip()
        if not sentence:
            continue
        if (person_cause is not None and person_cause.search(sentence)) or BLAME_WORDS.search(sentence):
            found.append(sentence[:300])
    return found[:10]
