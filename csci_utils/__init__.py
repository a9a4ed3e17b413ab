"""Reusable data utilities: salted hashing, atomic writes, Excel to Parquet, Luigi storage."""
