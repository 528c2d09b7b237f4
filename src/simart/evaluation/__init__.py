"""Prediction on test shards, per-image metric tables, aggregation across cells."""
