import json

import pytest

from experiments import cli
from experiments._base import discover, load
from jaxnn.errors import JaxnnError


def test_unknown_experiment_is_a_clear_error(capsys):
    assert cli.main(["run", "no-such-thing", "--quick"]) == 2
    err = capsys.readouterr().err
    assert "unknown experiment 'no-such-thing'" in err


def test_load_raises_named_error():
    with pytest.raises(JaxnnError, match="no-such"):
        load("no-such")


def test_every_experiment_has_the_contract():
    for name in discover():
        m = load(name)
        assert isinstance(m.TITLE, str) and m.TITLE
        assert isinstance(m.QUICK, dict) and isinstance(m.FULL, dict)


def test_info_prints_backend(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backend" in out and "jax" in out
