"""jaxvision: the image-classification lineage in JAX/Flax, trained at any scale."""

__version__ = "0.1.0"
