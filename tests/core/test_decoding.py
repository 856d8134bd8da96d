"""Odd but ordinary image files read like photos: transparent PNGs, HEIC/HEIF, GIFs, 16-bit and CMYK."""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
import pytest
from photos import handwritten, paper, place_digits, to_png
from PIL import Image

from core import preprocessing as pp
from core.errors import NoDigitFoundError

#: The MNIST digit drawn in these tests, and where (pixels of a 320 x 240 picture).
DIGIT, DIGIT_HEIGHT, DIGIT_LEFT, DIGIT_TOP = 3, 160, 40, 40


def _page() -> np.ndarray:
    """uint8 (240, 320): a handwritten 3 as dark ink on paper, in the picture's left half."""
    page = place_digits(paper(240, 320), [handwritten(DIGIT)], DIGIT_HEIGHT, DIGIT_LEFT, DIGIT_TOP)
    return np.round(page * 255).astype(np.uint8)


def _stroke_alpha() -> np.ndarray:
    """uint8 (240, 320): the 3's strokes as alpha, anti-aliased (upscaled with cubic interpolation)."""
    alpha = np.zeros((240, 320), np.float32)
    digit = cv2.resize(handwritten(DIGIT).astype(np.float32), (DIGIT_HEIGHT, DIGIT_HEIGHT),
                       interpolation=cv2.INTER_CUBIC)
    alpha[DIGIT_TOP:DIGIT_TOP + DIGIT_HEIGHT, DIGIT_LEFT:DIGIT_LEFT + DIGIT_HEIGHT] = digit
    return np.round(np.clip(alpha, 0, 255)).astype(np.uint8)


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _read(data: bytes) -> pp.Segmentation:
    """Decode and segment, failing on any warning (numpy's division by zero among them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return pp.segment_photo(pp.decode_image(data))


def _assert_one_digit_where_drawn(segmentation: pp.Segmentation, scale: float = 1.0) -> None:
    """One digit, its box within the frame the 3 was drawn in (``scale``: decoded / drawn size)."""
    assert len(segmentation.boxes) == 1
    x, y, w, h = segmentation.boxes[0]
    left, top, size = DIGIT_LEFT * scale, DIGIT_TOP * scale, DIGIT_HEIGHT * scale
    assert left - 2 <= x and x + w <= left + size + 2
    assert top - 2 <= y and y + h <= top + size + 2
    assert h > 0.5 * size


def _reference_digit() -> np.ndarray:
    """float32 (28, 28): the model input from the same page saved as an ordinary PNG."""
    return pp.segment_photo(pp.decode_image(to_png(_page()))).digit_images[0]


# --- transparency ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
@pytest.mark.parametrize("stroke, hidden", [(0, 0), (0, 255), (255, 0), (255, 255)])
def test_strokes_on_a_transparent_background_read_as_a_digit(mode, stroke, hidden):
    # A drawing app's export: black or white strokes, the transparent pixels' hidden colour
    # black (the usual) or white.
    alpha = _stroke_alpha()
    colour = np.where(alpha > 0, stroke, hidden).astype(np.uint8)
    channels = [colour] * (3 if mode == "RGBA" else 1) + [alpha]
    data = _encode(Image.fromarray(np.dstack(channels), mode), "PNG")

    segmentation = _read(data)

    _assert_one_digit_where_drawn(segmentation)
    assert segmentation.inverted == (stroke == 255)  # white strokes go on black
    assert np.abs(segmentation.digit_images[0] - _reference_digit()).mean() < 0.05


def test_a_transparent_webp_reads_as_a_digit():
    alpha = _stroke_alpha()
    rgba = np.dstack([np.zeros_like(alpha)] * 3 + [alpha])
    _assert_one_digit_where_drawn(_read(_encode(Image.fromarray(rgba, "RGBA"), "WEBP", lossless=True)))


@pytest.mark.parametrize("stroke, background", [(0, 255), (90, 255), (255, 0), (200, 0)])
def test_semi_transparent_edges_blend_over_the_background(stroke, background):
    # A bar whose alpha ramps from 0 to 255 across it, on a transparent picture.
    alpha = np.zeros((100, 256), np.uint8)
    alpha[40:60] = np.arange(256, dtype=np.uint8)
    gray = np.full_like(alpha, stroke)
    data = _encode(Image.fromarray(np.dstack([gray, alpha]), "LA"), "PNG")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decoded = pp.decode_image(data)

    a = alpha.astype(np.float64) / 255
    expected = stroke * a + background * (1 - a)
    assert decoded.dtype == np.uint8 and decoded.shape == (100, 256)
    assert np.abs(decoded - expected).max() <= 0.5 + 1e-9


def test_transparent_corners_of_a_photo_take_the_papers_side():
    # Mostly opaque: the opaque pixels are paper, and the corners must not become a dark frame.
    page = _page()
    alpha = np.full_like(page, 255)
    alpha[:30, :30] = alpha[:30, -30:] = alpha[-30:, :30] = alpha[-30:, -30:] = 0
    rgba = np.dstack([np.zeros_like(page)] * 3 + [alpha])
    rgba[..., :3] = np.where(alpha[..., None] > 0, page[..., None], 0)

    decoded = pp.decode_image(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))

    assert (decoded[:30, :30] == 255).all()
    np.testing.assert_array_equal(decoded[alpha > 0], page[alpha > 0])


def test_a_picture_transparent_throughout_is_blank():
    data = _encode(Image.new("RGBA", (120, 90), (0, 0, 0, 0)), "PNG")
    with pytest.raises(NoDigitFoundError):
        _read(data)


def test_an_opaque_alpha_channel_changes_nothing():
    page = _page()
    opaque = np.dstack([page] * 3 + [np.full_like(page, 255)])
    decoded = pp.decode_image(_encode(Image.fromarray(opaque, "RGBA"), "PNG"))
    np.testing.assert_array_equal(decoded, pp.decode_image(to_png(page)))


def test_a_black_page_is_no_digit_without_a_numpy_warning():
    with pytest.raises(NoDigitFoundError):
        _read(to_png(np.zeros((120, 160), np.uint8)))


def test_flatten_alpha_picks_the_background_the_strokes_stand_out_on():
    alpha = np.zeros((10, 10), np.uint8)
    alpha[4:6] = 255
    assert pp.flatten_alpha(np.zeros_like(alpha), alpha)[0, 0] == 255  # dark strokes: white
    assert pp.flatten_alpha(np.full_like(alpha, 250), alpha)[0, 0] == 0  # light strokes: black
    assert (pp.flatten_alpha(np.zeros_like(alpha), np.zeros_like(alpha)) == 255).all()


# --- HEIC / HEIF -------------------------------------------------------------------------------


def _heif(image: Image.Image, orientation: int | None = None) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()  # for Image.save(format="HEIF")
    options = {"quality": 90}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    return _encode(image.convert("RGB"), "HEIF", **options)


def test_heif_photo_reads_as_a_digit():
    data = _heif(Image.fromarray(_page()))

    assert pp.probe_image(data) == ("HEIF", 320, 240)
    segmentation = _read(data)
    _assert_one_digit_where_drawn(segmentation)
    assert np.abs(segmentation.digit_images[0] - _reference_digit()).mean() < 0.05


def test_heif_orientation_is_applied():
    # An iPhone held upright stores landscape pixels and the instruction to turn them:
    # EXIF orientation 6, "rotate 90 degrees clockwise to display".
    page = _page()
    data = _heif(Image.fromarray(page), orientation=6)

    decoded = pp.decode_image(data)

    assert decoded.shape == (320, 240)
    upright = np.rot90(page, k=-1)  # clockwise
    assert np.abs(decoded.astype(int) - upright).mean() < 3
    assert len(_read(data).boxes) == 1


# --- GIF ---------------------------------------------------------------------------------------


def test_a_gif_reads_as_a_digit():
    data = _encode(Image.fromarray(_page()), "GIF")
    assert pp.probe_image(data) == ("GIF", 320, 240)
    _assert_one_digit_where_drawn(_read(data))


def test_an_animated_gif_is_read_from_its_first_frame():
    first = Image.fromarray(_page())
    second = Image.fromarray(np.ascontiguousarray(_page()[:, ::-1]))  # the 3 mirrored, on the right
    data = _encode(first, "GIF", save_all=True, append_images=[second], duration=500, loop=0)
    with Image.open(io.BytesIO(data)) as image:
        assert image.n_frames == 2

    decoded = pp.decode_image(data)

    np.testing.assert_array_equal(decoded, np.asarray(first.convert("P").convert("L")))
    _assert_one_digit_where_drawn(_read(data))


def test_a_gif_with_a_transparent_background_reads_as_a_digit():
    alpha = _stroke_alpha()
    # Two palette colours: 0 the strokes' black, 1 the transparent background.
    indices = np.where(alpha >= 128, 0, 1).astype(np.uint8)
    image = Image.fromarray(indices, "P")
    image.putpalette([0, 0, 0, 0, 0, 0])
    segmentation = _read(_encode(image, "GIF", transparency=1))
    _assert_one_digit_where_drawn(segmentation)
    assert not segmentation.inverted


# --- formats that already worked ---------------------------------------------------------------


def test_a_16_bit_png_reads_as_a_digit():
    page = _page()
    ok, buffer = cv2.imencode(".png", page.astype(np.uint16) * 257)
    assert ok
    with Image.open(io.BytesIO(buffer.tobytes())) as image:
        assert image.mode == "I;16"

    decoded = pp.decode_image(buffer.tobytes())

    assert decoded.dtype == np.uint8
    assert np.abs(decoded.astype(int) - page).max() <= 1
    _assert_one_digit_where_drawn(_read(buffer.tobytes()))


def test_a_cmyk_jpeg_reads_as_a_digit():
    page = _page()
    data = _encode(Image.fromarray(page).convert("CMYK"), "JPEG", quality=95)

    decoded = pp.decode_image(data)

    assert decoded.shape == page.shape
    assert np.abs(decoded.astype(int) - page).mean() < 3  # not inverted, not washed out
    _assert_one_digit_where_drawn(_read(data))


def test_a_webp_photo_reads_as_a_digit():
    data = _encode(Image.fromarray(_page()).convert("RGB"), "WEBP", quality=90)
    _assert_one_digit_where_drawn(_read(data))


def test_an_opaque_grey_and_alpha_png_reads_as_a_digit():
    page = _page()
    data = _encode(Image.fromarray(np.dstack([page, np.full_like(page, 255)]), "LA"), "PNG")
    np.testing.assert_array_equal(pp.decode_image(data), page)
    _assert_one_digit_where_drawn(_read(data))
