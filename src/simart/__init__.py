"""SIMART microscopy-restoration benchmark.

Data flow (one direction): clean sources -> physics operators -> shards ->
models -> predictions -> metrics -> statistics -> figures.
"""

__version__ = "0.1.0"
