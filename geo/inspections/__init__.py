"""Inspections against a written standard: items, scores, stars, cards (issue 11).

A pure room: standards as data (:mod:`.standards`), the scoring and card rules
(:mod:`.scoring`) and the seeded draw of places to visit (:mod:`.draw`).  No
database, no framework.
"""
