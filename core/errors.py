"""Errors for bad input, each carrying a message fit to show a user."""

from __future__ import annotations


class DigitImageError(Exception):
    """Base class: the photo cannot be read as digits. ``str(error)`` is user-facing text.

    Attributes:
        user_message: a short, friendly sentence for the person who sent the photo.
        tip: advice on what to do instead (may be empty).
    """

    default_message = "I couldn't read that image."
    default_tip = ""

    def __init__(self, user_message: str | None = None, *, tip: str | None = None, detail: str = ""):
        self.user_message = user_message or self.default_message
        self.tip = self.default_tip if tip is None else tip
        self.detail = detail  # technical detail for logs, never shown to users
        super().__init__(self.user_message)


class UnreadableImageError(DigitImageError):
    """The bytes are empty, truncated, corrupt, or not an image format we read."""

    default_message = "That file isn't an image I can open (it may be corrupt or another kind of file)."
    default_tip = "Send a photo (JPEG, PNG, HEIC, WebP, GIF, BMP or TIFF) of a digit written on paper."


class ImageTooLargeError(DigitImageError):
    """The image has too many pixels or too many bytes (decompression-bomb guard)."""

    default_message = "That image is too large for me to read."
    default_tip = "Send a normal phone photo; anything up to about 40 megapixels works."


class ImageTooSmallError(DigitImageError):
    """The image is too small to hold a readable digit (e.g. 1x1)."""

    default_message = "That image is too small to hold a readable digit."
    default_tip = "Photograph the digit so it fills a good part of the picture."


class NoDigitFoundError(DigitImageError):
    """The image decoded, but nothing in it looks like a handwritten digit.

    Attributes:
        reason: why, one of :attr:`REASONS` (``""``: not said). Callers speaking another
            language than English tell the cases apart by it (``bot.messages``).
    """

    default_message = "I couldn't find a handwritten digit in that picture."
    default_tip = (
        "Write the digit in dark ink on plain paper, fill a good part of the frame with it, "
        "and take the photo in even light."
    )

    #: Why nothing was read, by reason code: the user-facing sentence in English. "What I saw"
    #: (``core.visualize.render_no_digit_png``) and ``digitbot predict`` show it.
    REASONS = {
        "blank": "I found no ink: the picture looks blank to me.",
        "border": "I found only specks, or marks along the edges (a table, a finger, a page edge or a ruled line).",
        "texture": "I found only texture or specks, nothing shaped like writing.",
        "faint": "The marks I found are filled blobs or too faint to trace.",
        "small": "The marks I found are too small to read.",
        "shapes": "The marks I found are shapes, not pen strokes.",
        "not_digits": "No mark I found looks like a digit to me.",
    }

    #: Advice for some reasons, in English, instead of :attr:`default_tip`.
    TIPS = {
        "blank": "Make sure the digit is in the picture, written dark enough to see.",
        "border": "Photograph the digit on the paper alone: away from the table's edge, your fingers and ruled lines.",
        "faint": "Write with a darker pen, or take the photo in brighter, even light.",
        "small": "Photograph the digit from closer, so it fills a good part of the picture.",
    }

    def __init__(self, user_message: str | None = None, *, tip: str | None = None, detail: str = "",
                 reason: str = ""):
        """``tip`` None: the reason's from :attr:`TIPS`, else :attr:`default_tip`.

        Raises:
            ValueError: ``reason`` is neither ``""`` nor a key of :attr:`REASONS`."""
        if reason and reason not in self.REASONS:
            raise ValueError(f"unknown reason {reason!r}; expected one of {sorted(self.REASONS)}")
        self.reason = reason
        super().__init__(user_message, tip=self.TIPS.get(reason) if tip is None else tip, detail=detail)

    @property
    def reason_text(self) -> str:
        """The English sentence for :attr:`reason`, or ``""`` when no reason is given."""
        return self.REASONS.get(self.reason, "")
