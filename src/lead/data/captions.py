"""Natural-language captions for Bandai-Namco takes from their content and style labels.

Each clip gets several paraphrases: the action phrase comes from a few wordings per content
label, the style is said through one of several templates (adjective before the subject,
adverb before or after the verb, a trailing manner phrase such as "looking tired"), and the
"normal" style is usually left unsaid. Hands, legs and turn directions are always named
(the performer's own left/right, checked on the data: in wave-left-hand takes the BVH
``Hand_L`` joint moves).

Labels whose meaning is not obvious were read from the motion itself (forward kinematics of
the takes; which hand moves, how high, where the root travels):
  * dataset-1 ``walk-left`` / ``walk-right``: the actor walks to their left/right with the body
    turned most of the way (60-80 degrees) toward the direction of travel, so after the
    HumanML3D facing canonicalisation it reads as walking diagonally forward to the left/right.
  * ``bye``: waves goodbye with the right hand (every style); ``byebye``: with both hands raised.
  * ``guide``: gestures with the right arm, as if showing someone the way.
  * ``respond``: raises the left hand high above the head, like answering a roll call.
  * ``call``: both hands brought together near the face, i.e. calling out with hands cupped
    around the mouth.
  * ``kick``: kicks with the right leg; ``slash``: swings an (imaginary) sword with both hands.
  * styles ``chimpira`` (Japanese for a small-time thug) -> "like a thug", ``giant`` -> "heavily,
    like a giant", ``musical`` -> theatrical, like a performer in a stage musical.

Tokens follow the HumanML3D ``word/POS`` convention (the reference tags with spaCy, keeps only
alphabetic words, drops hyphens and lemmatises nouns and verbs except "left"). Here a small
built-in lexicon covers every word these templates can produce, with universal POS tags
(NOUN, VERB, ADJ, ADV, ADP, DET, PRON, CCONJ, SCONJ, NUM, PART); "left"/"right" are ADJ before a
noun, NOUN after "the", ADV otherwise. Words outside the lexicon are tagged X.
"""

from __future__ import annotations

import re

import numpy as np

from lead.data.humanml3d import Caption

# Action phrases (present tense, third person) per content label; shared labels (walk, run) mean the same
# thing in both datasets.
CONTENT_PHRASES: dict[str, tuple[str, ...]] = {
    "walk": (
        "walks forward",
        "walks straight ahead",
        "walks forward several steps",
        "walks in a straight line",
    ),
    "run": ("runs forward", "jogs forward", "runs straight ahead", "runs in a straight line"),
    "dash": (
        "sprints forward",
        "dashes forward at full speed",
        "runs forward very fast",
        "sprints straight ahead",
    ),
    "walk-back": (
        "walks backward",
        "walks backwards several steps",
        "backs away",
        "moves backward step by step",
    ),
    "walk-left": (
        "walks to the left",
        "walks diagonally forward to the left",
        "walks toward the left",
        "heads off to the left",
    ),
    "walk-right": (
        "walks to the right",
        "walks diagonally forward to the right",
        "walks toward the right",
        "heads off to the right",
    ),
    "bow": ("bows", "bows politely", "bends forward at the waist in a bow", "bows and straightens up again"),
    "bye": (
        "waves goodbye with the right hand",
        "raises the right hand and waves goodbye",
        "says goodbye by waving the right hand",
    ),
    "byebye": (
        "waves goodbye with both hands",
        "raises both hands and waves them goodbye",
        "waves both hands to say goodbye",
    ),
    "guide": (
        "gestures with the right hand to show someone the way",
        "points the way with the right arm",
        "guides someone by gesturing with the right hand",
    ),
    "respond": (
        "raises the left hand high as if answering",
        "puts up the left hand in response",
        "raises the left arm above the head to respond",
    ),
    "call": (
        "cups both hands around the mouth and calls out",
        "calls out to someone with both hands by the mouth",
        "shouts to someone with the hands cupped around the mouth",
    ),
    "punch": ("throws punches", "punches forward with the fists", "throws a few jabs"),
    "kick": (
        "kicks with the right leg",
        "kicks forward with the right foot",
        "does a kick with the right leg",
    ),
    "slash": (
        "slashes with a sword held in both hands",
        "swings an imaginary sword with both hands",
        "performs sword slashes with both hands",
    ),
    "dance-long": ("dances", "performs a dance", "dances in place", "dances to music"),
    "dance-short": ("dances", "performs a short dance", "dances in place", "dances to music"),
    "walk-turn-left": (
        "walks forward and turns left",
        "walks and then turns to the left",
        "walks forward, then makes a left turn",
        "walks and turns ninety degrees to the left",
    ),
    "walk-turn-right": (
        "walks forward and turns right",
        "walks and then turns to the right",
        "walks forward, then makes a right turn",
        "walks and turns ninety degrees to the right",
    ),
    "wave-both-hands": ("waves both hands", "waves with both hands", "raises both hands and waves them"),
    "wave-left-hand": ("waves with the left hand", "waves the left hand", "raises the left hand and waves"),
    "wave-right-hand": (
        "waves with the right hand",
        "waves the right hand",
        "raises the right hand and waves",
    ),
    "raise-up-both-hands": (
        "raises both hands up",
        "raises both arms above the head",
        "lifts both hands into the air",
    ),
    "raise-up-left-hand": (
        "raises the left hand",
        "lifts the left arm up",
        "raises the left hand into the air",
    ),
    "raise-up-right-hand": (
        "raises the right hand",
        "lifts the right arm up",
        "raises the right hand into the air",
    ),
}

# Per style: adjectives for "a/an ADJ person", adverbs, trailing manner phrases.
STYLE_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "normal": ((), ("normally",), ("in an ordinary way", "in a neutral manner")),
    "happy": (
        ("happy", "cheerful", "joyful"),
        ("happily", "cheerfully"),
        ("looking happy", "in a cheerful mood"),
    ),
    "sad": (("sad", "gloomy"), ("sadly", "gloomily"), ("looking sad", "in a sad mood")),
    "angry": (("angry", "furious"), ("angrily", "furiously"), ("looking angry", "in an angry mood")),
    "proud": (("proud", "haughty"), ("proudly",), ("looking proud", "with the chest puffed out")),
    "not-confident": (
        ("timid", "shy", "insecure"),
        ("timidly", "hesitantly", "shyly"),
        ("without any confidence", "looking unsure"),
    ),
    "masculinity": (("masculine", "manly"), (), ("in a masculine way", "with a manly swagger")),
    "masculine": (("masculine", "manly"), (), ("in a masculine way", "with a manly swagger")),
    "feminine": (("feminine",), ("gracefully",), ("in a feminine way", "in a feminine manner")),
    "childish": (
        ("childish", "childlike"),
        ("childishly", "playfully"),
        ("like a child", "in a childish way"),
    ),
    "old": (("old", "elderly"), ("slowly",), ("like an old person", "like an elderly person")),
    "elderly": (("elderly", "old"), ("slowly",), ("like an elderly person", "like an old person")),
    "tired": (("tired", "weary"), ("tiredly", "wearily"), ("looking tired", "as if exhausted")),
    "exhausted": (("exhausted", "tired"), ("wearily",), ("looking exhausted", "as if completely exhausted")),
    "active": (
        ("energetic", "lively", "active"),
        ("energetically", "vigorously"),
        ("full of energy", "with a lot of energy"),
    ),
    "youthful": (
        ("youthful", "young"),
        (),
        ("like a young person", "in a youthful way", "with youthful energy"),
    ),
    "musical": (
        ("theatrical",),
        ("theatrically", "rhythmically"),
        ("like a performer in a musical", "in an exaggerated, theatrical way"),
    ),
    "giant": (("huge", "heavy"), ("heavily", "ponderously"), ("heavily, like a giant", "like a giant")),
    "chimpira": (
        ("thuggish",),
        ("menacingly",),
        ("like a thug", "like a street punk", "with a thuggish swagger"),
    ),
}

SUBJECTS = ("a person", "someone", "the person")
NORMAL_UNSAID = 0.75  # chance that a "normal" caption carries no style word at all
MIN_CAPTIONS, MAX_CAPTIONS = 3, 5


def label_name(label: str) -> str:
    """``dataset-1_walk`` (cfg/*.txt form) -> ``walk``."""
    return re.sub(r"^dataset-\d+_", "", label.strip())


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _style_sentence(subject: str, phrase: str, style: str, form: int, rng: np.random.Generator) -> str | None:
    """The sentence for one style template: 0 adjective before "person", 1 adverb before the verb,
    2 adverb after the phrase, 3 trailing manner phrase; None when the style has no word of that kind."""
    adjectives, adverbs, manners = STYLE_WORDS[style]

    def pick(words: tuple[str, ...]) -> str:
        return words[int(rng.integers(len(words)))]

    if form == 0 and adjectives:
        adjective = pick(adjectives)
        article = "the" if subject == "the person" else _article(adjective)
        return f"{article} {adjective} person {phrase}"
    if form == 1 and adverbs:
        return f"{subject} {pick(adverbs)} {phrase}"
    if form == 2 and adverbs:
        return f"{subject} {phrase} {pick(adverbs)}"
    if form == 3 and manners:
        return f"{subject} {phrase}, {pick(manners)}"
    return None


def make_captions(
    content: str, style: str, rng: np.random.Generator | int, count: int | None = None
) -> list[Caption]:
    """3-5 distinct whole-clip captions (with ``word/POS`` tokens) for one content/style pair.

    `content` and `style` are label names ("walk-turn-left", "elderly"; a ``dataset-N_`` prefix is
    stripped). Deterministic for a given seed / Generator state.
    """
    content, style = label_name(content), label_name(style)
    if content not in CONTENT_PHRASES:
        raise KeyError(f"no caption phrases for content label {content!r}")
    if style not in STYLE_WORDS:
        raise KeyError(f"no caption words for style label {style!r}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    wanted = int(count) if count is not None else int(rng.integers(MIN_CAPTIONS, MAX_CAPTIONS + 1))
    phrases = list(CONTENT_PHRASES[content])
    rng.shuffle(phrases)
    forms = rng.permutation(4).tolist()
    texts: list[str] = []
    for attempt in range(wanted * 8):
        if len(texts) == wanted:
            break
        phrase = phrases[attempt % len(phrases)]
        subject = SUBJECTS[int(rng.integers(len(SUBJECTS)))]
        sentence = None
        if style != "normal" or rng.random() >= NORMAL_UNSAID:
            sentence = _style_sentence(subject, phrase, style, forms[attempt % 4], rng)
        if sentence is None and style == "normal":
            sentence = f"{subject} {phrase}"
        if sentence is not None and sentence + "." not in texts:
            texts.append(sentence + ".")
    return [Caption(text, tag_caption(text)) for text in texts]


def _lexicon() -> dict[str, tuple[str, str]]:
    """word -> (lemma, POS) for every word the templates above can produce."""
    table = {
        "DET": "a an the some both any",
        "PRON": "someone them",
        "NUM": "ninety",
        "ADP": "with to in at by around into of like without above as toward",
        "CCONJ": "and",
        "SCONJ": "if",
        "NOUN": "person hand hands=hand arm fists=fist mouth waist bow leg foot way sword slashes=slash "
        "jabs=jab steps=step goodbye kick dance music air head turn response line step degrees=degree chest "
        "mood manner arms=arm speed place "
        "confidence energy lot child performer musical giant thug punk swagger",
        "VERB": "walks=walk runs=run jogs=jog sprints=sprint dashes=dash backs=back moves=move heads=head "
        "bows=bow bends=bend straightens=straighten waves=wave raises=raise says=say waving=wave say "
        "gestures=gesture show=show points=point guides=guide gesturing=gesture puts=put answering=answer "
        "respond=respond cups=cup calls=call shouts=shout cupped=cup throws=throw punches=punch "
        "kicks=kick does=do held=hold swings=swing performs=perform dances=dance turns=turn makes=make "
        "lifts=lift looking=look puffed=puff",
        "ADJ": "several full imaginary few short exhausted happy cheerful "
        "joyful sad gloomy angry furious proud haughty timid shy insecure masculine manly feminine "
        "childish childlike old elderly tired weary energetic lively active youthful young theatrical "
        "huge heavy thuggish unsure ordinary neutral exaggerated street",
        "ADV": "forward straight fast diagonally ahead high away backward backwards off up then very again "
        "politely out normally happily cheerfully sadly "
        "gloomily angrily furiously proudly timidly hesitantly shyly gracefully childishly playfully "
        "slowly tiredly wearily energetically vigorously theatrically rhythmically heavily ponderously "
        "menacingly completely",
    }
    lexicon: dict[str, tuple[str, str]] = {}
    for pos, words in table.items():
        for entry in words.split():
            word, _, lemma = entry.partition("=")
            # Only nouns and verbs are lemmatised, as in the reference.
            lexicon[word] = (lemma or word if pos in ("NOUN", "VERB") else word, pos)
    return lexicon


LEXICON = _lexicon()
_DIRECTIONS = ("left", "right")
_ADJ_BEFORE_NOUN = ("straight",)  # "walks straight ahead" (ADV) but "in a straight line" (ADJ)


def tag_caption(text: str) -> tuple[str, ...]:
    """``word/POS`` tokens of a caption, HumanML3D style (lower case, alphabetic words only)."""
    words = [w for w in re.split(r"[^a-z]+", text.lower().replace("-", "")) if w]
    tokens = []
    for index, word in enumerate(words):
        if word in _DIRECTIONS:
            following = LEXICON.get(words[index + 1], ("", ""))[1] if index + 1 < len(words) else ""
            previous = words[index - 1] if index else ""
            pos = "ADJ" if following == "NOUN" else "NOUN" if previous == "the" else "ADV"
            tokens.append(f"{word}/{pos}")
            continue
        lemma, pos = LEXICON.get(word, (word, "X"))
        following = LEXICON.get(words[index + 1], ("", ""))[1] if index + 1 < len(words) else ""
        if word in _ADJ_BEFORE_NOUN and following == "NOUN":
            pos = "ADJ"
        tokens.append(f"{lemma}/{pos}")
    return tuple(tokens)
