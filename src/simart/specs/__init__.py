"""The torch-free floor: facts about datasets, modalities, models, metrics and training
settings, read by the config, the rules, evaluation and reporting.

Nothing under ``simart.specs`` imports torch, numba, h5py or pandas (a test pins it); an
implementation is named here by dotted path and imported only when it runs.
"""
