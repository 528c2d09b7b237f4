"""Checks and plans the Snakemake workflow runs while it plans (torch-free)."""
