"""Places: kinds and vocabularies, coordinate systems, opening hours, districts, ledger reading and row validation."""
