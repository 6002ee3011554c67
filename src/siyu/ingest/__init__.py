"""Segment-compatible ingest: write keys per source, durable raw batches, events and identities."""
