"""The static world of a replication: sites, units and class figures in SI arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from iamd.c2.assets import AssetGeometry
from iamd.geo import ecef2enu, enu_rotation, geodetic2ecef
from iamd.physics.truth import TruthTable, asset_points_ecef
from iamd.scenario.catalog import AircraftClass, InterceptorClass, SensorClass
from iamd.scenario.load import Scenario
from iamd.sensors.radar import RadarSite
from iamd.tracking.ideal import MotionModel

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

ROUTE_Q_M2_S3 = 25.0


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """A fire unit's fixed description."""

    name: str
    owner: str
    node: int
    ecef_m: F64
    alt_m: float
    interceptor: str
    ic: InterceptorClass
    engage_all: bool
    rounds: int
    reloads: int
    value: float
    aircraft: int = -1
    """Index in the fleet of the aircraft this unit is (-1: a fixed fire unit)."""
    engage_on_remote: bool = False
    """A partner's track to launch and a partner's radar at the intercept point will do."""
    launch_on_remote: bool = False
    """A partner's track to launch will do (its owner's radar at the intercept point)."""


@dataclass(frozen=True, slots=True)
class PatrolSpec:
    """A patrol's fixed description (SI): its aircraft units, base and station (ECEF, at
    cruise altitude for the station), and its aircraft class."""

    name: str
    owner: str
    units: tuple[int, ...]
    base_m: F64
    station_m: F64
    on_station: int
    ac: AircraftClass


@dataclass(frozen=True, slots=True)
class SpaceSensor:
    """A spaceborne launch-warning sensor."""

    name: str
    owner: str
    sc: SensorClass


@dataclass(frozen=True, slots=True)
class World:
    """Everything that does not change during a replication.

    Attributes
    ----------
    owners : owner names; ``receivers[o]`` lists owners whose pictures get owner o's data
        (o first); ``share_to[o]`` the partners o shares with (o excluded).
    defended : (o, a) the assets each owner's units defend: its own (an asset without an
        owner is the first owner's) and those it lists under ``defends``.
    class_* : (n,) per-threat class figures, indexed by threat.
    """

    scenario: Scenario
    truth: TruthTable
    owners: tuple[str, ...]
    receivers: tuple[tuple[int, ...], ...]
    share_to: tuple[tuple[int, ...], ...]
    radars: tuple[RadarSite, ...]
    spaceborne: tuple[SpaceSensor, ...]
    nodes: tuple[tuple[str, int, float], ...]
    units: tuple[UnitSpec, ...]
    patrols: tuple[PatrolSpec, ...]
    assets: AssetGeometry
    defended: NDArray[np.bool_]
    rcs_m2: F64
    damage: F64
    fluence_j_m2: F64
    burn_s: F64
    motion: MotionModel


def build_world(scenario: Scenario, truth: TruthTable) -> World:
    """Convert a scenario to SI arrays and site objects."""
    spec, cat = scenario.spec, scenario.catalog
    owners = tuple(o.name for o in spec.owners)
    receivers = []
    for o in spec.owners:
        rec = [owners.index(o.name)] + [owners.index(p) for p in o.shares_with if p != o.name]
        receivers.append(tuple(dict.fromkeys(rec)))
    radars, space = [], []
    for s in spec.sensors:
        sc = cat.sensors[s.type]
        if sc.kind == "spaceborne":
            space.append(SpaceSensor(s.name, s.owner, sc))
            continue
        radars.append(
            RadarSite.build(
                s.name,
                s.owner,
                s.lat_deg,
                s.lon_deg,
                s.alt_m + sc.mast_m,
                s.boresight_deg,
                sc.sector_deg,
                sc.min_el_deg,
                sc.max_el_deg,
                sc.max_range_km,
                sc.ref_range_km,
                sc.ref_snr_db,
                sc.track_gain_db,
                sc.pfa,
                sc.scan_s,
                sc.sigma_range_m,
                sc.sigma_angle_mrad,
                sc.false_alarms_per_scan,
                sc.kill_assessment_pc,
                [(m.az_from_deg, m.az_to_deg, m.el_deg) for m in s.terrain_mask],
            )
        )
    node_names = [c.name for c in spec.c2_nodes]
    nodes = tuple((c.name, owners.index(c.owner), c.cycle_s) for c in spec.c2_nodes)
    units = []
    for f in spec.fire_units:
        ic = cat.interceptors[f.interceptor]
        engage = f.engage or spec.doctrine.engage
        units.append(
            UnitSpec(
                name=f.name,
                owner=f.owner,
                node=node_names.index(f.c2),
                ecef_m=geodetic2ecef(np.radians(f.lat_deg), np.radians(f.lon_deg), f.alt_m),
                alt_m=f.alt_m,
                interceptor=f.interceptor,
                ic=ic,
                engage_all=engage == "all",
                rounds=f.rounds if f.rounds is not None else ic.launchers * ic.rounds_per_launcher,
                reloads=f.reloads if f.reloads is not None else ic.reloads,
                value=f.value,
                engage_on_remote=f.engage_on_remote,
                launch_on_remote=f.launch_on_remote,
            )
        )
    patrols = []
    for p in spec.air_patrols:
        ac, ic = cat.aircraft[p.aircraft], cat.interceptors[p.missile]
        alt = ac.cruise_alt_km * 1e3
        first = len(units)
        for j in range(p.on_station + p.ground_alert):
            units.append(
                UnitSpec(
                    name=f"{p.name}-{j + 1}",
                    owner=p.owner,
                    node=node_names.index(p.c2),
                    ecef_m=_ecef(p.base.lat_deg, p.base.lon_deg, p.base.alt_m),
                    alt_m=alt,
                    interceptor=p.missile,
                    ic=ic,
                    engage_all=(p.engage or spec.doctrine.engage) == "all",
                    rounds=ac.missiles,
                    reloads=0,
                    value=p.value,
                    aircraft=first - len(spec.fire_units) + j,
                    engage_on_remote=p.engage_on_remote,
                    launch_on_remote=p.launch_on_remote,
                )
            )
        patrols.append(
            PatrolSpec(
                name=p.name,
                owner=p.owner,
                units=tuple(range(first, len(units))),
                base_m=_ecef(p.base.lat_deg, p.base.lon_deg, p.base.alt_m),
                station_m=_ecef(p.station.lat_deg, p.station.lon_deg, alt),
                on_station=p.on_station,
                ac=ac,
            )
        )
    classes = [cat.threats[c] for c in truth.class_names]
    per = truth.class_idx

    def fig(attr: str) -> F64:
        return np.array([getattr(c, attr) for c in classes], dtype=np.float64)[per]

    ballistic = truth.ballistic
    beta = np.where(ballistic, fig("beta_kg_m2"), np.inf)
    q = np.where(ballistic, scenario.spec.tracking.process_noise_m_s2**2, ROUTE_Q_M2_S3)
    return World(
        scenario=scenario,
        truth=truth,
        owners=owners,
        receivers=tuple(receivers),
        share_to=tuple(r[1:] for r in receivers),
        radars=tuple(radars),
        spaceborne=tuple(space),
        nodes=nodes,
        units=tuple(units),
        patrols=tuple(patrols),
        assets=asset_geometry(scenario),
        defended=defended_assets(scenario),
        rcs_m2=fig("rcs_m2"),
        damage=fig("damage"),
        fluence_j_m2=fig("laser_fluence_j_cm2") * 1e4,
        burn_s=fig("burn_s"),
        motion=MotionModel(ballistic=ballistic, beta_kg_m2=beta, q_m2_s3=q),
    )


def _ecef(lat_deg: float, lon_deg: float, alt_m: float) -> F64:
    return geodetic2ecef(np.radians(lat_deg), np.radians(lon_deg), alt_m)


def defended_assets(scenario: Scenario) -> NDArray[np.bool_]:
    """Which assets (a,) each owner (o,) defends: its own, and those under its ``defends``."""
    spec = scenario.spec
    names = [o.name for o in spec.owners]
    out = np.zeros((len(names), len(spec.assets)), dtype=bool)
    for a, asset in enumerate(spec.assets):
        out[names.index(asset.owner or names[0]), a] = True
    index = {asset.name: a for a, asset in enumerate(spec.assets)}
    for o, owner in enumerate(spec.owners):
        out[o, [index[name] for name in owner.defends]] = True
    return out


def asset_geometry(scenario: Scenario) -> AssetGeometry:
    """Defended assets in the theatre's east-north frame."""
    spec = scenario.spec
    lat0, lon0 = np.radians(spec.origin.lat_deg), np.radians(spec.origin.lon_deg)
    centres = ecef2enu(asset_points_ecef(scenario), lat0, lon0, 0.0)[:, :2]
    polys: list[F64 | None] = []
    radius = []
    for a in spec.assets:
        if a.polygon is None:
            polys.append(None)
            radius.append(a.radius_km * 1e3)
        else:
            v = np.radians(np.asarray(a.polygon, dtype=np.float64))
            polys.append(ecef2enu(geodetic2ecef(v[:, 0], v[:, 1], 0.0), lat0, lon0, 0.0)[:, :2])
            radius.append(0.0)
    return AssetGeometry.of(
        centre_en_m=centres,
        radius_m=np.asarray(radius),
        polygons=tuple(polys),
        value=np.array([a.value for a in spec.assets], dtype=np.float64),
        extent_m=np.array(
            [
                r if poly is None else float(np.max(np.hypot(*(poly - c).T)))
                for r, poly, c in zip(radius, polys, centres, strict=True)
            ]
        ),
        origin_m=geodetic2ecef(lat0, lon0, 0.0),
        rot=enu_rotation(lat0, lon0)[:2],
    )
