"""Precision and recall of the prompt-coverage warning (lead.models.vocabulary) on a listed set of prompts.

    python benchmarks/prompt_coverage.py [--model DIR] [--markdown]

A prompt is *in vocabulary* when the model was trained on it, said any way (paraphrases, other subjects, styles):
it must not warn. *Out of vocabulary*: motions the data does not hold, motions the model did not learn (kick,
punch, slash, bow: 2-11 training clips), other languages (the MiniLM text encoder reads English only) and text
that is no motion: it must warn. Positive = warns. "tuned" prompts were looked at when the threshold was chosen;
"held out" prompts were written afterwards and not used to choose anything.
"""

from __future__ import annotations

import argparse

from lead.pipeline import TextToMotionPipeline

IN_TUNED = [
    "a person walks forward", "a person walks forward happily", "a person runs forward", "someone runs fast",
    "an elderly person walks forward slowly", "a person walks backwards", "a person walks forward and turns left",
    "a person walks forward and turns right", "someone waves with the left hand", "someone waves with the right hand",
    "a person raises both hands", "a person raises the left hand", "a tired person walks", "a woman walks forward",
    "a man runs", "someone strolls forward", "a person jogs ahead", "the person lifts both arms above the head",
    "someone waves goodbye", "a person waves both hands", "a person dashes forward", "someone walks to the left",
    "a proud person walks", "the person sprints", "a sad person walks slowly", "someone walks in a feminine way",
    "a young person runs energetically", "a person raises the right arm", "the person says bye with the hand",
    "someone walks and turns to the right",
]
OUT_TUNED = [
    "a person jumps", "a person sits down", "a person kicks with the right leg", "someone punches forward",
    "the person bows politely", "a person crawls on the floor", "someone swims", "a person does a cartwheel",
    "a person climbs stairs", "someone throws a ball", "a person lies down", "someone does push-ups",
    "a person squats", "a person jumps over an obstacle", "someone kneels", "a person picks up a box",
    "una persona camina hacia adelante", "eine Person winkt mit der rechten Hand", "人が前に歩く",
    "quelqu'un court vite", "the weather is nice today", "asdf qwerty", "a person plays the guitar",
    "someone rides a bicycle", "a person stretches", "a person slashes with a sword", "a person falls down",
    "someone drinks water", "a person spins around", "someone claps hands",
]
IN_HELD_OUT = [
    "a man walks straight ahead", "the woman jogs forward", "a child runs quickly", "an old man walks",
    "someone walks forward energetically", "a person walks back a few steps", "a person steps backward",
    "someone turns left while walking", "a person walks and makes a right turn", "a girl waves her right hand",
    "a person waves hello with the left hand", "someone waves both arms", "the man lifts his left hand up",
    "a person puts both hands in the air", "a person raises the right hand high", "an exhausted person runs",
    "a masculine person walks forward", "a person walks diagonally to the right", "someone sprints at full speed",
    "a person points the way with the right arm", "the person waves bye-bye with both hands",
    "someone walks forward like an old person", "a happy person jogs", "a weary person walks slowly",
    "a person walks forward confidently",
]
OUT_HELD_OUT = [
    "a person hops on one leg", "someone sits on a chair", "a person kicks a ball", "a boxer throws punches",
    "the person bows deeply", "a person crouches down", "someone dives into a pool", "a person does a backflip",
    "someone climbs a ladder", "a person catches a ball", "someone rolls on the ground", "a person does sit-ups",
    "someone lifts a heavy box", "a person skips rope", "a person does yoga", "someone types on a keyboard",
    "una persona salta", "jemand rennt schnell", "一个人在跳舞", "quelqu'un s'assoit", "the stock market fell",
    "hello world", "a dog runs", "someone eats dinner", "a person swings a golf club",
]


def evaluate(pipe: TextToMotionPipeline, inside: list[str], outside: list[str]) -> dict:
    coverage = pipe.prompt_coverage(inside + outside)
    warned = [item is not None and item.warning is not None for item in coverage]
    true_positive = sum(warned[len(inside):])
    false_positive = sum(warned[:len(inside)])
    missed = len(outside) - true_positive
    precision = true_positive / max(true_positive + false_positive, 1)
    recall = true_positive / max(len(outside), 1)
    errors = [(text, "warned" if flag else "silent", item.similarity, item.nearest_content)
              for text, flag, item, expected in zip(inside + outside, warned, coverage,
                                                    [False] * len(inside) + [True] * len(outside))
              if flag != expected]
    return {"in": len(inside), "out": len(outside), "tp": true_positive, "fp": false_positive, "fn": missed,
            "precision": precision, "recall": recall, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model folder (default: the shipped one)")
    parser.add_argument("--markdown", action="store_true", help="print the docs table")
    args = parser.parse_args()
    pipe = TextToMotionPipeline.from_pretrained(args.model)
    if pipe.vocabulary() is None:
        raise SystemExit(f"{pipe.folder} has no vocabulary card (scripts/vocabulary_card.py writes one)")
    rows = {"tuned": evaluate(pipe, IN_TUNED, OUT_TUNED), "held out": evaluate(pipe, IN_HELD_OUT, OUT_HELD_OUT),
            "all": evaluate(pipe, IN_TUNED + IN_HELD_OUT, OUT_TUNED + OUT_HELD_OUT)}
    print(f"threshold {pipe.vocabulary().threshold:.2f}")
    print("| prompts | in vocabulary | out of vocabulary | warned correctly | false warnings | missed | precision "
          "| recall |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, row in rows.items():
        print(f"| {name} | {row['in']} | {row['out']} | {row['tp']} | {row['fp']} | {row['fn']} | "
              f"{row['precision']:.2f} | {row['recall']:.2f} |")
    for text, what, similarity, content in rows["all"]["errors"]:
        print(f"  wrong: {text!r} {what} (similarity {similarity:.2f}, nearest content {content})")


if __name__ == "__main__":
    main()
