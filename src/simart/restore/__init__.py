"""restore subpackage."""
