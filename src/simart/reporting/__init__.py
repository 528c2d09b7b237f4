"""Paper tables from the benchmark cells, beside the papers' claimed numbers."""
