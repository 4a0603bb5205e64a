"""Equipment catalog: notional interceptor, threat and sensor classes.

The bundled ``catalog.yaml`` gives every class; each figure either carries a public
``source`` URL or is covered by the entry's ``notional: true``. A scenario may
override any figure, or add a class derived from a bundled one with ``base:``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iamd.scenario.schema import TEXT, Bool, Float, Int, Probability

SPEED_OF_LIGHT_M_S = 299_792_458.0
"""The upper bound of an interceptor's ``speed_m_s`` (a laser's)."""
MAX_THREAT_RANGE_KM = 20_000.0
"""Half the Earth's circumference, about: no threat flies farther."""
MIN_ROUTE_SPEED_M_S = 10.0
"""Slowest route threat (a drone into a head wind is still faster)."""
MAX_FALSE_ALARMS_PER_SCAN = 100.0
"""More false alarms per scan than this is a broken radar, not a scenario."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    label: str = Field(max_length=200, pattern=TEXT)
    public_example: str = Field(default="", max_length=200, pattern=TEXT)
    notional: Bool = False
    source: dict[str, str] = Field(default_factory=dict)
    note: str = Field(default="", max_length=2000, pattern=TEXT)


KINEMATIC_FIGURES = (
    "burn_s",
    "burnout_speed_m_s",
    "beta_kg_m2",
    "max_tof_s",
    "max_lateral_g",
    "min_speed_m_s",
    "seeker_range_km",
)
"""Figures every kinetic interceptor class gives (its fly-out emerges from them)."""


class InterceptorClass(_Entry):
    """One interceptor (or directed-energy weapon) class and its engagement envelope."""

    kind: Literal["kinetic", "laser"] = "kinetic"
    layer: Int = Field(ge=1, le=9, description="1 = upper tier; higher numbers are lower layers")
    min_range_km: Float = Field(ge=0, le=5000)
    max_range_km: Float = Field(gt=0, le=5000)
    min_alt_km: Float = Field(ge=0, le=2000)
    max_alt_km: Float = Field(gt=0, le=2000)
    speed_m_s: Float | None = Field(
        default=None,
        ge=0,
        le=SPEED_OF_LIGHT_M_S,
        description="no longer used: interceptors fly with their kinematic figures",
    )
    burn_s: Float | None = Field(
        default=None, gt=0, le=600, description="kinetic: motor burn time (all stages)"
    )
    burnout_speed_m_s: Float | None = Field(
        default=None,
        gt=0,
        le=12_000,
        description="kinetic: speed the motor adds in vacuum without gravity (its delta-v)",
    )
    beta_kg_m2: Float | None = Field(
        default=None, ge=100, le=1e7, description="kinetic: ballistic coefficient m / (Cd A)"
    )
    max_tof_s: Float | None = Field(
        default=None, gt=0, le=3600, description="kinetic: longest time of flight"
    )
    max_lateral_g: Float | None = Field(
        default=None, gt=0, le=200, description="kinetic: lateral acceleration limit, g"
    )
    min_speed_m_s: Float | None = Field(
        default=None, ge=0, le=12_000, description="kinetic: least speed that still intercepts"
    )
    loft: Float = Field(
        default=0.0,
        ge=0,
        le=2,
        description="kinetic: aim above the target by this share of the ground distance to go",
    )
    seeker_range_km: Float | None = Field(
        default=None, gt=0, le=5000, description="kinetic: seeker acquisition range"
    )
    reaction_s: Float = Field(ge=0, le=3600, description="decision to launch (or to lase)")
    divert_m: Float = Field(
        gt=0,
        le=100_000,
        description="seeker basket: largest guidance error the kill vehicle absorbs",
    )
    pk: dict[str, Probability] = Field(
        description="single-shot kill probability by threat class", max_length=100
    )
    cost_usd: Float = Field(ge=0, le=1e10)
    launchers: Int = Field(ge=1, le=1000)
    rounds_per_launcher: Int = Field(ge=1, le=1000)
    reloads: Int = Field(ge=0, le=100_000, description="rounds held in reserve for reloading")
    reload_s: Float = Field(ge=0, le=7 * 86400)
    channels: Int = Field(
        ge=1, le=1000, description="simultaneous engagements a fire unit can guide"
    )
    launch_interval_s: Float = Field(ge=0, le=3600)
    power_kw: Float = Field(default=0.0, ge=0, le=1e6, description="laser only: output power")
    divergence_urad: Float = Field(
        default=0.0, ge=0, le=1e5, description="laser only: spot half-angle"
    )
    extinction_per_km: Float = Field(
        default=0.0, ge=0, le=100, description="laser only: atmosphere"
    )
    slew_s: Float = Field(default=0.0, ge=0, le=3600, description="laser only: retarget time")

    @model_validator(mode="after")
    def _bands(self) -> InterceptorClass:
        _band(self.min_range_km, self.max_range_km, "range_km")
        _band(self.min_alt_km, self.max_alt_km, "alt_km")
        if self.kind == "laser" and not (self.power_kw > 0 and self.divergence_urad > 0):
            raise ValueError("a laser needs power_kw > 0 and divergence_urad > 0")
        if self.kind == "kinetic":
            missing = [f for f in KINEMATIC_FIGURES if getattr(self, f) is None]
            if missing:
                raise ValueError(
                    f"a kinetic interceptor needs its kinematic figures: {', '.join(missing)}"
                )
        return self


class ThreatClass(_Entry):
    """One threat class: flight model, signature, reliability, cost, lethality."""

    kind: Literal["ballistic", "route"]
    speed_m_s: Float = Field(
        default=0.0, ge=0, le=3000, description="route threats: cruise speed (at least 10)"
    )
    cruise_alt_m: Float = Field(default=0.0, ge=0, le=30_000, description="route threats: altitude")
    dive_km: Float = Field(
        default=5.0, ge=0, le=500, description="route threats: terminal dive length"
    )
    burn_s: Float = Field(default=0.0, ge=0, le=600, description="ballistic: boost duration")
    burnout_alt_km: Float = Field(
        default=0.0, ge=0, le=300, description="ballistic: burnout altitude"
    )
    beta_kg_m2: Float = Field(
        default=1e9, ge=100, le=1e9, description="ballistic coefficient m / (Cd A)"
    )
    loft_deg: Float = Field(
        default=0.0, ge=-30, le=30, description="flight-path angle above minimum energy"
    )
    min_range_km: Float = Field(ge=0, le=MAX_THREAT_RANGE_KM)
    max_range_km: Float = Field(gt=0, le=MAX_THREAT_RANGE_KM)
    rcs_m2: Float = Field(ge=1e-6, le=1e4)
    reliability: Probability
    cep_m: Float = Field(ge=0, le=100_000)
    cost_usd: Float = Field(ge=0, le=1e10)
    damage: Probability = Field(description="share of an asset's value one hit destroys")
    laser_fluence_j_cm2: Float = Field(gt=0, le=1e7, description="energy density that kills it")

    @model_validator(mode="after")
    def _flight(self) -> ThreatClass:
        _band(self.min_range_km, self.max_range_km, "range_km")
        if self.kind == "route" and self.speed_m_s < MIN_ROUTE_SPEED_M_S:
            raise ValueError(
                f"a route threat needs speed_m_s >= {MIN_ROUTE_SPEED_M_S:g} "
                f"(got {self.speed_m_s:g})"
            )
        return self


class SensorClass(_Entry):
    """One sensor class: a radar or a spaceborne launch-warning system."""

    kind: Literal["radar", "spaceborne"]
    ref_range_km: Float = Field(
        default=0.0, ge=0, le=100_000, description="radar: 1 m2 gives ref SNR here"
    )
    ref_snr_db: Float = Field(default=13.0, ge=-20, le=60)
    track_gain_db: Float = Field(
        default=6.0, ge=0, le=30, description="radar: extra SNR on threats already tracked"
    )
    pfa: Float = Field(default=1e-6, ge=1e-12, le=0.1)
    max_range_km: Float = Field(gt=0, le=50_000)
    sector_deg: Float = Field(default=360.0, gt=0, le=360)
    min_el_deg: Float = Field(
        default=0.0, ge=-10, le=90, description="lowest elevation, from the site's horizon"
    )
    max_el_deg: Float = Field(default=90.0, ge=-10, le=90)
    scan_s: Float = Field(ge=0.1, le=3600)
    sigma_range_m: Float = Field(default=0.0, ge=0, le=100_000)
    sigma_angle_mrad: Float = Field(default=0.0, ge=0, le=500)
    sigma_pos_m: Float = Field(default=0.0, ge=0, le=1e6, description="spaceborne: position error")
    delay_s: Float = Field(
        default=0.0, ge=0, le=3600, description="spaceborne: first report after launch"
    )
    false_alarms_per_scan: Float = Field(default=0.0, ge=0, le=MAX_FALSE_ALARMS_PER_SCAN)
    mast_m: Float = Field(
        default=10.0, ge=0, le=20_000, description="radar: antenna height above ground"
    )
    kill_assessment_pc: Float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="radar: probability that its kill assessment of an intercept is right",
    )

    @model_validator(mode="after")
    def _coverage(self) -> SensorClass:
        if self.min_el_deg >= self.max_el_deg:
            raise ValueError(
                f"min_el_deg ({self.min_el_deg:g}) must be below max_el_deg ({self.max_el_deg:g}): "
                "the radar would see nothing"
            )
        if self.kind == "radar" and self.ref_range_km <= 0:
            raise ValueError("a radar needs ref_range_km > 0 (the range where 1 m2 gives ref SNR)")
        return self


class AircraftClass(_Entry):
    """One aircraft class flying combat air patrols (``air_patrols`` in a scenario)."""

    cruise_speed_m_s: Float = Field(gt=0, le=1500, description="transit and patrol speed")
    dash_speed_m_s: Float = Field(gt=0, le=1500, description="speed flying to an intercept")
    cruise_alt_km: Float = Field(gt=0, le=25, description="altitude of transit and patrol")
    endurance_h: Float = Field(gt=0, le=48, description="airborne time on one load of fuel")
    turnaround_min: Float = Field(ge=0, le=24 * 60, description="landing to ready: rearm, refuel")
    alert_launch_s: Float = Field(
        ge=0, le=3600, description="from a cue to airborne, for an aircraft on ground alert"
    )
    missiles: Int = Field(ge=1, le=100, description="air-to-air missiles carried")
    launch_range_km: Float = Field(
        gt=0, le=1000, description="distance to its target at which it fires its missile"
    )

    @model_validator(mode="after")
    def _speeds(self) -> AircraftClass:
        if self.dash_speed_m_s < self.cruise_speed_m_s:
            raise ValueError(
                f"dash_speed_m_s ({self.dash_speed_m_s:g}) is below cruise_speed_m_s "
                f"({self.cruise_speed_m_s:g})"
            )
        return self


def _band(lo: float, hi: float, what: str) -> None:
    if lo > hi:
        raise ValueError(f"min_{what} ({lo:g}) is above max_{what} ({hi:g})")


class Catalog(BaseModel):
    """All classes known to a scenario, keyed by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interceptors: dict[str, InterceptorClass]
    threats: dict[str, ThreatClass]
    sensors: dict[str, SensorClass]
    aircraft: dict[str, AircraftClass] = Field(default_factory=dict)


SECTIONS: dict[str, type[_Entry]] = {
    "interceptors": InterceptorClass,
    "threats": ThreatClass,
    "sensors": SensorClass,
    "aircraft": AircraftClass,
}


@cache
def bundled_catalog_data() -> dict[str, Any]:
    """The bundled catalog as plain data (parsed once)."""
    from iamd.scenario.yamlpos import loads

    text = resources.files("iamd.scenario").joinpath("catalog.yaml").read_text("utf-8")
    data = loads(text, "catalog.yaml").data
    assert isinstance(data, dict)
    return data
