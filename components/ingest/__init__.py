"""Ingest: read CSV/Parquet from a local path, s3://, gs:// or package://, split, write Examples."""
