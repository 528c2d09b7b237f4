"""Shard counting, shared by the dataset builders (:mod:`simart.simulate`) and the dataset
views (:mod:`simart.data.datasets`): a split of ``n`` images is stored in
``ceil(n / shard_size)`` shards (stdlib only, cheap to import).
"""

from __future__ import annotations


def n_shards_for(n_images: int, shard_size: int) -> int:
    return -(-int(n_images) // int(shard_size))
