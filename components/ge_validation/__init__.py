"""Great Expectations 1.x validation: a suite derived from the TFDV schema, run for real."""
