"""Trust in the map: workers' reports, confirmations, check-ins, freshness, posters.

Pure rules only (no Flask, no SQL): report types and their severity, what a
report must carry, receipt codes, daily-rotating client hashes, duplicate
keys (:mod:`geo.trust.reports`); how fresh each fact of a place is
(:mod:`geo.trust.freshness`); photo cleaning with Pillow
(:mod:`geo.trust.photos`); station QR posters (:mod:`geo.trust.posters`).
The SQL is in :mod:`geo.db.trust`, the use cases in :mod:`geo.service.trust`.
"""
