"""Shared plumbing below every other package: errors, atomic file writing, JSON conversion,
units of time and the package's paths. Nothing here imports from the rest of ``sim``."""
