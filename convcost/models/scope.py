"""Shape-only builds: a model whose weights have shapes but no values.

Counting needs shapes, never values. Inside :func:`shape_only` Keras creates every variable
without allocating or initialising it (``keras.StatelessScope(initialize_variables=False)``,
public Keras API), so a 70-billion-parameter model builds in about a second in under 1 GB, and
``count_params()`` and :func:`convcost.analyze` work on it as on any model. Such a model cannot
be trained, timed or run on data; build normally for that.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


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

    with keras.StatelessScope(initialize_variables=False):
        yield
