"""A stock TFX penguin-style pipeline: the contender ``benchmarks.pipeline_overhead --peer`` runs.

Written the way TFX's own penguin example is (``tfx/examples/penguin``): CsvExampleGen,
StatisticsGen, SchemaGen, ExampleValidator, Transform and Trainer from a module file, a Resolver
for the latest blessed model, Evaluator, Pusher, on LocalDagRunner. Same data, model and epochs
as the project's pipeline; none of the project's components.
"""
