"""Use cases shared by web views, CLI commands and workers (framework-free).

Each takes a SQLAlchemy ``Session`` and plain values and leaves committing to
its caller, so a view, a command and a test decide the transaction alike.
"""
