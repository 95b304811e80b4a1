"""Which tf.distribute.Strategy runs a config: one device, all local GPUs, or a cluster."""

from __future__ import annotations

import tensorflow as tf


def make_strategy(name: str) -> tf.distribute.Strategy:
    """`default` (one device), `mirrored` (all local GPUs, else the CPU), or `multi_worker`
    (MultiWorkerMirroredStrategy: the cluster comes from the TF_CONFIG environment variable)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(
        f"strategy must be one of default, mirrored, multi_worker. Received: strategy={name!r}"
    )


def spans_workers(strategy: tf.distribute.Strategy) -> bool:
    """True when the strategy's replicas live in more than one process (a TF_CONFIG cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver is not None and bool(resolver.cluster_spec().as_dict())


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """True where outputs are written: always on one machine; task 0 (or `chief`) in a cluster."""
    if not spans_workers(strategy):
        return True
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type == "chief" or (task_type == "worker" and task_id == 0)
