"""iamd: an open-source integrated air and missile defense simulator.

Public API: :func:`load_scenario`, :func:`simulate`, :class:`Scenario`, :class:`RunResult`.
"""

__version__ = "0.1.0"

from iamd.scenario.load import Scenario, load_scenario
from iamd.sim.run import RunResult, simulate

__all__ = ["RunResult", "Scenario", "__version__", "load_scenario", "simulate"]
