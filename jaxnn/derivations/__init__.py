"""Closed-form gradients and Jacobians from the lecture notes, one module per chapter.

Each ``grad_<thing>`` returns exactly the pytree ``jax.grad`` returns, so a test is one
``chex.assert_trees_all_close``. These functions are never used by the layers below them.
"""
