"""Pydantic models of a scenario file (the edge of the package).

Angles are in degrees and distances in kilometres here, as a user writes them;
:mod:`iamd.scenario.model` converts them to SI once.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Position(_Strict):
    """A geodetic point."""

    lat_deg: float = Field(ge=-90, le=90)
    lon_deg: float = Field(ge=-180, le=180)
    alt_m: float = Field(default=0.0, ge=-500, le=100_000)


class Origin(Position):
    """Theatre origin: the centre of maps and of the local east-north-up frame."""


class Area(Position):
    """A circular area (launch area, patrol station)."""

    radius_km: float = Field(default=0.0, ge=0, le=2000)


class Asset(_Strict):
    """A defended asset: a point with a radius, or a polygon of (lat, lon) vertices."""

    name: str = Field(pattern=NAME)
    value: float = Field(gt=0, description="relative value; leakers destroy a share of it")
    point: Position | None = None
    radius_km: float = Field(default=2.0, gt=0, le=200)
    polygon: list[tuple[float, float]] | None = Field(
        default=None, min_length=3, description="vertices as [lat_deg, lon_deg]"
    )

    @model_validator(mode="after")
    def _one_shape(self) -> Asset:
        if (self.point is None) == (self.polygon is None):
            raise ValueError("give exactly one of 'point' or 'polygon'")
        if self.polygon is not None:
            for lat, lon in self.polygon:
                if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                    raise ValueError(f"polygon vertex ({lat}, {lon}) is not a valid [lat, lon]")
        return self


class Link(_Strict):
    """A data link: every message is late by ``latency_s`` and lost with probability ``loss``."""

    latency_s: float = Field(default=0.0, ge=0, le=3600)
    loss: float = Field(default=0.0, ge=0, le=1, description="probability a message is lost")


class Owner(_Strict):
    """A coalition partner: owns sensors, fire units and C2 nodes."""

    name: str = Field(pattern=NAME)
    shares_with: list[str] = Field(
        default_factory=list, description="partners that receive this owner's tracks"
    )
    colour: str = Field(default="", description="map colour, e.g. '#1f77b4'")
    sensor_link: Link = Field(
        default_factory=lambda: Link(latency_s=0.5),
        description="from this owner's radars and launch-warning sensors to its tracker",
    )
    share_link: Link = Field(
        default_factory=lambda: Link(latency_s=2.0),
        description="this owner's track reports to the partners it shares with",
    )
    share_period_s: float = Field(
        default=4.0, gt=0, le=3600, description="interval between track reports to partners"
    )


class Sensor(Position):
    """A sensor site."""

    name: str = Field(pattern=NAME)
    type: str = Field(description="a key of the catalog's sensors")
    owner: str
    boresight_deg: float = Field(default=0.0, ge=0, lt=360, description="sector centre azimuth")


class C2Node(Position):
    """A command-and-control node; runs the battle-management cycle for its fire units."""

    name: str = Field(pattern=NAME)
    owner: str
    cycle_s: float = Field(default=2.0, gt=0, le=600)


class FireUnit(Position):
    """A fire unit: a battery, a ship's launchers, a laser, a fighter patrol station."""

    name: str = Field(pattern=NAME)
    interceptor: str = Field(description="a key of the catalog's interceptors")
    owner: str
    c2: str = Field(description="name of the C2 node that tasks this unit")
    engage: Literal["threats_to_assets", "all"] | None = Field(
        default=None, description="default: the doctrine's 'engage'"
    )
    rounds: int | None = Field(default=None, ge=0, description="rounds loaded (catalog default)")
    reloads: int | None = Field(default=None, ge=0, description="reserve rounds (catalog default)")


class Salvo(_Strict):
    """Threats of one class launched from an area over a time window."""

    name: str = Field(default="", description="label for tables")
    threat: str = Field(description="a key of the catalog's threats")
    count: int = Field(ge=1, le=100_000)
    launch_area: Area
    start_s: float = Field(default=0.0, ge=0)
    interval_s: float = Field(default=0.0, ge=0, description="time between launches")
    jitter_s: float = Field(default=0.0, ge=0, description="uniform launch-time jitter")
    targets: list[str] = Field(default_factory=list, description="asset names, used in turn")
    aimpoints: list[Position] = Field(default_factory=list)
    waypoints: list[Position] = Field(
        default_factory=list, description="route threats: legs flown before the target"
    )

    @model_validator(mode="after")
    def _has_target(self) -> Salvo:
        if not self.targets and not self.aimpoints:
            raise ValueError("give 'targets' (asset names) or 'aimpoints'")
        return self


class Doctrine(_Strict):
    """Battle-management rules shared by every C2 node."""

    engage: Literal["threats_to_assets", "all"] = "threats_to_assets"
    shoot_look_shoot: bool = True
    salvo: int = Field(default=1, ge=1, le=4, description="interceptors per engagement")
    kill_assessment_s: float = Field(default=4.0, ge=0)
    cover_pk: float = Field(
        default=0.7,
        ge=0,
        le=1,
        description="a threat whose engagements in flight kill it with at least this "
        "probability is not engaged again until they are assessed",
    )
    last_look_salvo: int = Field(
        default=2,
        ge=1,
        le=4,
        description="interceptors per engagement when no time is left to look and shoot again",
    )
    min_pk: float = Field(default=0.3, ge=0, le=1, description="ignore weaker opportunities")
    asset_margin_km: float = Field(default=1.0, ge=0, description="added to asset radii")
    prefer_cheap: bool = Field(
        default=True, description="within reach, prefer the cheapest layer that can kill"
    )
    solver: Literal["layered", "greedy", "auto"] = Field(
        default="auto",
        description="assignment each C2 cycle: 'layered' rules (threats by value at risk, "
        "each to its preferred unit), or weighted WTA maximising value saved minus "
        "cost_weight x interceptor cost ('greedy': maximum marginal return; 'auto': greedy "
        "then improving changes)",
    )
    cost_weight: float = Field(
        default=0.0,
        ge=0,
        description="value units charged per US$ million of interceptors (weighted WTA)",
    )
    reserve: int = Field(
        default=0, ge=0, description="rounds each kinetic fire unit holds back, never fired"
    )
    upper_first: bool = Field(
        default=True,
        description="a ballistic threat an upper tier can take now goes to that tier only; "
        "lower layers are held for its leakers (weighted WTA)",
    )
    later_credit: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="share of a threat's value credited to the layers that can still engage "
        "it later (weighted WTA): 0 ignores them, 1 counts on them fully",
    )
    min_hit_probability: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="engage a threat only if it hits a defended asset with at least this "
        "probability (from its track covariance), unless its fire unit engages all",
    )


class Tracking(_Strict):
    """Tracking mode and tracker parameters.

    ``gnn`` is a real multi-target tracker per owner (measurements carry no identity;
    false alarms make false tracks) with track-to-track fusion between partners;
    ``ideal`` gives every measurement its true identity and shares measurements
    instantly, to separate tracking errors from battle-management errors.
    """

    mode: Literal["gnn", "ideal"] = "gnn"
    process_noise_m_s2: float = Field(
        default=5.0, gt=0, description="acceleration noise of fast (ballistic) tracks"
    )
    drop_after_s: float = Field(default=60.0, gt=0, description="drop a track not updated since")
    gate: float = Field(
        default=4.0, gt=0, le=20, description="Mahalanobis gate of association (gnn)"
    )
    confirm_m: int = Field(default=3, ge=1, le=20, description="M of M-of-N confirmation (gnn)")
    confirm_n: int = Field(default=5, ge=1, le=50, description="N of M-of-N confirmation (gnn)")
    max_misses: int = Field(
        default=6, ge=1, le=100, description="delete a confirmed track missed this many scans"
    )

    @model_validator(mode="after")
    def _m_of_n(self) -> Tracking:
        if self.confirm_n < self.confirm_m:
            raise ValueError(
                f"confirm_n ({self.confirm_n}) must be >= confirm_m ({self.confirm_m})"
            )
        return self


class CatalogOverride(_Strict):
    """Per-class overrides of catalog figures, or new classes with ``base:``."""

    interceptors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    threats: dict[str, dict[str, Any]] = Field(default_factory=dict)
    sensors: dict[str, dict[str, Any]] = Field(default_factory=dict)


class ScenarioFile(_Strict):
    """A whole scenario file."""

    name: str = Field(pattern=NAME)
    description: str = ""
    origin: Origin
    duration_s: float = Field(gt=0, le=7 * 86400)
    seed: int = Field(default=0, ge=0)
    owners: list[Owner] = Field(min_length=1)
    assets: list[Asset] = Field(min_length=1)
    sensors: list[Sensor] = Field(default_factory=list)
    c2_nodes: list[C2Node] = Field(default_factory=list)
    fire_units: list[FireUnit] = Field(default_factory=list)
    raid: list[Salvo] = Field(min_length=1, description="salvos; may not be empty")
    doctrine: Doctrine = Field(default_factory=Doctrine)
    tracking: Tracking = Field(default_factory=Tracking)
    catalog: CatalogOverride = Field(default_factory=CatalogOverride)


def json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files, for editor completion."""
    schema = ScenarioFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "iamd scenario"
    return schema
