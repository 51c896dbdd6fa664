"""Spark jobs that build training tables from raw exports (run by the ``feature_engineering`` DAG).

Each job is two modules: pure DataFrame -> DataFrame transformations (unit-tested on small
DataFrames) and a thin entry point that reads, writes and summarizes. They need ``pyspark``,
which lives in the host Airflow venv (``.venv-airflow``), not in the project image.
"""
