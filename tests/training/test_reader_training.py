"""A tiny run of the number reader's training: the three artifacts, LiteRT parity, resuming."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.reader import LINE_HEIGHT, LINE_WIDTH, READER_CLASSES, TIME_STEPS, NumberReader
from training.reader import READER_CARD, READER_KERAS, READER_TFLITE, build_reader, train


def test_reader_maps_a_line_to_logits_per_time_step():
    model = build_reader()
    logits = model.predict(np.zeros((2, LINE_HEIGHT, LINE_WIDTH, 1), np.float32), verbose=0)
    assert logits.shape == (2, TIME_STEPS, READER_CLASSES)


def test_reader_sizes_share_the_input_and_output_and_unknown_sizes_are_refused():
    import pytest

    small, wide = build_reader(size="small"), build_reader(size="wide")
    assert small.count_params() == 213_803  # the shipped readers' size
    assert wide.count_params() > 2 * small.count_params()
    line = np.random.default_rng(0).random((1, LINE_HEIGHT, LINE_WIDTH, 1)).astype(np.float32)
    assert wide.predict(line, verbose=0).shape == (1, TIME_STEPS, READER_CLASSES)
    with pytest.raises(ValueError):
        build_reader(size="huge")


def _two_fonts(folder: Path) -> Path:
    """A folder holding two of matplotlib's DejaVu fonts (installed with the project)."""
    import shutil

    import matplotlib

    folder.mkdir()
    for name in ("DejaVuSans.ttf", "DejaVuSerif.ttf"):
        shutil.copy(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name, folder / name)
    return folder


def test_tiny_training_run_writes_a_servable_reader_and_resumes(full_mnist_path, tmp_path):
    card = train(str(full_mnist_path), tmp_path, lines=128, epochs=1, batch_size=32, seed=1, workers=1,
                 learning_rate=1e-3, held_out=64)
    for name in (READER_KERAS, READER_TFLITE, READER_CARD):
        assert (tmp_path / name).is_file()
    written = json.loads((tmp_path / READER_CARD).read_text())
    assert written["held_out_lines"] == 64 and written["epochs"] == 1 and written["earlier_runs"] == []
    assert written["tflite_parity"]["same_reading"] == 64
    assert written["tflite_parity"]["max_probability_difference"] <= 1e-4
    reader = NumberReader.from_path(tmp_path / READER_TFLITE)
    reading, probabilities, _ = reader.read_ink(np.zeros((40, 120), np.float32))
    assert probabilities.shape == (TIME_STEPS, READER_CLASSES) and reading.text.isdigit() | (reading.text == "")
    resumed = train(str(full_mnist_path), tmp_path, lines=64, epochs=1, batch_size=32, seed=2, workers=1,
                    learning_rate=1e-4, resume=tmp_path / READER_KERAS, held_out=32, elastic_rate=0.5,
                    looped_rate=0.5, stemmed_rate=0.5, long_flag_rate=0.5, cursive_rate=0.5, short_boost=3.0,
                    curled_rate=0.5,
                    distill_from=tmp_path / READER_KERAS, distill_weight=0.5,
                    font_dir=_two_fonts(tmp_path / "fonts"), font_copies=2)
    assert len(resumed["earlier_runs"]) == 1 and resumed["earlier_runs"][0]["epochs"] == 1
    assert "0 digits also elastically distorted" in written["training_data"]
    assert " 0 of its 9s and 2s also drawn looped" in written["training_data"]
    looped = int(resumed["training_data"].split(" of its 9s and 2s also drawn looped")[0].rsplit(", ", 1)[1])
    assert 4_000 < looped < 8_000
    assert " 0 of its 9s also drawn as a ring on a stem" in written["training_data"]
    stemmed = int(resumed["training_data"].split(" of its 9s also drawn as a ring on a stem")[0].rsplit(", ", 1)[1])
    assert 1_000 < stemmed < 3_000
    assert " 0 of its 9s also drawn on a curled stem" in written["training_data"]
    curled = int(resumed["training_data"].split(" of its 9s also drawn on a curled stem")[0].rsplit(", ", 1)[1])
    assert 1_000 < curled < 3_000
    assert " 0 of its 1s also drawn with a long flag" in written["training_data"]
    flagged = int(resumed["training_data"].split(" of its 1s also drawn with a long flag")[0].rsplit(", ", 1)[1])
    assert 2_500 < flagged < 4_300  # half of MNIST's 6,742 training 1s
    assert " 0 of its 2s and 3s also drawn with cursive loops" in written["training_data"]
    cursive = int(resumed["training_data"].split(" of its 2s and 3s also drawn with cursive loops")[0].rsplit(", ", 1)[1])
    assert 5_000 < cursive < 7_500  # half of MNIST's 5,958 training 2s and 6,131 3s
    assert "weighted" not in written["training_data"] and "lengths 1 and 2 weighted x3.0" in resumed["training_data"]
    assert "distilled" not in written["training_data"]
    assert "handwriting fonts" not in written["training_data"]
    assert "40 digits drawn from 2 handwriting fonts (2 copies of each digit" in resumed["training_data"]
    assert "(weight 0.5, lines of at most 2 digits)" in resumed["training_data"]
    distorted = int(resumed["training_data"].split(" digits also elastically distorted")[0].rsplit(", ", 1)[1])
    assert 20_000 < distorted < 45_000 and "(rate 0.5)" in resumed["training_data"]
    assert resumed["total_training_seconds"] >= card["training_seconds"]


def test_averaged_readers_hold_the_mean_of_their_weights(full_mnist_path, tmp_path):
    """``--average``: the weights are the members' mean, the export matches Keras, and the
    card names the members and scores each on the same held-out lines."""
    import keras
    import pytest

    from training.reader import average_readers

    paths = []
    for seed in (1, 2):
        folder = tmp_path / f"member_{seed}"
        folder.mkdir()
        build_reader(seed).save(folder / READER_KERAS)
        (folder / READER_CARD).write_text(json.dumps({"training_data": f"seed {seed}", "epochs": 3,
                                                      "training_seconds": 10.0}))
        paths.append(folder / READER_KERAS)
    card = average_readers(paths, tmp_path / "soup", str(full_mnist_path), workers=1, held_out=48)
    for name in (READER_KERAS, READER_TFLITE, READER_CARD):
        assert (tmp_path / "soup" / name).is_file()
    members = [keras.saving.load_model(path, compile=False).get_weights() for path in paths]
    averaged = keras.saving.load_model(tmp_path / "soup" / READER_KERAS, compile=False).get_weights()
    for first, second, mean in zip(*members, averaged):
        np.testing.assert_allclose(mean, (first + second) / 2, rtol=1e-6, atol=1e-7)
    assert [entry["training_data"] for entry in card["averaged_from"]] == ["seed 1", "seed 2"]
    assert len(card["held_out_exact_of_each"]) == 2 and card["held_out_lines"] == 48
    assert card["tflite_parity"]["same_reading"] == 48
    assert json.loads((tmp_path / "soup" / READER_CARD).read_text())["held_out_exact"] == card["held_out_exact"]
    with pytest.raises(ValueError):
        average_readers(paths[:1], tmp_path / "alone", str(full_mnist_path))


def test_grown_reader_reads_as_its_parent_until_trained(full_mnist_path, tmp_path):
    """``--grow``: the added dilated blocks start as the identity, growth continues where an
    earlier one stopped, and a grown reader trains, exports and serves like any other."""
    import keras
    import pytest

    from training.reader import GROWTH_DILATIONS, grow_reader

    parent = build_reader(3)
    lines = np.random.default_rng(0).random((3, LINE_HEIGHT, LINE_WIDTH, 1)).astype(np.float32)
    grown = grow_reader(parent, 2)
    np.testing.assert_array_equal(grown.predict(lines, verbose=0), parent.predict(lines, verbose=0))
    assert grown.count_params() - parent.count_params() == 2 * (128 * 128 * 3 + 128 + 128 * 128 + 128)
    again = grow_reader(grown, 1)
    dilations = [layer.dilation_rate[0] for layer in again.layers if layer.name.endswith("_conv")]
    assert dilations == list(GROWTH_DILATIONS)
    with pytest.raises(ValueError):
        grow_reader(again, 1)
    with pytest.raises(ValueError):
        grow_reader(parent, 0)

    parent.save(tmp_path / READER_KERAS)
    with pytest.raises(ValueError):
        train(str(full_mnist_path), tmp_path / "nothing", lines=32, epochs=1, batch_size=32, seed=1, workers=1,
              learning_rate=1e-4, grow=1)
    card = train(str(full_mnist_path), tmp_path / "grown", lines=64, epochs=1, batch_size=32, seed=4, workers=1,
                 learning_rate=1e-4, resume=tmp_path / READER_KERAS, held_out=32, grow=1)
    assert card["grown_by_blocks"] == 1 and card["tflite_parity"]["same_reading"] == 32
    saved = keras.saving.load_model(tmp_path / "grown" / READER_KERAS, compile=False)
    assert saved.count_params() == parent.count_params() + 128 * 128 * 3 + 128 + 128 * 128 + 128
    assert NumberReader.from_path(tmp_path / "grown" / READER_TFLITE).read_ink(np.zeros((40, 120), np.float32))


def test_distillation_adds_the_teachers_divergence_on_short_lines_only():
    from keras import ops

    from core.litert import softmax
    from core.reader import MAX_LENGTH
    from training.reader import ctc_loss, distillation_loss

    rng = np.random.default_rng(0)
    teacher_logits = rng.normal(size=(2, TIME_STEPS, READER_CLASSES)).astype(np.float32)
    reader_logits = rng.normal(size=(2, TIME_STEPS, READER_CLASSES)).astype(np.float32)
    targets = np.zeros((2, MAX_LENGTH), np.float32)
    targets[0, :2] = [4, 8]  # "37": a short line
    targets[1, :5] = [2, 3, 4, 5, 6]  # "12345": longer than max_length
    y_true = np.concatenate([targets, softmax(teacher_logits).reshape(2, -1)], axis=1)
    loss = distillation_loss(weight=0.5, max_length=2)

    ctc = ops.convert_to_numpy(ctc_loss(targets, reader_logits))
    same = ops.convert_to_numpy(loss(y_true, teacher_logits))
    np.testing.assert_allclose(same, ops.convert_to_numpy(ctc_loss(targets, teacher_logits)), atol=1e-4)
    apart = ops.convert_to_numpy(loss(y_true, reader_logits))
    teacher = softmax(teacher_logits[0])
    log_reader = np.log(softmax(reader_logits[0]))
    divergence = float(np.sum(teacher * (np.log(teacher) - log_reader)))
    assert divergence > 1.0
    np.testing.assert_allclose(apart, [ctc[0] + 0.5 * divergence, ctc[1]], rtol=1e-4)
