"""Data sets (local cache + checksums), text utilities and batching."""
