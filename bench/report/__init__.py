"""Reports: the versioned JSON schema (schema.py) and its Rich rendering (tables.py)."""
