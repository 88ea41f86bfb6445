"""Command-line interface: thin wrappers that parse, call the library, render."""
