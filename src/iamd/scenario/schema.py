"""Pydantic models of a scenario file (the edge of the package).

Angles are in degrees and distances in kilometres here, as a user writes them;
:mod:`iamd.scenario.model` converts them to SI once.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, model_validator

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$"
"""Names of owners, assets, sites, units and catalog classes: letters, digits, ``_.- ``.

They reach tables, maps, file names and the browser, so nothing that markup or a shell
could read as syntax is allowed."""
NAME_MAX = 64
COLOUR = r"^(#[0-9a-fA-F]{6})?$"
LABEL = r"^[^<>&\"'`\x00-\x1f\x7f]*$"
"""Labels for tables (salvo names): any printable text but markup characters."""
TEXT = r"^[^\x00-\x08\x0b-\x1f\x7f]*$"
"""Free text: anything but control characters (newlines and tabs are allowed)."""

Float = Annotated[float, Strict()]
"""A number (an integer is fine); never a boolean or a string, never NaN or infinite."""
Int = Annotated[int, Strict()]
"""A whole number; ``true`` or ``3.5`` are refused rather than read as 1 or 3."""
Bool = Annotated[bool, Strict()]
"""``true`` or ``false`` only (not 0, 1 or a string)."""
Name = Annotated[str, StringConstraints(pattern=NAME, max_length=NAME_MAX)]
Probability = Annotated[float, Strict(), Field(ge=0, le=1)]
MAX_SALVO = 10_000
"""Threats in one salvo (the whole raid is bounded by :data:`iamd.scenario.budget`)."""
MAX_SEED = 2**63 - 1
"""Seeds are stored as signed 64-bit integers (Parquet, summary.json readers)."""


def check_seed(seed: int) -> None:
    """Refuse a root seed outside ``0 .. MAX_SEED``.

    Raises
    ------
    IamdError
        For a negative or too large seed.
    """
    from iamd.errors import IamdError

    if not 0 <= seed <= MAX_SEED:
        raise IamdError(f"--seed must be between 0 and 2**63-1 ({MAX_SEED}), got {seed}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Position(_Strict):
    """A geodetic point."""

    lat_deg: Float = Field(ge=-90, le=90)
    lon_deg: Float = Field(ge=-180, le=180)
    alt_m: Float = Field(default=0.0, ge=-500, le=100_000)


class Origin(Position):
    """Theatre origin: the centre of maps and of the local east-north-up frame."""


class Area(Position):
    """A circular area (launch area, patrol station)."""

    radius_km: Float = Field(default=0.0, ge=0, le=2000)


class Asset(_Strict):
    """A defended asset: a point with a radius, or a polygon of (lat, lon) vertices."""

    name: Name
    value: Float = Field(gt=0, le=1e9, description="relative value; leakers destroy a share of it")
    owner: str | None = Field(
        default=None,
        description="the partner whose asset it is (default: the first owner listed); its "
        "units defend it, and so do the partners that list it under 'defends'",
    )
    point: Position | None = None
    radius_km: Float = Field(default=2.0, gt=0, le=200)
    polygon: list[tuple[Float, Float]] | None = Field(
        default=None, min_length=3, max_length=1000, description="vertices as [lat_deg, lon_deg]"
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
    """A data link: every message is late by ``latency_s`` and lost with probability ``loss``;
    a message sent while the link is down (``outages``) is lost."""

    latency_s: Float = Field(default=0.0, ge=0, le=3600)
    loss: Probability = Field(default=0.0, description="probability a message is lost")
    outages: list[tuple[Float, Float]] = Field(
        default_factory=list,
        max_length=1000,
        description="[start_s, end_s] windows when the link is down: every message sent "
        "in one is lost",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Link:
        for start_s, end_s in self.outages:
            if not 0 <= start_s < end_s:
                raise ValueError(
                    f"outage [{start_s}, {end_s}]: give [start_s, end_s] with 0 <= start_s < end_s"
                )
        return self


SENSOR_LATENCY_S = 0.5
"""Default latency of an owner's sensor link, s."""
SHARE_LATENCY_S = 2.0
"""Default latency of an owner's share link, s."""

Architecture = Literal["autonomous", "coordinated", "centralised"]
"""How C2 nodes of different owners coordinate their engagements (see :class:`C2`)."""


class Owner(_Strict):
    """A coalition partner: owns sensors, fire units and C2 nodes."""

    name: Name
    shares_with: list[str] = Field(
        default_factory=list,
        max_length=64,
        description="partners that receive this owner's tracks",
    )
    colour: str = Field(
        default="", pattern=COLOUR, description="map colour '#rrggbb', e.g. '#1f77b4'"
    )
    sensor_link: Link = Field(
        default_factory=lambda: Link(latency_s=SENSOR_LATENCY_S),
        description="from this owner's radars and launch-warning sensors to its tracker",
    )
    share_link: Link = Field(
        default_factory=lambda: Link(latency_s=SHARE_LATENCY_S),
        description="this owner's track reports to the partners it shares with",
    )
    share_period_s: Float = Field(
        default=4.0, ge=0.1, le=3600, description="interval between track reports to partners"
    )
    defends: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="other partners' assets this owner's units defend (its own assets and its "
        "units themselves are always defended)",
    )
    architecture: Architecture | None = Field(
        default=None, description="this owner's C2 architecture (default: c2.architecture)"
    )

    @model_validator(mode="before")
    @classmethod
    def _link_latency(cls, data: Any) -> Any:
        """A link given without ``latency_s`` keeps its default latency (``--set
        owners.X.share_link.outages=...`` leaves the 2 s alone)."""
        if isinstance(data, dict):
            for key, latency_s in (
                ("sensor_link", SENSOR_LATENCY_S),
                ("share_link", SHARE_LATENCY_S),
            ):
                link = data.get(key)
                if isinstance(link, dict) and "latency_s" not in link:
                    data = {**data, key: {**link, "latency_s": latency_s}}
        return data


class MaskSector(_Strict):
    """Terrain that hides the low sky over an azimuth sector, as seen from a sensor site."""

    az_from_deg: Float = Field(ge=0, le=360, description="sector start azimuth")
    az_to_deg: Float = Field(
        ge=0, le=360, description="sector end azimuth, clockwise from the start (may pass north)"
    )
    el_deg: Float = Field(
        ge=-10, le=45, description="elevation of the terrain's edge above the horizontal"
    )

    @model_validator(mode="after")
    def _not_empty(self) -> MaskSector:
        if self.az_from_deg == self.az_to_deg:
            raise ValueError(
                "az_from_deg equals az_to_deg: the sector is empty "
                "(give 0 and 360 for the whole circle)"
            )
        return self


MAX_MASK_SECTORS = 360
"""Sectors a sensor's terrain mask may have (a degree each at the finest)."""


class Sensor(Position):
    """A sensor site."""

    name: Name
    type: str = Field(description="a key of the catalog's sensors")
    owner: str
    boresight_deg: Float = Field(default=0.0, ge=0, lt=360, description="sector centre azimuth")
    terrain_mask: list[MaskSector] = Field(
        default_factory=list,
        max_length=MAX_MASK_SECTORS,
        description="radar: terrain edges per azimuth sector; it sees no lower there "
        "(elsewhere down to the horizon)",
    )


class C2Node(Position):
    """A command-and-control node; runs the battle-management cycle for its fire units."""

    name: Name
    owner: str
    cycle_s: Float = Field(default=2.0, ge=0.1, le=600)


class RemoteFire(_Strict):
    """What a fire unit (or a patrol's aircraft) may fight on besides its owner's own
    sensors."""

    engage_on_remote: bool = Field(
        default=False,
        description="may fight a whole engagement on partners' data: a partner's track to "
        "launch, a partner's radar on the predicted intercept point",
    )
    launch_on_remote: bool = Field(
        default=False,
        description="may launch on a partner's track; a radar of its own owner must cover "
        "the predicted intercept point (without either option, its owner's sensors must "
        "hold the threat too)",
    )


class FireUnit(Position, RemoteFire):
    """A fire unit: a battery, a ship's launchers, a laser, a fighter patrol station."""

    name: Name
    interceptor: str = Field(description="a key of the catalog's interceptors")
    owner: str
    c2: str = Field(description="name of the C2 node that tasks this unit")
    engage: Literal["threats_to_assets", "all"] | None = Field(
        default=None, description="default: the doctrine's 'engage'"
    )
    rounds: Int | None = Field(
        default=None, ge=0, le=10_000, description="rounds loaded (catalog default)"
    )
    reloads: Int | None = Field(
        default=None, ge=0, le=100_000, description="reserve rounds (catalog default)"
    )
    value: Float = Field(
        default=10.0,
        ge=0,
        le=1e9,
        description="relative value of the unit itself: a threat coming at it is engaged by "
        "it for this value (a ship defends itself)",
    )


class Salvo(_Strict):
    """Threats of one class launched from an area over a time window."""

    name: str = Field(
        default="", max_length=NAME_MAX, pattern=LABEL, description="label for tables"
    )
    threat: str = Field(description="a key of the catalog's threats")
    count: Int = Field(ge=1, le=MAX_SALVO)
    launch_area: Area
    start_s: Float = Field(default=0.0, ge=0, le=7 * 86400)
    interval_s: Float = Field(default=0.0, ge=0, le=86400, description="time between launches")
    jitter_s: Float = Field(default=0.0, ge=0, le=86400, description="uniform launch-time jitter")
    targets: list[str] = Field(
        default_factory=list, max_length=1000, description="asset names, used in turn"
    )
    aimpoints: list[Position] = Field(default_factory=list, max_length=1000)
    waypoints: list[Position] = Field(
        default_factory=list,
        max_length=100,
        description="route threats (drones, cruise missiles): legs flown before the target",
    )

    @model_validator(mode="after")
    def _has_target(self) -> Salvo:
        if not self.targets and not self.aimpoints:
            raise ValueError("give 'targets' (asset names) or 'aimpoints'")
        return self


class ClassDoctrine(_Strict):
    """Doctrine for the fire units of one interceptor class (``doctrine.classes``)."""

    salvo: Int | None = Field(
        default=None, ge=1, le=4, description="interceptors per engagement (default: doctrine's)"
    )
    last_look_salvo: Int | None = Field(
        default=None,
        ge=1,
        le=4,
        description="interceptors per engagement when no time is left to look and shoot "
        "again (default: doctrine's)",
    )
    yield_below_pk: Probability = Field(
        default=0.0,
        description="below this kill probability, hold fire while a unit with a better one "
        "can still engage the threat",
    )
    last_ditch: Bool = Field(
        default=False,
        description="fire even below min_pk and yield_below_pk when no other unit can "
        "engage the threat any more",
    )


class Doctrine(_Strict):
    """Battle-management rules shared by every C2 node."""

    engage: Literal["threats_to_assets", "all"] = "threats_to_assets"
    shoot_look_shoot: Bool = True
    salvo: Int = Field(default=1, ge=1, le=4, description="interceptors per engagement")
    kill_assessment_s: Float = Field(default=4.0, ge=0, le=600)
    min_class_confidence: Probability = Field(
        default=0.0,
        description="kinematic classification: a track whose class estimate is less sure than "
        "this is not engaged until it is, or until its predicted impact is near "
        "(class_wait_s)",
    )
    class_wait_s: Float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="a track still unsure of its class is engaged when its predicted impact "
        "is this close",
    )
    cover_pk: Probability = Field(
        default=0.7,
        description="a threat whose engagements in flight kill it with at least this "
        "probability is not engaged again until they are assessed",
    )
    last_look_salvo: Int = Field(
        default=2,
        ge=1,
        le=4,
        description="interceptors per engagement when no time is left to look and shoot again",
    )
    min_pk: Probability = Field(default=0.3, description="ignore weaker opportunities")
    asset_margin_km: Float = Field(default=1.0, ge=0, le=100, description="added to asset radii")
    prefer_cheap: Bool = Field(
        default=True, description="within reach, prefer the cheapest layer that can kill"
    )
    solver: Literal["layered", "greedy", "auto"] = Field(
        default="auto",
        description="assignment each C2 cycle: 'layered' rules (threats by value at risk, "
        "each to its preferred unit), or weighted WTA maximising value saved minus "
        "cost_weight x interceptor cost ('greedy': maximum marginal return; 'auto': greedy "
        "then improving changes)",
    )
    cost_weight: Float = Field(
        default=0.0,
        ge=0,
        le=1e6,
        description="value units charged per US$ million of interceptors (weighted WTA)",
    )
    reserve: Int = Field(
        default=0,
        ge=0,
        le=10_000,
        description="rounds each kinetic fire unit holds back, never fired",
    )
    upper_first: Bool = Field(
        default=True,
        description="a ballistic threat an upper tier can take now goes to that tier only; "
        "lower layers are held for its leakers (weighted WTA)",
    )
    later_credit: Probability = Field(
        default=0.0,
        description="share of a threat's value credited to the layers that can still engage "
        "it later (weighted WTA): 0 ignores them, 1 counts on them fully",
    )
    min_hit_probability: Probability = Field(
        default=0.05,
        description="engage a threat only if it hits a defended asset with at least this "
        "probability (from its track covariance), unless its fire unit engages all",
    )
    classes: dict[str, ClassDoctrine] = Field(
        default_factory=dict,
        max_length=100,
        description="per interceptor class: salvo, last_look_salvo, yield_below_pk, last_ditch",
    )

    def for_class(self, name: str) -> ClassDoctrine:
        """The doctrine of interceptor class ``name``, the shared figures filled in."""
        c = self.classes.get(name, ClassDoctrine())
        return c.model_copy(
            update={
                "salvo": c.salvo or self.salvo,
                "last_look_salvo": c.last_look_salvo or self.last_look_salvo,
            }
        )


class Tracking(_Strict):
    """Tracking mode and tracker parameters.

    ``gnn`` is a real multi-target tracker per owner (measurements carry no identity;
    false alarms make false tracks) with track-to-track fusion between partners;
    ``ideal`` gives every measurement its true identity and shares measurements
    instantly, to separate tracking errors from battle-management errors.
    """

    mode: Literal["gnn", "ideal"] = "gnn"
    process_noise_m_s2: Float = Field(
        default=5.0,
        ge=0.001,
        le=1000,
        description="acceleration noise of fast (ballistic) tracks",
    )
    drop_after_s: Float = Field(
        default=60.0, ge=1, le=3600, description="drop a track not updated since"
    )
    gate: Float = Field(
        default=4.0, gt=0, le=20, description="Mahalanobis gate of association (gnn)"
    )
    confirm_m: Int = Field(default=3, ge=1, le=20, description="M of M-of-N confirmation (gnn)")
    confirm_n: Int = Field(default=5, ge=1, le=50, description="N of M-of-N confirmation (gnn)")
    max_misses: Int = Field(
        default=6, ge=1, le=100, description="delete a confirmed track missed this many scans"
    )
    picture: Literal["system", "by_threat"] = Field(
        default="system",
        description="gnn: 'system': the battle manager works on each node's system tracks "
        "(a threat's dual tracks and, under kinematic classification, false tracks "
        "included; truth only at the end game); 'by_threat': one row per threat holding "
        "its best track, dual tracks merged and false tracks dropped by their truth label "
        "(the engine before system tracks, for comparison)",
    )
    classification: Literal["perfect", "kinematic"] = Field(
        default="perfect",
        description="'kinematic': each owner classifies its tracks from their speed, energy, "
        "altitude, climb and launch warnings; 'perfect': every track knows its threat's class",
    )
    confusion: dict[
        Annotated[str, StringConstraints(pattern=NAME, max_length=NAME_MAX)],
        dict[Annotated[str, StringConstraints(pattern=NAME, max_length=NAME_MAX)], Probability],
    ] = Field(
        default_factory=dict,
        max_length=100,
        description="kinematic: {A: {B: p}} takes a track classified A for B with probability p",
    )

    @model_validator(mode="after")
    def _m_of_n(self) -> Tracking:
        if self.confirm_n < self.confirm_m:
            raise ValueError(
                f"confirm_n ({self.confirm_n}) must be >= confirm_m ({self.confirm_m})"
            )
        for a, row in self.confusion.items():
            if sum(row.values()) > 1.0 + 1e-9:
                raise ValueError(f"confusion of '{a}': the chances add up to more than 1")
        return self


ClassName = Annotated[str, StringConstraints(pattern=NAME, max_length=NAME_MAX)]


class CatalogOverride(_Strict):
    """Per-class overrides of catalog figures, or new classes (``base:``, or every figure)."""

    interceptors: dict[ClassName, dict[str, Any]] = Field(default_factory=dict, max_length=100)
    threats: dict[ClassName, dict[str, Any]] = Field(default_factory=dict, max_length=100)
    sensors: dict[ClassName, dict[str, Any]] = Field(default_factory=dict, max_length=100)
    aircraft: dict[ClassName, dict[str, Any]] = Field(default_factory=dict, max_length=100)


class AirPatrol(RemoteFire):
    """A combat air patrol: aircraft kept on a station, more on ground alert at a base."""

    name: Name
    owner: str
    c2: str = Field(description="name of the C2 node that tasks its aircraft")
    aircraft: str = Field(default="fighter", description="a key of the catalog's aircraft")
    missile: str = Field(
        default="fighter_aam", description="a key of the catalog's interceptors (air-launched)"
    )
    base: Position = Field(description="the airfield its aircraft fly from, land at and rearm")
    station: Position = Field(description="the patrol point (at the aircraft's cruise altitude)")
    on_station: Int = Field(default=2, ge=0, le=100, description="aircraft kept on station")
    ground_alert: Int = Field(
        default=2, ge=0, le=100, description="aircraft on alert at the base, launched when cued"
    )
    engage: Literal["threats_to_assets", "all"] | None = Field(
        default=None, description="default: the doctrine's 'engage'"
    )
    value: Float = Field(default=10.0, ge=0, le=1e9, description="relative value of an aircraft")

    @model_validator(mode="after")
    def _some(self) -> AirPatrol:
        if self.on_station + self.ground_alert == 0:
            raise ValueError("give on_station or ground_alert aircraft (both are 0)")
        return self


class C2(_Strict):
    """How the coalition's C2 nodes coordinate their engagements."""

    architecture: Architecture = Field(
        default="coordinated",
        description="'coordinated': each owner sends its engagements' status (started, and "
        "the kill assessment) to the partners it shares tracks with, over its share link "
        "(latency, loss); a node acts on what has arrived. 'autonomous': no status "
        "exchange; each owner's nodes know only their own engagements. 'centralised': the "
        "node named 'node' assigns every unit of the owners under this architecture; its "
        "orders reach other owners' units over its owner's share link",
    )
    node: str | None = Field(
        default=None, description="the C2 node that assigns every unit under 'centralised'"
    )
    fallback_s: Float = Field(
        default=30.0,
        ge=0,
        le=86400,
        description="a unit under 'centralised' whose orders' link has been down this long "
        "falls back to its own node, autonomous, until the link is back",
    )


class ScenarioFile(_Strict):
    """A whole scenario file."""

    name: Name
    description: str = Field(default="", max_length=10_000, pattern=TEXT)
    origin: Origin
    duration_s: Float = Field(ge=1, le=7 * 86400)
    seed: Int = Field(default=0, ge=0, le=MAX_SEED)
    owners: list[Owner] = Field(min_length=1, max_length=32)
    assets: list[Asset] = Field(min_length=1, max_length=1000)
    sensors: list[Sensor] = Field(default_factory=list, max_length=500)
    c2_nodes: list[C2Node] = Field(default_factory=list, max_length=200)
    fire_units: list[FireUnit] = Field(default_factory=list, max_length=1000)
    air_patrols: list[AirPatrol] = Field(default_factory=list, max_length=200)
    raid: list[Salvo] = Field(min_length=1, max_length=1000, description="salvos; may not be empty")
    doctrine: Doctrine = Field(default_factory=Doctrine)
    c2: C2 = Field(default_factory=C2)
    tracking: Tracking = Field(default_factory=Tracking)
    catalog: CatalogOverride = Field(default_factory=CatalogOverride)


def json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files, for editor completion."""
    schema = ScenarioFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "iamd scenario"
    return schema
