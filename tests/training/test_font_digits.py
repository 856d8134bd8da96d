"""Digits drawn from handwriting fonts (training.font_digits) and the font list (training.fetch_fonts)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from training.fetch_fonts import FONT_LIST, read_font_list
from training.font_digits import find_fonts, font_glyphs, render_font_digits


@pytest.fixture(scope="module")
def font_dir(tmp_path_factory) -> Path:
    """A folder with two real fonts (matplotlib's DejaVu, installed with the project), a
    corrupt font file and a text file that is no font."""
    import matplotlib

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    folder = tmp_path_factory.mktemp("fonts")
    (folder / "nested").mkdir()
    shutil.copy(source / "DejaVuSans.ttf", folder / "DejaVuSans.ttf")
    shutil.copy(source / "DejaVuSerif-Italic.ttf", folder / "nested" / "DejaVuSerif-Italic.ttf")
    (folder / "broken.ttf").write_bytes(b"not a font at all" * 10)
    (folder / "README.txt").write_text("fonts", encoding="utf-8")
    return folder


def test_find_fonts_looks_recursively_and_only_at_fonts(font_dir):
    names = [path.name for path in find_fonts(font_dir)]
    assert names == ["DejaVuSans.ttf", "broken.ttf", "DejaVuSerif-Italic.ttf"]
    with pytest.raises(FileNotFoundError):
        find_fonts(font_dir / "absent")


def test_font_glyphs_are_ten_distinct_digits_and_bad_fonts_are_skipped(font_dir):
    glyphs = font_glyphs(font_dir / "DejaVuSans.ttf")
    assert glyphs is not None and len(glyphs) == 10
    assert all(glyph.dtype == np.uint8 and glyph.ndim == 2 and glyph.max() == 255 for glyph in glyphs)
    assert glyphs[1].shape[1] < glyphs[0].shape[1], "a 1 is narrower than a 0"
    assert font_glyphs(font_dir / "broken.ttf") is None


def test_rendered_digits_are_framed_like_mnist(font_dir):
    images, labels, used = render_font_digits(find_fonts(font_dir), copies=3, seed=1)
    assert used == ["DejaVuSans.ttf", "DejaVuSerif-Italic.ttf"]
    assert images.shape == (60, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.uint8 and np.bincount(labels).tolist() == [6] * 10
    for image in images:
        rows, columns = np.nonzero(image)
        assert max(rows.max() - rows.min(), columns.max() - columns.min()) + 1 <= 22, "ink fits MNIST's 20-px box"
        weights = image.astype(np.float64)
        ys, xs = np.indices(image.shape)
        center = ((ys * weights).sum() / weights.sum(), (xs * weights).sum() / weights.sum())
        assert abs(center[0] - 13.5) <= 1.5 and abs(center[1] - 13.5) <= 1.5
    again, _, _ = render_font_digits(find_fonts(font_dir), copies=3, seed=1)
    assert np.array_equal(images, again), "a seed gives the same digits"
    other, _, _ = render_font_digits(find_fonts(font_dir), copies=3, seed=2)
    assert not np.array_equal(images, other), "copies are distorted at random"
    with pytest.raises(ValueError):
        render_font_digits(find_fonts(font_dir), copies=0)


def test_the_classifier_reads_font_digits(font_dir, shipped_classifier):
    """Framed as MNIST frames its digits, a plain font's digits read as what they are."""
    images, labels, _ = render_font_digits([font_dir / "DejaVuSans.ttf"], copies=5, seed=3)
    predicted = shipped_classifier.predict_probabilities(images.astype(np.float32) / 255.0).argmax(axis=1)
    assert (predicted == labels).mean() >= 0.9


def test_the_font_list_parses():
    specs = read_font_list(FONT_LIST)
    assert len(specs) >= 100
    assert all(spec.file.endswith(".woff2") and spec.file.startswith(spec.package) for spec in specs)
    assert len({spec.package for spec in specs}) == len(specs)


def test_a_malformed_font_list_is_refused(tmp_path):
    bad = tmp_path / "fonts.txt"
    bad.write_text("# comment\ncaveat 5.3.0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="fonts.txt:2"):
        read_font_list(bad)
