"""Shape-only builds: models whose weights have shapes but no values.

Counting needs shapes, never values. Inside :func:`shape_only` Keras creates every variable
without allocating or initialising it (``keras.StatelessScope(initialize_variables=False)``),
so a 70-billion-parameter model builds in about a second in under 1 GB, and ``count_params()``
and :func:`convcost.analyze` work on it as on any model. Such a model cannot be trained, timed
or run on data; build normally for that.

Keras also puts each such variable on a global list of variables to initialise later, and the
next symbolic call anywhere in the process (building any functional model) initialises the
whole list, allocating every weight. :func:`shape_only` takes the variables it created off
that list when it ends, so they stay shapes. (A model built in a bare
``keras.StatelessScope(initialize_variables=False)`` keeps that trap; convcost's analysis does
not trigger it, the user's next Keras call does.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from convcost.count import keras_internals as internals


@contextlib.contextmanager
def shape_only() -> Iterator[None]:
    """Build Keras models inside this block without allocating their weights.

    Example::

        import convcost, keras

        with convcost.shape_only():
            model = keras.Sequential([keras.Input((4096,)), keras.layers.Dense(1_000_000)])
        print(convcost.analyze(model).params)   # 4,097,000,000, no 16 GB allocated
    """
    import keras

    before = {id(v) for v in internals.uninitialized_variables()}
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        internals.keep_uninitialized([v for v in internals.uninitialized_variables()
                                      if id(v) in before])
