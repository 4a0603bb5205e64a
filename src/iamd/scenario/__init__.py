"""Scenario files: YAML with line numbers, pydantic validation, the equipment catalog."""

from iamd.scenario.load import load_scenario, resolve_scenario_path

__all__ = ["load_scenario", "resolve_scenario_path"]
