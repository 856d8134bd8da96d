"""The digit CNN: a small all-convolutional network with batch norm, sized for a 2-core CPU."""

from __future__ import annotations

from core.config import IMAGE_SIZE, NUM_CLASSES


def _conv_block(x, filters: int, strides: int = 1):
    from keras import layers

    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation("relu")(x)


def build_cnn(
    input_shape: tuple[int, int, int] = (IMAGE_SIZE, IMAGE_SIZE, 1),
    num_classes: int = NUM_CLASSES,
    width: int = 32,
    dropout_rate: float = 0.3,
):
    """Build the digit classifier (Keras Functional API).

    Five 3x3 conv + batch-norm + ReLU blocks (``width``, ``width`` stride 2, ``2*width``,
    ``2*width`` stride 2, ``4*width``), global average pooling, dropout and a final
    ``Dense`` *without* activation: the model emits logits, and softmax is applied in one
    place, ``core.classifier``. Strided convolutions instead of pooling follow Springenberg
    et al., "Striving for Simplicity: The All Convolutional Net" (2015). With ``width=32``:
    141,098 parameters, about 11 M multiply-adds per image.

    Args:
        input_shape: (height, width, channels) of one image, float32 in [0, 1].
        num_classes: number of output logits.
        width: filters of the first block.
        dropout_rate: dropout before the classifier, in [0, 1).

    Returns:
        An uncompiled ``keras.Model`` mapping (N, 28, 28, 1) float32 to (N, 10) logits.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_block(inputs, width)
    x = _conv_block(x, width, strides=2)
    x = _conv_block(x, 2 * width)
    x = _conv_block(x, 2 * width, strides=2)
    x = _conv_block(x, 4 * width)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout_rate)(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name="digit_cnn")


def compile_model(model, learning_rate, label_smoothing: float = 0.0, use_ema: bool = True,
                  ema_momentum: float = 0.999):
    """Compile with Adam and cross-entropy on logits (``from_logits=True``).

    Args:
        model: the model from :func:`build_cnn`.
        learning_rate: a float or a ``keras.optimizers.schedules.LearningRateSchedule``.
        label_smoothing: in [0, 1); uses the categorical loss on one-hot labels when > 0.
        use_ema: keep an exponential moving average of the weights and end training with it.
        ema_momentum: its momentum per step, in [0, 1) (0.999: an average over about the
            last thousand steps).
    """
    import keras

    if label_smoothing > 0:
        loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
        metric = keras.metrics.CategoricalAccuracy(name="accuracy")
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
    # An exponential moving average of the weights (Polyak & Juditsky 1992) is written into
    # the model when fit() ends; it smooths the last epochs' noise out of the final weights.
    optimizer = keras.optimizers.Adam(learning_rate, use_ema=use_ema, ema_momentum=ema_momentum)
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric])
    return model


_LOG_AVERAGE_LAYER = None


def _register_serializable(cls):
    import keras

    return keras.saving.register_keras_serializable(package="digitbot")(cls)


def log_average_probabilities_layer():
    """The Keras layer class that averages members' softmax outputs and returns their log.

    Its output ``log(mean_i softmax(logits_i))`` is a valid logits vector: softmax of it is
    exactly the members' average probability (the ensemble's prediction; Lakshminarayanan
    et al. 2017 average probabilities, not logits). Registered as ``digitbot>LogAverageProbabilities``
    so saved ensembles load in training code; serving runs the ``.tflite`` export instead.
    """
    global _LOG_AVERAGE_LAYER
    if _LOG_AVERAGE_LAYER is not None:
        return _LOG_AVERAGE_LAYER
    import keras

    @_register_serializable
    class LogAverageProbabilities(keras.layers.Layer):
        def call(self, member_logits):
            probabilities = [keras.ops.softmax(logits, axis=-1) for logits in member_logits]
            mean = keras.ops.mean(keras.ops.stack(probabilities, axis=0), axis=0)
            return keras.ops.log(keras.ops.maximum(mean, 1e-12))

    _LOG_AVERAGE_LAYER = LogAverageProbabilities
    return LogAverageProbabilities


def build_ensemble(members: list, name: str = "digit_ensemble"):
    """Combine trained classifiers into one model whose output is the ensemble's logits.

    Args:
        members: ``keras.Model`` s, each mapping (N, 28, 28, 1) float32 to (N, C) logits
            with the same C. Each is kept as a sub-model named ``member_<i>``: a copy with the
            same weights but without its compile state, so a saved ensemble holds no member's
            optimizer (three fine-tuned members' Adam moments once took the ``.keras`` from
            2.2 MB to 8.3 MB) and loads without warnings about it. The members passed in are
            not changed.

    Returns:
        A ``keras.Model`` (N, 28, 28, 1) -> (N, C): ``log`` of the members' mean softmax
        probability (see :func:`log_average_probabilities_layer`).
    """
    import keras

    inputs = keras.Input(shape=members[0].input_shape[1:], name="image")
    outputs = []
    for index, member in enumerate(members):
        copy = keras.Model.from_config(member.get_config())  # clone_model would compile the copy too
        copy.set_weights(member.get_weights())
        copy.name = f"member_{index}"
        outputs.append(copy(inputs))
    logits = log_average_probabilities_layer()(name="logits")(outputs)
    return keras.Model(inputs, logits, name=name)


def widen_classifier(model, num_classes: int, new_bias: float = -2.0):
    """A copy of a trained CNN with more output classes: old logits kept, new ones start low.

    Used to add the "not a digit" class to a 10-class model before fine-tuning it.

    Args:
        model: a model from :func:`build_cnn` (its last layer a ``Dense`` named "logits").
        num_classes: outputs of the new model, >= the old count.
        new_bias: initial bias of the added classes (their logits start well below the old ones).

    Returns:
        A new ``keras.Model`` sharing the old model's feature layers.
    """
    import keras
    import numpy as np

    old = model.get_layer("logits")
    kernel, bias = old.get_weights()
    features = old.input
    dense = keras.layers.Dense(num_classes, name="logits")
    logits = dense(features)
    rng = np.random.default_rng(0)
    extra = num_classes - kernel.shape[1]
    dense.set_weights([
        np.concatenate([kernel, rng.normal(0, 0.02, (kernel.shape[0], extra)).astype(np.float32)], axis=1),
        np.concatenate([bias, np.full(extra, new_bias, np.float32)]),
    ])
    return keras.Model(model.inputs, logits, name=model.name)


def load_keras_model(path):
    """Load a saved ``.keras`` model (single CNN or ensemble) without compiling it.

    Registers the ensemble's custom layer first, so ensembles load in a fresh process.

    Raises:
        ValueError, OSError: the file is not a loadable Keras archive.
    """
    import keras

    log_average_probabilities_layer()
    return keras.models.load_model(path, compile=False)
