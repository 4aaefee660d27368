"""``jaxnn run NAME --set KEY=VALUE``: parsing, checking against the config, recording."""

import json
import shlex
from pathlib import Path

import pytest

from jaxnn import cli
from jaxnn.cli import override, parse_sets
from jaxnn.errors import JaxnnError
from jaxnn_experiments import adding_problem, load, optimizers, regression, rnn_gradients

RESULTS = Path(__file__).parents[1] / "results"


def test_values_parse_as_json_else_as_strings():
    sets = parse_sets(["lengths=[200]", "steps=3000", "lr=0.005", "x64=false", "cells=lstm",
                       "patience=null", 'lr_map={"sgd": 1}', "eq=a=b", "empty="])
    assert sets == {"lengths": [200], "steps": 3000, "lr": 0.005, "x64": False, "cells": "lstm",
                    "patience": None, "lr_map": {"sgd": 1}, "eq": "a=b", "empty": ""}
    assert parse_sets(["steps=1", "steps=2"]) == {"steps": 2}       # the later one wins


@pytest.mark.parametrize("item", ["steps", "=3"])
def test_an_item_without_key_or_equals_is_an_error(item):
    with pytest.raises(JaxnnError, match="KEY=VALUE"):
        parse_sets([item])


@pytest.mark.parametrize("folder", sorted(p.parent.name for p in RESULTS.glob("*/results.json")))
def test_every_recorded_run_is_expressible_from_the_command_line(folder):
    """Each results/*/results.json config is FULL plus ``--set`` items (adding-problem-T200:
    ``--set 'lengths=[200]' steps=3000 chrono=false``)."""
    record = json.loads((RESULTS / folder / "results.json").read_text())
    module = load(record["experiment"])
    full_before = json.dumps(module.FULL)
    items = [f"{k}={json.dumps(v)}" for k, v in record["config"].items()
             if json.loads(json.dumps(module.FULL.get(k))) != v]
    cfg = override(module.FULL, parse_sets(items), optional=getattr(module, "OPTIONAL", None),
                   experiment=record["experiment"])
    assert json.loads(json.dumps(cfg)) == record["config"]
    assert json.dumps(module.FULL) == full_before        # the module's FULL is not modified
    if folder == "adding-problem-T200":
        assert items == ["lengths=[200]", "steps=3000", "chrono=false"]


def test_int_accepted_for_float_not_the_reverse():
    cfg = override(adding_problem.QUICK, {"lr": 1}, experiment="adding-problem")
    assert cfg["lr"] == 1.0 and isinstance(cfg["lr"], float)
    with pytest.raises(JaxnnError, match=r"--set steps expects int .*got float 3\.5"):
        override(adding_problem.QUICK, {"steps": 3.5}, experiment="adding-problem")


def test_bools_and_strings_are_strict():
    assert override(regression.QUICK, {"x64": False})["x64"] is False
    with pytest.raises(JaxnnError, match=r"x64 expects bool \(true or false\).*got int 1"):
        override(regression.QUICK, {"x64": 1})
    with pytest.raises(JaxnnError, match="hidden expects int.*got bool"):
        override(adding_problem.QUICK, {"hidden": True})
    with pytest.raises(JaxnnError, match="dataset expects str.*got int 7"):
        override(optimizers.QUICK, {"dataset": 7})


def test_unknown_key_lists_the_valid_keys():
    with pytest.raises(JaxnnError) as exc:
        override(adding_problem.QUICK, {"step": 10}, experiment="adding-problem")
    msg = str(exc.value)
    assert "adding-problem: --set step: unknown config key" in msg
    assert "valid keys: " + ", ".join(adding_problem.QUICK) in msg


def test_lists_check_their_items():
    assert override(adding_problem.QUICK, {"cells": ["lstm"]})["cells"] == ["lstm"]
    with pytest.raises(JaxnnError, match=r"lengths\[1\] expects int.*got str 'x'"):
        override(adding_problem.QUICK, {"lengths": [10, "x"]})
    with pytest.raises(JaxnnError, match="lengths expects list of int"):
        override(adding_problem.QUICK, {"lengths": 200})
    assert override({"sizes": (1, 2)}, {"sizes": [3]}) == {"sizes": (3,)}


def test_nested_objects_by_dotted_key_or_by_object():
    base = rnn_gradients.QUICK
    cfg = override(base, parse_sets(["train.steps=10", "T=12"]))
    assert cfg["train"] == {**base["train"], "steps": 10} and cfg["T"] == 12
    assert override(base, {"train": {"lr": 1}})["train"] == {**base["train"], "lr": 1.0}
    with pytest.raises(JaxnnError, match="valid keys of train: T, steps"):
        override(base, {"train.stepz": 10})
    with pytest.raises(JaxnnError, match="valid keys of train"):
        override(base, {"train": {"stepz": 10}})
    with pytest.raises(JaxnnError, match="hidden is not an object"):
        override(base, {"hidden.x": 1})
    lr = override(optimizers.QUICK, {"lr.adam": 0.01})["lr"]
    assert lr == {**optimizers.QUICK["lr"], "adam": 0.01}


def test_none_default_takes_any_value_and_optional_keys_are_settable():
    assert override({"patience": None}, {"patience": 5}) == {"patience": 5}
    optional = {"l2": 0.0, "distortion": {}}
    cfg = override({"lr": 0.1}, {"l2": 1, "distortion.alpha": 34.0}, optional=optional)
    assert cfg == {"lr": 0.1, "l2": 1.0, "distortion": {"alpha": 34.0}}
    assert override({"lr": 0.1}, {}, optional=optional) == {"lr": 0.1}   # unset: not added
    with pytest.raises(JaxnnError, match="valid keys: l2, distortion, lr"):
        override({"lr": 0.1}, {"l3": 1}, optional=optional)


def test_bad_set_through_the_cli_is_a_clear_error(capsys):
    assert cli.main(["run", "adding-problem", "--quick", "--set", "steps=many"]) == 2
    err = capsys.readouterr().err
    assert "jaxnn: error: adding-problem: --set steps expects int" in err and "'many'" in err
    assert cli.main(["run", "all", "--quick", "--set", "steps=1"]) == 2
    assert "cannot go with 'all'" in capsys.readouterr().err


@pytest.mark.slow
def test_set_reaches_a_real_experiment(tmp_path):
    argv = ["run", "bp_example", "--quick", "--out", str(tmp_path), "--set", "steps=1001"]
    assert cli.main(argv) == 0
    record = json.loads((tmp_path / "results.json").read_text())
    assert record["experiment"] == "bp-example" and record["config"] == {"steps": 1001}
    assert "E_after_1001_output_first" in record["metrics"]
    assert shlex.split(record["command"]) == ["jaxnn", *argv] and record["status"] == "done"
