"""Input pipelines: tf.data and TFDS only; yields host-local numpy batches; never imports jax."""

import tensorflow as tf

# The accelerators belong to JAX; tf.data runs on the host CPU only.
tf.config.set_visible_devices([], "GPU")
