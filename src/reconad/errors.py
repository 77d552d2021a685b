"""The errors reconad raises on purpose.

Every error a user can cause by passing bad input is an :class:`InputError` (a ``ValueError``) whose message
names the problem and the fix. Files that are not reconad models raise :class:`ModelFileError`.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: the message says what is wrong and what to do about it."""


class ModelFileError(InputError):
    """A file that is not a valid reconad model (empty, truncated, foreign, or from a newer version)."""


class NotFittedError(ValueError, AttributeError):
    """A method that needs a fitted detector was called before ``fit``.

    The same bases as scikit-learn's ``NotFittedError``, without importing scikit-learn: the command line answers
    ``--help`` and input errors before loading any heavy library.
    """


__all__ = ["InputError", "ModelFileError", "NotFittedError"]
