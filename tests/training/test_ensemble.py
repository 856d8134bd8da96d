"""The ensemble's parts: synthetic non-digits, elastic distortion, the joined model, its LiteRT export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.config import NOT_A_DIGIT, NUM_OUTPUTS


def test_non_digits_are_normalised_marks_of_every_kind(mnist_sample):
    from training.nondigits import make_non_digits

    x, _ = mnist_sample
    images = make_non_digits(x, 120, seed=3)
    assert images.shape == (120, 28, 28) and images.dtype == np.uint8
    assert (images.reshape(120, -1).max(axis=1) > 128).all()  # every image holds a mark
    # Normalised as serving does: the ink's center of mass near the middle, inside a 20 px box.
    rows, columns = np.indices((28, 28))
    ink = images.astype(np.float64)
    centre_rows = (ink * rows).sum(axis=(1, 2)) / ink.sum(axis=(1, 2))
    assert np.median(np.abs(centre_rows - 13.5)) < 1.0
    np.testing.assert_array_equal(make_non_digits(x, 120, seed=3), images)  # seeded


def test_reference_filter_drops_look_alikes(mnist_sample):
    from training.nondigits import make_non_digits

    x, _ = mnist_sample
    calls = []

    def sure_of_everything(images):
        calls.append(len(images))
        probabilities = np.zeros((len(images), 10), np.float32)
        probabilities[:, 1] = 1.0
        return probabilities

    images = make_non_digits(x, 60, seed=1, reference=sure_of_everything)
    assert calls and len(images) == 60  # filtered kinds are all dropped; the others fill the count

    def rejects_but_would_be_a_one(images):
        # An 11-output reference (the shipped ensemble) that calls every mark "not a digit"
        # at 90 %: as a digit it would still be a 1, so the look-alikes go all the same.
        probabilities = np.zeros((len(images), NUM_OUTPUTS), np.float32)
        probabilities[:, NOT_A_DIGIT] = 0.9
        probabilities[:, 1] = 0.1
        return probabilities

    np.testing.assert_array_equal(make_non_digits(x, 60, seed=1, reference=rejects_but_would_be_a_one), images)


def test_digit_shares_renormalise_the_ten_digits():
    from training.nondigits import digit_shares

    probabilities = np.array([[0.05, 0.05] + [0.0] * 8 + [0.9], [0.1] * 10 + [0.0], [0.0] * 10 + [1.0]])
    shares = digit_shares(probabilities)
    assert shares.shape == (3, 10)
    np.testing.assert_allclose(shares[0, :2], [0.5, 0.5])
    np.testing.assert_allclose(shares[1], np.full(10, 0.1))
    np.testing.assert_array_equal(shares[2], np.zeros(10))  # no digit mass: no digit is likely


def test_elastic_distortion_moves_ink_but_keeps_it():
    from training.augment import elastic_distort

    image = np.zeros((2, 28, 28), np.uint8)
    image[:, 6:22, 12:16] = 255
    distorted = elastic_distort(image, seed=0)
    assert distorted.shape == image.shape and distorted.dtype == np.uint8
    assert not np.array_equal(distorted[0], image[0]) and not np.array_equal(distorted[0], distorted[1])
    assert 0.6 < distorted[0].sum() / image[0].sum() < 1.4


@pytest.fixture(scope="module")
def tiny_members():
    import keras

    from training.model import build_cnn

    keras.utils.set_random_seed(1)
    return [build_cnn(num_classes=NUM_OUTPUTS, width=4), build_cnn(num_classes=NUM_OUTPUTS, width=6)]


def test_ensemble_outputs_log_of_mean_probability(tiny_members, mnist_sample, tmp_path):
    from core.classifier import softmax
    from training.model import build_ensemble, load_keras_model

    images = mnist_sample[0][:16].astype(np.float32)[..., None] / 255.0
    members = [member.predict(images, verbose=0) for member in tiny_members]
    ensemble = build_ensemble(tiny_members)
    logits = ensemble.predict(images, verbose=0)
    assert logits.shape == (16, NUM_OUTPUTS)
    np.testing.assert_allclose(softmax(logits), np.mean([softmax(m) for m in members], axis=0), atol=1e-5)
    ensemble.save(tmp_path / "ensemble.keras")
    reloaded = load_keras_model(tmp_path / "ensemble.keras")
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), logits, atol=1e-5)


def test_widened_classifier_keeps_the_digits_logits(tiny_members, mnist_sample):
    from training.model import build_cnn, widen_classifier

    narrow = build_cnn(width=4)
    images = mnist_sample[0][:8].astype(np.float32)[..., None] / 255.0
    wide = widen_classifier(narrow, NUM_OUTPUTS)
    before, after = narrow.predict(images, verbose=0), wide.predict(images, verbose=0)
    assert after.shape == (8, NUM_OUTPUTS)
    np.testing.assert_allclose(after[:, :NOT_A_DIGIT], before, atol=1e-5)


def test_tflite_export_agrees_with_keras(tiny_members, mnist_sample, tmp_path):
    from core.classifier import Classifier
    from training.export import check_parity, write_tflite
    from training.model import build_ensemble

    ensemble = build_ensemble(tiny_members)
    path = write_tflite(ensemble, tmp_path / "digit_cnn.tflite")
    report = check_parity(ensemble, path, mnist_sample[0])
    assert report["same_argmax"] and report["max_probability_difference"] <= 1e-4 and report["images"] == 500
    assert Classifier.from_path(path).num_outputs == NUM_OUTPUTS


def test_parity_forgives_only_ties(tmp_path):
    import keras

    from training.export import ExportError, check_parity, write_tflite
    from training.model import build_cnn

    keras.utils.set_random_seed(2)
    model = build_cnn(num_classes=NUM_OUTPUTS, width=4)
    kernel, bias = model.get_layer("logits").get_weights()
    model.get_layer("logits").set_weights([np.zeros_like(kernel), np.zeros_like(bias)])  # every class tied
    path = write_tflite(model, tmp_path / "tied.tflite")
    images = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    assert check_parity(model, path, images)["same_argmax"]
    bias[3] = 5.0  # the export now answers 3 where the Keras model clearly does not
    other = build_cnn(num_classes=NUM_OUTPUTS, width=4)
    other.set_weights(model.get_weights())
    other.get_layer("logits").set_weights([np.zeros_like(kernel), bias])
    with pytest.raises(ExportError, match="disagrees"):
        check_parity(model, write_tflite(other, tmp_path / "other.tflite"), images)


def test_a_member_of_a_saved_ensemble_is_fine_tuned_in_place(tiny_members, full_mnist_path, mnist_sample, tmp_path):
    """``--fine-tune``: each member taken out of a saved ensemble trains on, and the
    ensemble built from them again reads with the new weights."""
    from dataclasses import replace

    from training.data import load_mnist
    from training.ensemble import MemberSpec, train_member
    from training.model import build_ensemble, load_keras_model

    build_ensemble(tiny_members).save(tmp_path / "ensemble.keras")
    shipped = load_keras_model(tmp_path / "ensemble.keras")
    images = mnist_sample[0][:16].astype(np.float32)[..., None] / 255.0
    before = shipped.predict(images, verbose=0)
    start = shipped.get_layer("member_1")
    data = load_mnist(full_mnist_path)
    small = replace(data, x_train=data.x_train[:6000], y_train=data.y_train[:6000])
    non_digits = np.zeros((32, 28, 28), np.uint8)
    import matplotlib

    from training.font_digits import render_font_digits

    font_digits = render_font_digits([Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"], copies=2)
    assert len(font_digits[0]) == 20
    model, history, _ = train_member(MemberSpec(seed=3, width=6, elastic_fraction=0.5), small, non_digits,
                                     epochs=1, initial_model=start, verbose=0, stemmed_rate=0.5,
                                     looped_rate=0.5, curled_rate=0.5, long_flag_rate=0.5,
                                     font_digits=font_digits[:2])
    assert model is start and len(history["loss"]) == 1
    after = build_ensemble([shipped.get_layer("member_0"), model]).predict(images, verbose=0)
    assert after.shape == (16, NUM_OUTPUTS) and np.abs(after - before).max() > 1e-3


def test_ensemble_artifacts_record_the_recipe_the_members_were_fine_tuned_with(tiny_members, mnist_sample, tmp_path):
    """metrics.json's top-level rates and learning rate are those of the run, not the defaults."""
    import argparse
    import json

    from training.data import MnistData
    from training.ensemble import FINE_TUNE_LEARNING_RATE, write_ensemble_artifacts
    from training.model import build_ensemble

    images, labels = mnist_sample
    data = MnistData(images[:400], labels[:400], images[400:], labels[400:], "mnist_test_500.npz", "0" * 64)
    args = argparse.Namespace(out=tmp_path, epochs=2, warm_start=None, fine_tune=Path("models/digit_cnn.keras"),
                              stemmed_rate=0.0, looped_rate=0.25, curled_rate=0.35,
                              long_flag_rate=0.2, hooked_rate=0.1, footless_rate=0.3,
                              flat_top_rate=0.4, lifted_bar_rate=0.5, cursive_rate=0.6)
    write_ensemble_artifacts(build_ensemble(tiny_members), tiny_members, data, np.zeros((8, 28, 28), np.uint8),
                             [{}], 12.5, args)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (metrics["curled_rate"], metrics["looped_rate"], metrics["stemmed_rate"], metrics["long_flag_rate"],
            metrics["hooked_rate"], metrics["footless_rate"], metrics["flat_top_rate"], metrics["lifted_bar_rate"],
            metrics["cursive_rate"]) == (0.35, 0.25, 0.0, 0.2, 0.1, 0.3, 0.4, 0.5, 0.6)
    assert metrics["learning_rate"] == FINE_TUNE_LEARNING_RATE and metrics["epochs_requested"] == 2
    assert metrics["ensemble"]["fine_tuned_from"] == "models/digit_cnn.keras"
    assert metrics["ensemble"]["curled_rate"] == 0.35 and len(metrics["ensemble"]["members"]) == 2
    assert (tmp_path / "digit_cnn.tflite").is_file() and (tmp_path / "digit_cnn.json").is_file()


def test_a_saved_ensemble_holds_no_members_optimizer(tiny_members, mnist_sample, tmp_path):
    """Members fresh from training are compiled; the ensemble keeps their weights, not their Adam state."""
    import io
    import zipfile

    import h5py
    import keras

    from training.model import build_ensemble, load_keras_model

    images = mnist_sample[0][:32].astype(np.float32)[..., None] / 255.0
    labels = mnist_sample[1][:32]
    for member in tiny_members:
        member.compile(optimizer=keras.optimizers.Adam(1e-3),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        member.fit(images, labels, epochs=1, verbose=0)
    expected = [member.predict(images, verbose=0) for member in tiny_members]
    build_ensemble(tiny_members).save(tmp_path / "ensemble.keras")
    with zipfile.ZipFile(tmp_path / "ensemble.keras") as archive:
        names: list[str] = []
        h5py.File(io.BytesIO(archive.read("model.weights.h5"))).visit(names.append)
    assert names and not [name for name in names if "optimizer" in name]
    reloaded = load_keras_model(tmp_path / "ensemble.keras")
    for index, member_logits in enumerate(expected):
        np.testing.assert_allclose(reloaded.get_layer(f"member_{index}").predict(images, verbose=0), member_logits,
                                   atol=1e-5)
    assert all(member.optimizer is not None for member in tiny_members)  # the members passed in are untouched
