"""End to end: the CLI on every bad input, the public API, every recipe, the docs site."""
