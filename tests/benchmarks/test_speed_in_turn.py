"""benchmarks.speed --against: two checkouts timed in turn, each in a process of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def few_photos(monkeypatch):
    """Three of the committed one-digit photos, and no numbers (no MNIST needed; a short run)."""
    from benchmarks import speed

    if not (speed.SYNTH / "labels.csv").is_file():
        pytest.skip(f"{speed.SYNTH} is missing")
    photos = speed.photos_1280x960(3)
    monkeypatch.setattr(speed, "photos_1280x960", lambda limit: photos)
    monkeypatch.setattr(speed, "numbers_1280x960", lambda count: [])
    return speed


def test_two_checkouts_give_a_p50_per_round_and_the_difference(few_photos, tmp_path, capsys):
    other = tmp_path / "other"
    other.symlink_to(ROOT, target_is_directory=True)  # the same code under another name
    assert few_photos.main(["--against", str(other), "--rounds", "2", "--repeats", "2"]) == 0
    printed = capsys.readouterr().out
    rows = {role: cells for name, role, cells in re.findall(r"^(\S+) \((this|other)\) +(.*)$", printed, re.M)}
    assert set(rows) == {"this", "other"}
    for cells in rows.values():
        values = [float(value) for value in cells.split()]
        assert len(values) == 2 and all(0.1 < value < 5000 for value in values)  # two rounds, ms
    assert re.search(r"^this less .*other, median over rounds: one digit [+-]\d+\.\d\d ms$", printed, re.M)


def test_a_checkout_that_cannot_read_is_reported(few_photos, tmp_path, capsys):
    broken = tmp_path / "broken"
    (broken / "core").mkdir(parents=True)
    (broken / "core" / "__init__.py").write_text("")
    (broken / "core" / "classifier.py").write_text("raise ImportError('this checkout cannot read photos')\n")
    assert few_photos.main(["--against", str(broken), "--rounds", "1", "--repeats", "1"]) == 1
    assert "this checkout cannot read photos" in capsys.readouterr().err


@pytest.mark.parametrize("folder", ["empty", "this"])
def test_no_checkout_or_this_one_is_refused(tmp_path, folder):
    from benchmarks import speed

    with pytest.raises(SystemExit) as exited:
        speed.main(["--against", str(tmp_path if folder == "empty" else ROOT)])
    assert exited.value.code == 2


def test_with_no_photos_at_all_it_says_so(monkeypatch, tmp_path, capsys):
    from benchmarks import speed

    monkeypatch.setattr(speed, "SYNTH", tmp_path / "missing")
    monkeypatch.setattr(speed, "numbers_1280x960", lambda count: [])
    other = tmp_path / "other"
    other.symlink_to(ROOT, target_is_directory=True)
    assert speed.main(["--against", str(other)]) == 1
    assert "no photos to time" in capsys.readouterr().err
