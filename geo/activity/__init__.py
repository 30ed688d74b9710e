"""Rider activity: time windows, column mapping, times, rider-id hashing, one reader per file layout, H3 aggregation, distributed runs."""
