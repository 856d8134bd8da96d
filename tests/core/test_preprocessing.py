"""Preprocessing: MNIST-style normalisation properties, polarity, segmentation, bad input."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from photos import paper, place_digits, to_jpeg, to_png

from core import preprocessing as pp
from core.errors import ImageTooLargeError, ImageTooSmallError, NoDigitFoundError, UnreadableImageError


def _ring(size=200, thickness=14) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    cv2.ellipse(mask, (size // 2, size // 2), (size // 3, size // 2 - 10), 0, 0, 360, 255, thickness)
    return mask


def _bar(height=160, width=18, offset=(30, 70), canvas=(220, 240)) -> np.ndarray:
    mask = np.zeros(canvas, np.uint8)
    top, left = offset
    mask[top:top + height, left:left + width] = 255
    return mask


def _blob_off_centre() -> np.ndarray:
    mask = np.zeros((300, 300), np.uint8)
    cv2.circle(mask, (60, 230), 40, 255, 12)
    cv2.line(mask, (60, 190), (160, 120), 255, 12)
    return mask


@pytest.mark.parametrize("shape", [_ring(), _bar(), _blob_off_centre()], ids=["ring", "bar", "off-centre"])
def test_normalized_digit_is_mnist_like(shape):
    image = pp.normalize_digit(shape)
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.max() > 0.5
    row, column = pp.center_of_mass(image)
    assert abs(row - 13.5) <= 1.0 and abs(column - 13.5) <= 1.0
    rows = np.flatnonzero((image > 0.05).any(axis=1))
    columns = np.flatnonzero((image > 0.05).any(axis=0))
    # 20 px box plus at most one pixel of bilinear spread from the sub-pixel centring shift.
    assert rows[-1] - rows[0] + 1 <= 21 and columns[-1] - columns[0] + 1 <= 21


def test_fit_in_box_keeps_aspect_ratio():
    fitted = pp.fit_in_box(np.ones((100, 25), np.float32))
    assert fitted.shape == (20, 5)


def test_thin_strokes_are_thickened_like_mnist():
    thin = np.zeros((400, 400), np.uint8)
    cv2.circle(thin, (200, 200), 150, 255, 3)  # a pen stroke 0.2 px wide once scaled to 20 px
    image = pp.normalize_digit(thin)
    assert (image > 0.5).sum() > 40, "a thin ring must still be a visible ring at 28x28"


def test_inverted_photo_gives_the_same_digit_image(mnist_sample):
    x, _ = mnist_sample
    page = place_digits(paper(), [x[0]], height=300, left=300, top=200)
    dark_on_light = pp.segment_photo(np.round(page * 255).astype(np.uint8))
    light_on_dark = pp.segment_photo(np.round((1 - page) * 255).astype(np.uint8))
    assert light_on_dark.inverted and not dark_on_light.inverted
    assert len(dark_on_light.digit_images) == len(light_on_dark.digit_images) == 1
    difference = np.abs(dark_on_light.digit_images[0] - light_on_dark.digit_images[0]).mean()
    assert difference < 0.05


def test_mnist_image_itself_is_read_as_one_digit(mnist_sample):
    x, _ = mnist_sample
    segmentation = pp.segment_photo(x[1])
    assert segmentation.digit_images.shape == (1, 28, 28)


def test_digits_are_ordered_left_to_right(mnist_sample):
    x, y = mnist_sample
    picks = [index for index in range(50) if y[index] != 1][:4]  # thin 1s are tested elsewhere
    page = place_digits(paper(600, 1200), [x[i] for i in picks], height=180, left=120, top=200)
    segmentation = pp.segment_photo(np.round(page * 255).astype(np.uint8))
    assert len(segmentation.boxes) == 4
    lefts = [box[0] for box in segmentation.boxes]
    assert lefts == sorted(lefts)


def test_ruled_lines_are_removed(mnist_sample):
    x, _ = mnist_sample
    page = paper()
    for row in range(60, 720, 60):
        page[row:row + 3, :] *= 0.55
    page = place_digits(page, [x[3]], height=220, left=380, top=250)
    segmentation = pp.segment_photo(np.round(page * 255).astype(np.uint8))
    assert len(segmentation.boxes) == 1
    _, top, _, height = segmentation.working_boxes[0]
    assert height < 260, "a ruled line was taken for part of the digit"


def test_stem_of_a_digit_in_a_tight_crop_is_not_a_ruled_line():
    # A tight crop of "17": the stems span most of the height, like a vertical ruled line
    # would, but they are thick for their length and must stay.
    mask = np.zeros((170, 320), np.uint8)
    mask[15:160, 60:74] = 255                                    # the 1
    mask[15:29, 150:250] = 255                                   # the 7's bar
    cv2.line(mask, (245, 20), (205, 160), 255, 14)               # the 7's stem
    cleaned = pp.remove_lines(mask)
    assert np.count_nonzero(cleaned) > 0.95 * np.count_nonzero(mask)


@pytest.mark.parametrize("digit_height", [60, 90, 120])
def test_table_along_the_border_is_not_read(mnist_sample, digit_height):
    # A number on paper lying on a dark, grainy table that fills the bottom seventh.
    x, y = mnist_sample
    picks = [int(np.flatnonzero(y == digit)[0]) for digit in (8, 0, 3)]
    page = place_digits(paper(1000, 750), [x[i] for i in picks], height=digit_height, left=100, top=150)
    rng = np.random.default_rng(5)
    page[860:] = np.clip(0.15 + rng.normal(0, 0.15, page[860:].shape), 0, 1)
    segmentation = pp.segment_photo(np.round(page * 255).astype(np.uint8))
    assert len(segmentation.boxes) == 3
    assert all(box[1] + box[3] < 860 for box in segmentation.boxes)


@pytest.mark.parametrize(
    "page",
    [
        paper(seed=1),
        np.clip(np.random.default_rng(2).normal(0.5, 0.2, (480, 640)), 0, 1).astype(np.float32),
        np.full((480, 640), 0.8, np.float32),
    ],
    ids=["blank-paper", "noise", "flat-grey"],
)
def test_no_digit_is_said_clearly(page):
    with pytest.raises(NoDigitFoundError) as info:
        pp.segment_photo(np.round(page * 255).astype(np.uint8))
    assert "digit" in info.value.user_message


def test_filled_shape_is_not_a_digit():
    page = paper()
    cv2.rectangle(page, (300, 200), (600, 500), 0.1, -1)
    with pytest.raises(NoDigitFoundError):
        pp.segment_photo(np.round(page * 255).astype(np.uint8))


# --- bad bytes -------------------------------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_empty_bytes():
    with pytest.raises(UnreadableImageError, match="empty"):
        pp.decode_image(b"")


def test_text_file():
    with pytest.raises(UnreadableImageError):
        pp.decode_image(b"Dear bot,\nthis is a letter, not a photo.\n" * 20)


def test_truncated_jpeg():
    jpeg = to_jpeg(paper())
    with pytest.raises(UnreadableImageError, match="cut off"):
        pp.decode_image(jpeg[: len(jpeg) // 2])


def test_huge_png_is_refused_before_decoding():
    with pytest.raises(ImageTooLargeError) as info:
        pp.decode_image(_png_header_only(20000, 20000))
    assert "too large" in info.value.user_message


def test_one_pixel_image():
    with pytest.raises(ImageTooSmallError):
        pp.decode_image(to_png(np.zeros((1, 1), np.uint8)))


@pytest.mark.parametrize("extension", [".png", ".webp", ".bmp", ".tiff", ".jpg"])
def test_supported_formats_decode(extension):
    image = np.round(paper(120, 160) * 255).astype(np.uint8)
    ok, buffer = cv2.imencode(extension, image)
    assert ok
    decoded = pp.decode_image(buffer.tobytes())
    assert decoded.shape == (120, 160) and decoded.dtype == np.uint8


def test_exif_orientation_is_applied():
    from io import BytesIO

    from PIL import Image

    image = Image.fromarray(np.round(paper(100, 300) * 255).astype(np.uint8))  # landscape pixels
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": the photo is really portrait
    buffer = BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    assert pp.decode_image(buffer.getvalue()).shape == (300, 100)
