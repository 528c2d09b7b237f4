"""Paper tables from the benchmark cells, beside the seeds' claimed numbers."""
