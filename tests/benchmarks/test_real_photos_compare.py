"""``benchmarks.real_photos --json`` and ``--compare``: what was read from each file, and what changed since."""

from __future__ import annotations

import json

import cv2
import numpy as np

from benchmarks import real_photos


def write_crops(root, mnist_sample, labels: list[str]) -> None:
    """A real_digits_dev-like folder of crops: MNIST test digits, black on white, 84 px."""
    images, digits = mnist_sample
    rows = ["file,label,kind,source"]
    for index, label in enumerate(labels):
        image = images[int(np.flatnonzero(digits == int(label))[0])]
        page = 255 - cv2.resize(image, (84, 84), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(root / f"{index:04d}.png"), np.pad(page, 20, constant_values=255))
        rows.append(f"{index:04d}.png,{label},crop,writer{index}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_a_run_is_written_as_json_and_compared_with_an_earlier_one(tmp_path, mnist_sample, capsys):
    data = tmp_path / "real_digits_dev"
    data.mkdir()
    write_crops(data, mnist_sample, ["3", "7"])
    first = tmp_path / "first.json"
    assert real_photos.main(["--data", str(data), "--json", str(first)]) == 0
    results = json.loads(first.read_text(encoding="utf-8"))["results"]
    assert [(r["set_name"], r["file"], r["label"]) for r in results] == [("crops", "0000.png", "3"),
                                                                        ("crops", "0001.png", "7")]
    assert all(r["half"] in ("tune", "check") for r in results)
    # An earlier run that misread the 3: this run wins it back.
    results[0]["read"] = "8"
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"results": results}), encoding="utf-8")
    capsys.readouterr()
    assert real_photos.main(["--data", str(data), "--compare", str(earlier)]) == 0
    report = capsys.readouterr().out
    assert f"Changed since {earlier}" in report
    won = next(line for line in report.splitlines() if line.startswith("crops") and "+crops/0000.png" in line)
    assert won.split()[2:6] == ["1", "0", "+1", "1.000"]
    assert any(line.startswith("all sets") for line in report.splitlines())


def test_compare_refuses_a_file_that_is_no_earlier_run(tmp_path, capsys):
    not_a_run = tmp_path / "old.json"
    not_a_run.write_text(json.dumps({"summary": {}}), encoding="utf-8")
    assert real_photos.main(["--data", str(tmp_path), "--compare", str(not_a_run)]) == 2
    assert "--compare needs an earlier run's --json" in capsys.readouterr().err
