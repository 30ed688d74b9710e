"""Use cases shared by web views, CLI commands and job workers (framework-free)."""
