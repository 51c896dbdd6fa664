"""Component tests share the repo-wide fixtures (penguins data, configs)."""

from tests.conftest import penguins_csv, penguins_df, raw_config  # noqa: F401
