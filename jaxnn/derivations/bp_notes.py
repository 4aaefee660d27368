"""The numbers printed in the BP worked example of aopu's lecture notes 《神经网络》 ("BP算法例子").

Data only: :mod:`jaxnn.derivations.bp_example` reproduces them (``worked_example``) and its
docstring explains the slips listed in :data:`NOTES_SLIPS`.
"""

from __future__ import annotations

#: Every number the notes print, keyed as :func:`worked_example` returns them.
NOTES_PRINTED: dict[str, float] = {
    "net_h1": 2.35, "out_h1": 0.912934, "out_h2": 0.979164, "out_h3": 0.995275,
    "net_o1": 2.1019206, "out_o1": 0.891090, "out_o2": 0.904330, "E_total": 0.391829,
    "dE_dout_o1": 0.88109, "dout_o1_dnet_o1": 0.097049, "dE_dw7": 0.078064,
    "dEo1_dout_h1": 0.030866, "dE_dw1": 0.011204,
    **{f"w{i}_plus": v for i, v in enumerate(
        (0.094534, 0.139069, 0.198211, 0.246422, 0.299497, 0.348993,
         0.360968, 0.453383, 0.458137, 0.553629, 0.557448, 0.653688), start=1)},
    "out_o1_iter10": 0.662866, "out_o2_iter10": 0.908195,
    "out_o1_iter100": 0.073889, "out_o2_iter100": 0.945864,
    "out_o1_iter1000": 0.022971, "out_o2_iter1000": 0.977675,
    **{f"w{i}_iter1000": v for i, v in enumerate(
        (0.214925, 0.379850, 0.262855, 0.375711, 0.323201, 0.396402,
         -1.48972, 0.941715, -1.50182, 1.049019, -1.42756, 1.151881), start=1)},
}

#: Printed numbers that neither order reproduces -> the value the arithmetic gives in the
#: notes' order, rounded to the printed number of decimals (see the module docstring).
NOTES_SLIPS: dict[str, float] = {
    "out_h3": 0.995274, "net_o1": 2.1019201, "dE_dw1": 0.010931, "w5_plus": 0.299496,
    "w9_plus": 0.458136, "out_o2_iter100": 0.945865, "w7_iter1000": -1.48973,
}

#: Trajectory row (number of updates) behind each of the notes' "after n iterations" labels.
NOTES_ROWS = {"iter10": 9, "iter100": 100, "iter1000": 1000, "w_iter1000": 1001}


#: Decimals the notes print; 6 unless listed (trailing zeros such as 0.904330 count).
NOTES_DECIMALS = {"net_h1": 2, "net_o1": 7, "w7_iter1000": 5, "w9_iter1000": 5,
                  "w11_iter1000": 5}


def decimals(name: str) -> int:
    """Number of decimals the notes print for ``name`` (a key of :data:`NOTES_PRINTED`)."""
    return NOTES_DECIMALS.get(name, 6)
