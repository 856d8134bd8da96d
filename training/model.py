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
