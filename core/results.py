"""Result types: one per digit, one per photo."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Below this softmax probability a digit is reported as a low-confidence guess.
LOW_CONFIDENCE = 0.80


@dataclass(frozen=True)
class DigitPrediction:
    """The classifier's answer for one digit.

    Attributes:
        digit: the most probable class, 0-9.
        confidence: its softmax probability, in [0, 1].
        top3: the three most probable ``(digit, probability)`` pairs, most probable first.
        probabilities: float32 (10,), each digit's probability (softmax over the logits);
            they sum to ``1 - not_a_digit``.
        image: float32 (28, 28) in [0, 1], white digit on black: what the model saw.
        bounding_box: ``(x, y, width, height)`` of the digit in the decoded photo, in pixels
            (after EXIF orientation; large JPEGs are decoded at 1/2 to 1/8 scale), or None
            when the input was already a 28x28 image.
        not_a_digit: probability that the mark is no single digit (a fragment, touching
            digits, a line piece, a tick), in [0, 1]; 0.0 for models without that output.
    """

    digit: int
    confidence: float
    top3: tuple[tuple[int, float], ...]
    probabilities: np.ndarray = field(repr=False, compare=False)
    image: np.ndarray = field(repr=False, compare=False)
    bounding_box: tuple[int, int, int, int] | None = None
    not_a_digit: float = 0.0

    @property
    def is_digit(self) -> bool:
        """False when the model's "not a digit" output beats every digit (always True for
        models without that output)."""
        return self.not_a_digit <= self.confidence

    @property
    def low_confidence(self) -> bool:
        """True when the confidence is below :data:`LOW_CONFIDENCE`."""
        return self.confidence < LOW_CONFIDENCE

    def to_dict(self) -> dict:
        """JSON-ready form: ``{"digit": 4, "confidence": 0.97, "top3": [[4, 0.97], ...], "not_a_digit": 0.01}``."""
        return {
            "digit": self.digit,
            "confidence": round(self.confidence, 4),
            "top3": [[digit, round(probability, 4)] for digit, probability in self.top3],
            "not_a_digit": round(self.not_a_digit, 4),
        }


@dataclass(frozen=True)
class PhotoReading:
    """Everything read from one photo.

    Two readers look at a photo: the digit classifier on each mark segmentation found
    (the per-digit path) and the number reader on the whole line (:mod:`core.reader`).

    Attributes:
        digits: the digits found, left to right.
        width, height: size of the decoded photo in pixels (after EXIF orientation and any
            JPEG scale-down at decoding).
        method: which reading is given: ``"both"`` (the two readers agree), ``"digits"``
            (the per-digit path's), ``"line"`` (the number reader's).
        line_text: what the number reader read ("" when it read nothing), or None when it
            was not run (no reader installed, or a single 28x28 image).
        runner_up: the other reader's reading when the two disagree, else "".
        runner_up_confidence: its confidence in [0, 1] (0.0 when there is none).
        number_confidence: confidence of the whole number in [0, 1] when it is not the
            product of the digits' (the readers disagreed), else None.
        other_lines: further lines of writing in the photo, above or below the line read,
            that were not read (:attr:`core.preprocessing.Segmentation.other_lines`); 0 when
            the photo holds one line.
    """

    digits: tuple[DigitPrediction, ...]
    width: int = 0
    height: int = 0
    method: str = "digits"
    line_text: str | None = None
    runner_up: str = ""
    runner_up_confidence: float = 0.0
    number_confidence: float | None = None
    other_lines: int = 0

    @property
    def number(self) -> str:
        """The digits as text, left to right (may start with 0), e.g. ``"2024"``."""
        return "".join(str(prediction.digit) for prediction in self.digits)

    @property
    def confidence(self) -> float:
        """Confidence of the whole number: the product of the digits' probabilities, or
        :attr:`number_confidence` when the readers disagreed."""
        if self.number_confidence is not None:
            return self.number_confidence
        return float(np.prod([prediction.confidence for prediction in self.digits])) if self.digits else 0.0

    @property
    def line_reader_read_nothing(self) -> bool:
        """True when the number reader read the line and found no digit in it, and the per-digit
        reading was given alone: the marks may be no digits at all (a border, a stroke), and
        the digits' confidences say so (``core.classifier.SILENT_READER_DIGIT_SCALE``)."""
        return self.method == "digits" and self.line_text == ""

    @property
    def low_confidence(self) -> bool:
        """True when any digit is a low-confidence guess (see :attr:`runner_up` for the readers' disagreement)."""
        return any(prediction.low_confidence for prediction in self.digits)

    def to_dict(self) -> dict:
        """JSON-ready form: ``{"number": "42", "confidence": 0.98, "method": "both",
        "line_reader": "42", "runner_up": null, "other_lines": 0, "digits": [...]}``; ``runner_up``
        is ``{"number": "47", "confidence": 0.31}`` when the readers disagree."""
        return {
            "number": self.number,
            "confidence": round(self.confidence, 4),
            "method": self.method,
            "line_reader": self.line_text,
            "runner_up": ({"number": self.runner_up, "confidence": round(self.runner_up_confidence, 4)}
                          if self.runner_up else None),
            "other_lines": self.other_lines,
            "digits": [prediction.to_dict() for prediction in self.digits],
        }
