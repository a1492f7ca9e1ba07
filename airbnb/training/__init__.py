"""How a model is trained, one responsibility per module (:mod:`airbnb.train` is the entry point):

- :mod:`.config`: :class:`TrainConfig` and the presets;
- :mod:`.data`: the table, its split by listing, the fitted features and datasets;
- :mod:`.step`: one training epoch and one validation pass;
- :mod:`.loop`: the epochs, early stopping, the best weights, checkpoints;
- :mod:`.checkpoint`: saving and restoring everything ``--resume`` needs;
- :mod:`.ensemble`: members initialised, stacked, centred and saved.
"""
