"""The correctness bar: trainer.train computes exactly the Keras guide's loop.

"Writing a training loop from scratch": with the same initial weights and batch order, the
per-batch losses of trainer.train equal those of the guide's own eager loop (digits, SGD 1e-3,
batch 64, 2 epochs, no shuffle) within 1e-4, and so do the trained weights.
"""

import keras
import numpy as np
import tensorflow as tf

import trainer


def guide_model(num_features: int) -> keras.Model:
    inputs = keras.Input(shape=(num_features,), name="digits")
    x1 = keras.layers.Dense(64, activation="relu")(inputs)
    x2 = keras.layers.Dense(64, activation="relu")(x1)
    outputs = keras.layers.Dense(10, name="predictions")(x2)
    return keras.Model(inputs=inputs, outputs=outputs)


def guide_loop(model, x_train, y_train) -> list[float]:
    """The guide's loop, verbatim but for recording each loss (and no shuffle)."""
    optimizer = keras.optimizers.SGD(learning_rate=1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    batch_size = 64
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(batch_size)
    losses = []
    for _epoch in range(2):
        for _step, (x_batch_train, y_batch_train) in enumerate(train_dataset):
            with tf.GradientTape() as tape:
                logits = model(x_batch_train, training=True)
                loss_value = loss_fn(y_batch_train, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            losses.append(float(loss_value))
    return losses


def test_trainer_matches_the_guides_eager_loop_on_digits():
    config = trainer.RunConfig(dataset="digits", shuffle=False)  # SGD 1e-3, batch 64, 2 epochs
    data = trainer.split_validation(trainer.load_dataset("digits"), config.validation_split, 0)
    x = data.x_train.reshape(len(data.x_train), -1).astype(np.float32) * np.float32(data.scale)

    keras.utils.set_random_seed(0)
    reference = guide_model(x.shape[1])
    ours = trainer.build_model(config, data)
    ours.set_weights(reference.get_weights())

    expected = guide_loop(reference, x, data.y_train)
    events = list(trainer.train(config, data, model=ours))
    got = [e.loss for e in events if isinstance(e, trainer.BatchEnd)]

    assert len(got) == len(expected) == 2 * -(-len(x) // 64)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    for mine, theirs in zip(ours.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(mine, theirs, atol=1e-5)
    assert events[-1].reason == "completed"
