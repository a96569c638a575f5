"""Process-wide engine state, kept in one small module the hot paths read directly."""

grad_enabled = True  # flipped by no_grad / enable_grad
Tensor = None  # set by xgrad.tensor, so ops need no import cycle
