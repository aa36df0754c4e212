"""Training: state, optimiser, the one train step, and the loop (init -> restore -> loop -> eval)."""
