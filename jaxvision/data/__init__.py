"""Input pipelines: tf.data and TFDS only; yields host-local numpy batches; never imports jax."""

from jaxvision.import_without import module_hidden

# TensorFlow imports Keras's optimizers as it loads (tensorflow/__init__.py, "an eager load for
# Keras' code"; with the scikit-learn Keras pulls in, 1.5-4 s of every `jaxvision` start).
# The input pipelines never use Keras: it is hidden while TensorFlow loads (TF catches the
# ImportError); `import keras` afterwards works as usual.
with module_hidden("keras.src.optimizers"):
  import tensorflow as tf

# The accelerators belong to JAX; tf.data runs on the host CPU only.
tf.config.set_visible_devices([], "GPU")
