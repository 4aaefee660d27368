"""Jitted train/eval steps, the training loop, checkpoints and sharding."""
