"""Rendering: data in, text (or PNG) out; no Keras models here."""
