"""The one check of a prompt's text, shared by the CLI, the Python API and the server (light: no torch)."""

from __future__ import annotations

from lead.errors import LeadError

MAX_TEXT_CHARS = 500


def check_characters(text: str, what: str) -> None:
    """Refuse lone surrogates in `text` (a prompt, a token, an init word), naming `what` and the byte."""
    for position, char in enumerate(text, 1):
        if "\ud800" <= char <= "\udfff":
            if "\udc80" <= char <= "\udcff":
                raise LeadError(f"{what} is not UTF-8 (byte 0x{ord(char) - 0xDC00:02x} at character {position}); "
                                "give it as UTF-8 text")
            raise LeadError(f"{what} holds a lone surrogate U+{ord(char):04X} at character {position}, which is "
                            "not a character; give it as UTF-8 text")


def clean_text(text: object, max_chars: int = MAX_TEXT_CHARS) -> str:
    """`text` with its whitespace runs (spaces, tabs, U+2028, form feeds, ...) made one space and stripped.

    Refused with one line: a non-string, an empty text, text longer than `max_chars`, and code points that are
    no characters: lone surrogates, which is what Python makes of bytes that are not UTF-8 in a command-line
    argument (U+DC80..U+DCFF stand for the bytes 0x80..0xFF) and what a JSON "\\ud800" escape gives."""
    if not isinstance(text, str):
        raise LeadError(f"the text must be a string, got {type(text).__name__}")
    check_characters(text, "the text")
    cleaned = " ".join(text.split())
    if not cleaned:
        raise LeadError("empty text: describe the motion, e.g. 'a person waves with the right hand'")
    if len(cleaned) > max_chars:
        raise LeadError(f"text is {len(cleaned)} characters long; at most {max_chars} are accepted")
    return cleaned
