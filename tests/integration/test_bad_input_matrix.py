"""The bad-input matrix through the `mlops run` CLI: every case exits 3 with the column or the
problem named in the closing paragraph, and the push destination is left as it was — both before
any version was pushed and with the shared run's version 1 serving (DriftCheck active then).

The CLI runs in-process (``pipelines.cli.main(..., hard_exit=False)``): the same argument
parsing, exit-code mapping and paragraph as the console script, without a process start per case.
"""

import io

import pandas as pd
import pytest

from components.versioned_pusher import logic as push_logic
from pipelines.cli import main
from tests.configs import fast_config
from tests.integration.bad_inputs import FRAME_KINDS, corrupt

pytestmark = pytest.mark.slow


def _write(df: pd.DataFrame, path, **kw) -> str:
    df.to_csv(path, index=False, **kw)
    return str(path)


def _case(kind: str, df: pd.DataFrame, path) -> str:
    """Writes the corrupted file for ``kind``; returns its path."""
    if kind in FRAME_KINDS:
        return _write(corrupt(df, kind), path)
    if kind == "empty":
        path.write_bytes(b"")
        return str(path)
    if kind == "header_only":
        path.write_text(",".join(df.columns) + "\n")
        return str(path)
    if kind == "ragged":
        buf = io.StringIO()
        df.to_csv(buf, index=False)
        lines = buf.getvalue().splitlines()
        lines[5] += ",1,2,3"  # one row with three fields too many
        path.write_text("\n".join(lines) + "\n")
        return str(path)
    if kind == "wrong_delimiter":
        return _write(df, path, sep=";")
    raise ValueError(f"unknown case {kind!r}")


# kind: what the closing paragraph must name
CASES = {
    "missing_column": "flipper_length_mm",
    "wrong_type": "bill_depth_mm",
    "out_of_range": "body_mass_g",
    "unseen_category": "island",
    "empty": "file_not_empty",
    "header_only": "has_rows",
    "ragged": "well_formed_csv",
    "wrong_delimiter": "semicolons",
    "all_null_column": "sex",
    "missing_labels": "species",
}


def _run(config: str, out, data: str, capsys) -> tuple[int, str]:
    code = main(["run", "--config", config, "--output-dir", str(out), "--data-uri", data], hard_exit=False)
    err = capsys.readouterr().err
    return code, " ".join(err.strip().split("\n\n")[-1].split())


@pytest.mark.parametrize("kind", sorted(CASES))
@pytest.mark.parametrize("pushed", [False, True], ids=["nothing-pushed", "version-serving"])
def test_bad_input_exits_3_names_the_problem_and_touches_no_version(
    kind, pushed, tmp_path, raw_config, penguins_df, request, capsys
):
    if pushed:
        trained = request.getfixturevalue("trained_pipeline")  # drift check on, version 1 serving
        config, dest = str(trained["config_path"]), trained["destination"]
    else:
        dest = tmp_path / "models"
        config = str(fast_config(tmp_path, raw_config, destination=str(dest)))
    before = {v: push_logic.dir_fingerprint(dest / "penguins" / str(v)) for v in push_logic.complete_versions(str(dest), "penguins")}
    assert bool(before) == pushed
    data = _case(kind, penguins_df, tmp_path / f"{kind}.csv")
    code, paragraph = _run(config, tmp_path / "run", data, capsys)
    assert code == 3, paragraph
    assert paragraph.startswith("Data validation stopped the pipeline for penguins"), paragraph
    assert CASES[kind] in paragraph, paragraph
    assert "Traceback" not in paragraph and "/src/" not in paragraph
    after = {v: push_logic.dir_fingerprint(dest / "penguins" / str(v)) for v in push_logic.complete_versions(str(dest), "penguins")}
    assert after == before
