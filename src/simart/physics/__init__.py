"""physics subpackage."""
