"""What the exported model promises its callers about missing inputs (no imports: the module
file, the components and the server all read it).

The Trainer (``pipelines/modules/tabular.py``) writes :data:`INPUT_CONTRACT_FILE` beside the
SavedModel: ``{"version": 1, "inputs": {name: {"dtype", "type", "optional"}}}``. An optional
input (the schema lets rows miss it; the model imputes it as in training) takes NaN for a
missing number (its input is float64 then, integer features included) and :data:`MISSING_STRING`
for a missing category.
"""

#: Beside the SavedModel, under ``assets.extra/`` (TF Serving's folder for files the graph does not use).
INPUT_CONTRACT_FILE = "assets.extra/input_contract.json"
#: A missing categorical value in a serving tensor (ingest never writes an empty string as a value).
MISSING_STRING = ""
#: The exported signature from ``serving_default``'s inputs to the inner Keras model's inputs.
TRANSFORM_RAW_SIGNATURE = "transform_raw"
#: The exported signature answering as ``serving_default`` from serialized tf.Examples.
EXAMPLES_SIGNATURE = "serve_examples"
