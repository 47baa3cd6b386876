"""Small helpers for the chapters themselves (introduced in chapter "The problem").

:func:`glue` wraps ``myst_nb.glue`` so that numpy scalars are stored as plain
Python numbers: MyST-NB formats ``{glue:text}`name:.2f``` from the stored
text, and numpy 2 writes ``np.float64(0.5)`` there, which cannot be formatted.
"""
from __future__ import annotations

import numpy as np


def glue(name: str, value, display: bool = False):
    """Glue a value for the chapter's prose; numpy scalars become Python numbers. Chapter "The problem"."""
    from myst_nb import glue as _glue
    if isinstance(value, np.generic):
        value = value.item()
    return _glue(name, value, display=display)
