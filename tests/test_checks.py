"""The one validator family (gaincell._checks): one rule for what a number is, one message
shape, used by params, the system components, the design file's [system] table and explore."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaincell._checks import (
    as_real,
    check_choice,
    check_levels,
    check_number,
    check_positive,
    is_int,
)

NOT_REAL = [True, np.bool_(False), "1.0", None, [1.0], np.array([1.0]), np.array(1.0),
            float("nan"),
            float("inf"), np.float64("-inf"), 1 + 2j]


@pytest.mark.parametrize("value", NOT_REAL, ids=repr)
def test_what_is_not_a_real_number(value):
    with pytest.raises(ValueError, match=r"^x = .* is invalid: allowed a finite real number$"):
        as_real("x", value)


@pytest.mark.parametrize("value", [3, 3.0, np.float32(3), np.int8(3), np.uint16(3)], ids=repr)
def test_real_numbers_python_or_numpy(value):
    assert as_real("x", value) == 3.0 and type(as_real("x", value)) is float


def test_integers_are_not_bools_or_floats():
    assert is_int(3) and is_int(np.int64(3))
    assert not is_int(True) and not is_int(3.0) and not is_int(np.bool_(True))
    assert check_number("n", np.int64(5), 1, 10, integer=True) == 5
    for bad in (True, 5.0, "5"):
        with pytest.raises(ValueError, match=r"allowed an integer in \[1, 10\]"):
            check_number("n", bad, 1, 10, integer=True)


@given(st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_interval_bounds_open_and_closed(x):
    inside = 0.0 < x <= 1.0
    if inside:
        assert check_number("x", x, 0.0, 1.0, lo_open=True) == x
    else:
        with pytest.raises(ValueError, match=r"allowed a real number in \(0.0, 1.0\] V"):
            check_number("x", x, 0.0, 1.0, "V", lo_open=True)


def test_messages_name_the_value_and_the_range():
    with pytest.raises(ValueError) as e:
        check_positive("DeviceParams.tau", -1.0, "s")
    assert str(e.value) == "DeviceParams.tau = -1.0 is invalid: allowed > 0 s"
    with pytest.raises(ValueError, match=r"levels = 1 is invalid: allowed an integer in "
                                         r"\[2, 65536\] or None"):
        check_levels("levels", 1)
    assert check_levels("levels", None) is None
    assert check_choice("mode", "auto", ("auto", "predicted")) == "auto"
    with pytest.raises(ValueError, match=r"mode = 'fast' is invalid: allowed 'auto', "
                                         r"'predicted'"):
        check_choice("mode", "fast", ("auto", "predicted"))
    with pytest.raises(ValueError, match="is invalid"):
        check_choice("mode", np.array(["auto"]), ("auto",))


def test_the_layers_share_the_rules():
    """A bool and a string are refused the same way by params, a component and [system]."""
    import gaincell as gc
    from gaincell.system import SystemSpec
    from gaincell.system.components import WriteDAC

    for make in (lambda v: gc.DeviceParams(tau=v), lambda v: WriteDAC(vdd=v),
                 lambda v: SystemSpec(technology_nm=v)):
        for bad in (True, "0.9", float("nan")):
            with pytest.raises(ValueError, match=r" is invalid: allowed "):
                make(bad)
        make(np.float64(28.0))   # a NumPy number is a number everywhere
