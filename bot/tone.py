"""How an answer or a notice should feel to the reader; decided in `bot/`, never guessed by a
renderer from the wording."""

from __future__ import annotations

from enum import StrEnum


class Tone(StrEnum):
    INFO = "info"  # neutral: a list, a form, "nothing changed"
    SUCCESS = "success"  # what the user wanted happened
    ATTENTION = "attention"  # it worked, but someone must act (a warning, a spent reminder)
    FAILURE = "failure"  # it did not work, or a step failed or expired

    @classmethod
    def _missing_(cls, value: object) -> Tone | None:
        """Ledger rows written before the rename said "warning" and "error"."""
        return {"warning": cls.ATTENTION, "error": cls.FAILURE}.get(str(value))

    @staticmethod
    def worst(tones: list[Tone]) -> Tone:
        """The tone of several things at once: one failure makes the whole a failure."""
        order = (Tone.FAILURE, Tone.ATTENTION, Tone.SUCCESS, Tone.INFO)
        return next((t for t in order if t in tones), Tone.INFO)
