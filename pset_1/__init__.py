"""Pset 1: ids by salted hash, Excel to Parquet through an atomic write."""
