"""Equipment catalog: notional interceptor, threat and sensor classes.

The bundled ``catalog.yaml`` gives every class; each figure either carries a public
``source`` URL or is covered by the entry's ``notional: true``. A scenario may
override any figure, or add a class derived from a bundled one with ``base:``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    public_example: str = ""
    notional: bool = False
    source: dict[str, str] = Field(default_factory=dict)
    note: str = ""


class InterceptorClass(_Entry):
    """One interceptor (or directed-energy weapon) class and its engagement envelope."""

    kind: Literal["kinetic", "laser"] = "kinetic"
    layer: int = Field(ge=1, le=9, description="1 = upper tier; higher numbers are lower layers")
    min_range_km: float = Field(ge=0)
    max_range_km: float = Field(gt=0)
    min_alt_km: float = Field(ge=0)
    max_alt_km: float = Field(gt=0)
    speed_m_s: float = Field(gt=0, description="mean flyout speed to the intercept point")
    reaction_s: float = Field(ge=0, description="decision to launch (or to lase)")
    divert_m: float = Field(
        gt=0, description="seeker basket: largest guidance error the kill vehicle absorbs"
    )
    pk: dict[str, float] = Field(description="single-shot kill probability by threat class")
    cost_usd: float = Field(ge=0)
    launchers: int = Field(ge=1)
    rounds_per_launcher: int = Field(ge=1)
    reloads: int = Field(ge=0, description="rounds held in reserve for reloading")
    reload_s: float = Field(ge=0)
    channels: int = Field(ge=1, description="simultaneous engagements a fire unit can guide")
    launch_interval_s: float = Field(ge=0)
    power_kw: float = Field(default=0.0, ge=0, description="laser only: output power")
    divergence_urad: float = Field(default=0.0, ge=0, description="laser only: spot half-angle")
    extinction_per_km: float = Field(default=0.0, ge=0, description="laser only: atmosphere")
    slew_s: float = Field(default=0.0, ge=0, description="laser only: retarget time")


class ThreatClass(_Entry):
    """One threat class: flight model, signature, reliability, cost, lethality."""

    kind: Literal["ballistic", "route"]
    speed_m_s: float = Field(default=0.0, ge=0, description="route threats: cruise speed")
    cruise_alt_m: float = Field(default=0.0, ge=0, description="route threats: altitude")
    dive_km: float = Field(default=5.0, ge=0, description="route threats: terminal dive length")
    burn_s: float = Field(default=0.0, ge=0, description="ballistic: boost duration")
    burnout_alt_km: float = Field(default=0.0, ge=0, description="ballistic: burnout altitude")
    beta_kg_m2: float = Field(default=1e9, gt=0, description="ballistic coefficient m / (Cd A)")
    loft_deg: float = Field(default=0.0, description="flight-path angle above minimum energy")
    min_range_km: float = Field(ge=0)
    max_range_km: float = Field(gt=0)
    rcs_m2: float = Field(gt=0)
    reliability: float = Field(ge=0, le=1)
    cep_m: float = Field(ge=0)
    cost_usd: float = Field(ge=0)
    damage: float = Field(ge=0, le=1, description="share of an asset's value one hit destroys")
    laser_fluence_j_cm2: float = Field(gt=0, description="energy density that kills it")


class SensorClass(_Entry):
    """One sensor class: a radar or a spaceborne launch-warning system."""

    kind: Literal["radar", "spaceborne"]
    ref_range_km: float = Field(default=0.0, ge=0, description="radar: 1 m2 gives ref SNR here")
    ref_snr_db: float = 13.0
    track_gain_db: float = Field(
        default=6.0, ge=0, le=30, description="radar: extra SNR on threats already tracked"
    )
    pfa: float = Field(default=1e-6, gt=0, lt=1)
    max_range_km: float = Field(gt=0)
    sector_deg: float = Field(default=360.0, gt=0, le=360)
    min_el_deg: float = Field(default=0.0, ge=-10, le=90)
    max_el_deg: float = Field(default=90.0, ge=-10, le=90)
    scan_s: float = Field(gt=0)
    sigma_range_m: float = Field(default=0.0, ge=0)
    sigma_angle_mrad: float = Field(default=0.0, ge=0)
    sigma_pos_m: float = Field(default=0.0, ge=0, description="spaceborne: position error")
    delay_s: float = Field(default=0.0, ge=0, description="spaceborne: first report after launch")
    false_alarms_per_scan: float = Field(default=0.0, ge=0)
    mast_m: float = Field(default=10.0, ge=0, description="radar: antenna height above ground")


class Catalog(BaseModel):
    """All classes known to a scenario, keyed by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interceptors: dict[str, InterceptorClass]
    threats: dict[str, ThreatClass]
    sensors: dict[str, SensorClass]


SECTIONS: dict[str, type[_Entry]] = {
    "interceptors": InterceptorClass,
    "threats": ThreatClass,
    "sensors": SensorClass,
}


@cache
def bundled_catalog_data() -> dict[str, Any]:
    """The bundled catalog as plain data (parsed once)."""
    from iamd.scenario.yamlpos import loads

    text = resources.files("iamd.scenario").joinpath("catalog.yaml").read_text("utf-8")
    data = loads(text, "catalog.yaml").data
    assert isinstance(data, dict)
    return data
