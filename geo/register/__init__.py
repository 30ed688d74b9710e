"""The hardship-household register: records, field encryption, k-anonymous aggregates."""
