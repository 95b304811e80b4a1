"""The TensorFlow Playground's 2-D datasets, ported to NumPy from its `src/dataset.ts`.

Each generator takes the number of points, the noise as a fraction (the Playground's 0-50 %
slider divided by 100, as its `generateData` does) and a NumPy Generator, and returns points
(n, 2) with Playground labels: -1 / +1 for classification, [-1, 1] for regression. As in the
Playground, classification noise jitters the position used to pick the label, not the point,
and the points come out shuffled.

`make_points` is the entry point: it maps labels -1 -> class 0 ("-1", orange) and
+1 -> class 1 ("+1", blue). Which generator a set uses, and its task, are declared once, in the
registry (`trainer.datasets.DATASETS`). An exported script embeds this module's source, so it
imports nothing but NumPy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

CLASS_NAMES = ("-1", "+1")  # class 0 is the Playground's -1, class 1 its +1
FEATURE_NAMES = ("x1", "x2")

Generator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def classify_circle(
    n: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Half the points inside radius 2.5 (+1), half in the ring 3.5..5 (-1)."""
    radius = 5.0
    inside = (n + 1) // 2
    r = np.concatenate(
        [rng.uniform(0, radius * 0.5, inside), rng.uniform(radius * 0.7, radius, n - inside)]
    )
    angle = rng.uniform(0, 2 * np.pi, n)
    points = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    jittered = points + rng.uniform(-radius, radius, (n, 2)) * noise
    labels = np.where(np.hypot(jittered[:, 0], jittered[:, 1]) < radius * 0.5, 1, -1)
    return points, labels


def classify_xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform in [-5, 5]^2 pushed 0.3 off the axes; +1 where x1 * x2 >= 0."""
    points = rng.uniform(-5, 5, (n, 2))
    points += np.where(points > 0, 0.3, -0.3)  # padding: keep points off the class border
    jittered = points + rng.uniform(-5, 5, (n, 2)) * noise
    labels = np.where(jittered[:, 0] * jittered[:, 1] >= 0, 1, -1)
    return points, labels


def classify_two_gauss(
    n: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Two gaussians at (2, 2) (+1) and (-2, -2) (-1); noise widens them (variance 0.5..4)."""
    variance = 0.5 + noise / 0.5 * 3.5  # the Playground's d3 scale [0, 0.5] -> [0.5, 4]
    positive = (n + 1) // 2
    centers = np.repeat([[2.0, 2.0], [-2.0, -2.0]], [positive, n - positive], axis=0)
    points = rng.normal(centers, np.sqrt(variance))
    labels = np.repeat([1, -1], [positive, n - positive])
    return points, labels


def classify_spiral(
    n: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spiral arms, +1 and -1 (the second turned by pi)."""
    positive = (n + 1) // 2
    arms = [_spiral_arm(positive, 0.0, noise, rng), _spiral_arm(n - positive, np.pi, noise, rng)]
    labels = np.repeat([1, -1], [positive, n - positive])
    return np.concatenate(arms), labels


def _spiral_arm(count: int, delta_t: float, noise: float, rng: np.random.Generator) -> np.ndarray:
    i = np.arange(count)
    r = i / max(count, 1) * 5
    t = 1.75 * i / max(count, 1) * 2 * np.pi + delta_t
    x = r * np.sin(t) + rng.uniform(-1, 1, count) * noise
    y = r * np.cos(t) + rng.uniform(-1, 1, count) * noise
    return np.stack([x, y], axis=1)


def regress_plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform in [-6, 6]^2; target (x1 + x2) / 10 from the jittered position, in [-1, 1]."""
    radius = 6.0
    points = rng.uniform(-radius, radius, (n, 2))
    jittered = points + rng.uniform(-radius, radius, (n, 2)) * noise
    # The Playground's scale maps [-10, 10] -> [-1, 1] without clamping, so corners reach 1.2
    # (1.8 with noise); clipping keeps targets in [-1, 1] like multi_gauss.
    return points, np.clip(jittered.sum(axis=1) / 10, -1, 1)


_GAUSSIANS = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]]
)


def regress_gaussian(
    n: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Six signed bumps on a 3x2 grid; the target is the strongest bump at the point."""
    radius = 6.0
    points = rng.uniform(-radius, radius, (n, 2))
    jittered = points + rng.uniform(-radius, radius, (n, 2)) * noise
    distance = np.linalg.norm(jittered[:, None, :] - _GAUSSIANS[None, :, :2], axis=2)
    values = _GAUSSIANS[:, 2] * np.clip(1 - distance / 2, 0, 1)  # d3 [0, 2] -> [1, 0], clamped
    # The bump largest in magnitude wins; argmax takes the first on ties, as the Playground's
    # strict ">" loop does.
    strongest = np.argmax(np.abs(values), axis=1)
    return points, values[np.arange(n), strongest]


def make_points(
    generate: Generator, task: str, num_samples: int, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled float32 points (n, 2) and labels: int32 class ids for `task` "classification",
    float32 targets for "regression".

    `noise` is the Playground's percent slider (0-50); the same seed gives the same points.
    """
    if task not in ("classification", "regression"):
        raise ValueError(
            f"Expected `task` to be 'classification' or 'regression'. Received: task={task!r}"
        )
    rng = np.random.default_rng(seed)
    points, labels = generate(num_samples, noise / 100, rng)
    order = rng.permutation(num_samples)  # the Playground shuffles before splitting off test
    points = points[order].astype(np.float32)
    if task == "regression":
        return points, labels[order].astype(np.float32)
    return points, (labels[order] > 0).astype(np.int32)
