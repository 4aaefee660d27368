"""`jaxnn run NAME --seed N` takes only seeds jax.random.key accepts: a negative or
non-integer seed is a clear command-line error (status 2, the argument named), before
anything runs."""

import pytest

from jaxnn import cli


@pytest.mark.parametrize("seed, message", [
    ("-1", "must lie in [0, 2**32); got -1"),
    ("-7", "must lie in [0, 2**32); got -7"),
    ("4294967296", "must lie in [0, 2**32); got 4294967296"),
    ("1.5", "must be an integer; got '1.5'"),
    ("abc", "must be an integer; got 'abc'"),
])
def test_bad_seed_is_a_clear_cli_error(seed, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "xor", "--quick", "--seed", seed, "--out", str(tmp_path / "r")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --seed" in err and message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("seed", ["0", "1", "4294967295"])
def test_seeds_in_range_parse(seed):
    args = cli.build_parser().parse_args(["run", "xor", "--seed", seed])
    assert args.seed == int(seed)
    import jax

    jax.random.key(args.seed)  # the range is what jax.random.key takes
