"""Planning: coverage (numeric core and adapters), road networks, siting models."""
