"""Helper of tests/test_spice_processes.py: start one long ngspice run and wait for it.

Usage: ``python spice_long_job.py BACKEND TIMEOUT_S``. Prints ``started`` once the worker is
launched; the test then signals this process.
"""

import sys

from gaincell.spice.netlist import Netlist
from gaincell.spice.runner import simulate

#: A transient of 100 s at picosecond steps: ngspice runs until killed.
LONG = "* forever\nv1 a 0 sin(0 1 1e9)\nr1 a b 1k\nc1 b 0 1p\n.tran 1p 100\n.end\n"

if __name__ == "__main__":
    print("started", flush=True)
    simulate(Netlist(LONG, "long.cir", ["v(b)"]), timeout_s=float(sys.argv[2]),
             backend=sys.argv[1])
