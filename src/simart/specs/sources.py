"""Clean sources: the procedural specimen kinds (:mod:`simart.simulate.procedural` draws them)."""

PROCEDURAL_KINDS: tuple[str, ...] = (
    "terraces", "fractal", "grains", "particles", "filaments", "blobs", "lattice")
