"""Makes the helper modules next to this file (tfparse, hcl_expr) importable in any import mode."""

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
