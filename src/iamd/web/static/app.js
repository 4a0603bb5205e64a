// iamd in the browser: theatre map, replay, live runs, Monte Carlo view.
// Plain ES module over the vendored MapLibre GL JS and Natural Earth borders (world-atlas);
// no network beyond this server. window.iamd exposes the state for tests.
//
// Everything read from a run (names of assets, units, owners, classes, metrics, messages)
// is data: it reaches the page as text nodes (h(), textContent, new Option) and the canvas
// as fillText, never as markup. Colours from a run pass colourOr() (#rrggbb only).

const $ = (id) => document.getElementById(id);
const EMPTY = { type: "FeatureCollection", features: [] };
const KM_PER_DEG = 111.32;
const SVG_NS = "http://www.w3.org/2000/svg";
const MARK_FADE_S = 300;   // an event marker fades out over this much simulation time
const MARK_RECENT_S = 60;  // and is drawn large for this long

const state = {
  ready: false, frames: 0, mapFrames: 0, drawFrames: 0, t: 0, playing: false, replay: null, live: null,
  mapLoadedMs: null, bordersDrawn: false, selected: null, labels: [],
};
window.iamd = state;

// ---------- small helpers ----------
// h("li", {class: "x"}, "text", child): an element; strings become text nodes, never markup
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
function s(tag, attrs = {}, title) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  if (title !== undefined) { const t = document.createElementNS(SVG_NS, "title"); t.textContent = title; el.append(t); }
  return el;
}
function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "style") for (const [p, x] of Object.entries(v)) el.style.setProperty(p, x);
    else if (k === "text") el.textContent = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}
function svgText(x, y, text, attrs = {}) { const t = s("text", { x, y, ...attrs }); t.textContent = text; return t; }
const HEX = /^#[0-9a-fA-F]{6}$/;
function colourOr(c, fallback) { return typeof c === "string" && HEX.test(c) ? c : fallback; }
const pretty = (name) => String(name).replaceAll("_", " ");
const isNum = (x) => typeof x === "number" && Number.isFinite(x);
function fmt(x, nd = 2) { return isNum(x) ? x.toFixed(nd) : "–"; }
function hms(t) {
  const sec = Math.max(0, Math.floor(t));
  const p = (x) => String(x).padStart(2, "0");
  return `T+${p(Math.floor(sec / 3600))}:${p(Math.floor((sec % 3600) / 60))}:${p(sec % 60)}`;
}
function money(x) {
  if (x >= 1e9) return `$${(x / 1e9).toFixed(2)} bn`;
  if (x >= 1e6) return `$${(x / 1e6).toFixed(1)} M`;
  if (x >= 1e3) return `$${(x / 1e3).toFixed(0)} k`;
  return `$${x.toFixed(0)}`;
}
// index of the last element <= x in sorted a (-1 if none)
function upper(a, x, lo = 0, hi = a.length) {
  while (lo < hi) { const m = (lo + hi) >> 1; if (a[m] <= x) lo = m + 1; else hi = m; }
  return lo - 1;
}
function circle(lon, lat, km, n = 64, from = 0, to = 360) {
  const pts = [];
  const full = to - from >= 360;
  if (!full) pts.push([lon, lat]);
  for (let k = 0; k <= n; k++) {
    const b = ((from + (to - from) * k / n) * Math.PI) / 180;
    pts.push([lon + (km * Math.sin(b)) / (KM_PER_DEG * Math.cos((lat * Math.PI) / 180)),
              lat + (km * Math.cos(b)) / KM_PER_DEG]);
  }
  if (!full) pts.push([lon, lat]);
  return pts;
}
async function getJSON(url, opts) {
  const r = await fetch(url, opts);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { const e = new Error(String(body.detail || r.statusText)); e.status = r.status; e.body = body; throw e; }
  return body;
}
// state-changing requests: JSON with its content type (the server refuses anything else)
function postJSON(url, data) {
  return getJSON(url, { method: "POST", body: JSON.stringify(data), headers: { "Content-Type": "application/json" } });
}
function status(text) { $("status").textContent = text; }

// ---------- map ----------
const map = new maplibregl.Map({
  container: "map",
  style: {
    version: 8,
    sources: {},
    layers: [{ id: "water", type: "background", paint: { "background-color": "#dfeaf3" } }],
  },
  center: [38, 32], zoom: 4.6, attributionControl: false, fadeDuration: 0,
});
state.map = map;
map.addControl(new maplibregl.AttributionControl({ customAttribution: "Natural Earth (world-atlas)" }));
map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
map.addControl(new maplibregl.ScaleControl(), "bottom-left");

const t0Page = performance.now();
const SOURCES = ["assets", "coverage", "units"];

map.on("load", async () => {
  const [topo, landTopo] = await Promise.all(["countries-50m", "land-50m"].map(async (f) => (await fetch(`/static/vendor/${f}.json`)).json()));
  const land = topojson.feature(landTopo, landTopo.objects.land);
  const borders = topojson.mesh(topo, topo.objects.countries, (a, b) => a !== b);
  map.addSource("land", { type: "geojson", data: land });
  map.addSource("borders", { type: "geojson", data: borders });
  map.addLayer({ id: "land", type: "fill", source: "land", paint: { "fill-color": "#f4f1e8", "fill-antialias": false } });
  map.addLayer({ id: "borders", type: "line", source: "borders", paint: { "line-color": "#777", "line-width": 0.7 } });
  for (const src of SOURCES) map.addSource(src, { type: "geojson", data: EMPTY });
  map.addLayer({ id: "assets", type: "fill", source: "assets", paint: { "fill-color": "#000", "fill-opacity": 0.25, "fill-outline-color": "#000" } });
  map.addLayer({ id: "coverage", type: "line", source: "coverage", paint: { "line-color": ["get", "colour"], "line-width": 1, "line-opacity": 0.35 } });
  map.addLayer({ id: "units", type: "circle", source: "units", paint: {
    "circle-color": ["get", "colour"], "circle-radius": ["get", "radius"],
    "circle-stroke-color": "#000", "circle-stroke-width": 1 } });
  map.on("render", () => { state.mapFrames++; });
  map.on("click", (e) => { const id = pick(e.point); if (id !== null) showThreat(id); });
  map.on("mousemove", (e) => { map.getCanvas().style.cursor = pick(e.point) !== null ? "pointer" : ""; });
  map.on("move", draw);
  map.on("resize", () => { sizeOverlay(); draw(); });
  sizeOverlay();
  map.once("idle", () => {
    state.bordersDrawn = map.queryRenderedFeatures({ layers: ["borders"] }).length > 0;
    state.mapLoadedMs = performance.now() - t0Page;
    state.ready = true;
  });
  await refreshLists();
});

// ---------- layout (assets, sensors, fire units) and legend ----------
function ownerColours(layout) {
  const c = {};
  layout.owners.forEach((o, k) => { c[o.name] = colourOr(o.colour, PARTNER_FALLBACK[k % PARTNER_FALLBACK.length]); });
  return c;
}
const PARTNER_FALLBACK = ["#1f77b4", "#17becf", "#e377c2", "#8c564b", "#bcbd22", "#393b79"];
function assetPoint(a) {
  if (a.polygon && a.polygon.length) {
    const n = a.polygon.length;
    return [a.polygon.reduce((x, p) => x + p[0], 0) / n, a.polygon.reduce((x, p) => x + p[1], 0) / n];
  }
  return [a.lon, a.lat];
}
function drawLayout(doc) {
  const layout = doc.layout, colour = ownerColours(layout);
  const assets = layout.assets.filter((a) => a.lat !== null || a.polygon).map((a) => ({
    type: "Feature", properties: { name: a.name, value: a.value },
    geometry: { type: "Polygon", coordinates: [a.polygon ? [...a.polygon, a.polygon[0]] : circle(a.lon, a.lat, a.radius_km || 5, 32)] },
  }));
  const coverage = layout.sensors.filter((r) => r.max_range_km).map((r) => {
    const half = Math.min(180, (r.sector_deg || 360) / 2);
    return { type: "Feature", properties: { name: r.name, colour: colour[r.owner] || "#444" },
      geometry: { type: "LineString", coordinates: circle(r.lon, r.lat, r.max_range_km, 96, r.boresight_deg - half, r.boresight_deg + half) } };
  });
  const units = layout.units.map((u) => ({
    type: "Feature", properties: { name: u.name, colour: colour[u.owner] || "#444", radius: 3 + Math.max(0, 6 - (u.layer || 5)), layer: u.layer },
    geometry: { type: "Point", coordinates: [u.lon, u.lat] },
  }));
  map.getSource("assets").setData({ type: "FeatureCollection", features: assets });
  map.getSource("coverage").setData({ type: "FeatureCollection", features: coverage });
  map.getSource("units").setData({ type: "FeatureCollection", features: units });
  state.labels = [
    ...layout.assets.filter((a) => a.lat !== null || a.polygon).map((a) => ({ at: assetPoint(a), text: a.name, kind: "asset" })),
    ...layout.units.map((u) => ({ at: [u.lon, u.lat], text: u.name, kind: "unit" })),
    ...layout.sensors.map((r) => ({ at: [r.lon, r.lat], text: r.name, kind: "radar" })),
  ];
  drawLegend(doc, colour);
  const pts = [...layout.units, ...layout.sensors];
  const lons = pts.map((u) => u.lon), lats = pts.map((u) => u.lat);
  return [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
}
function swatch(colour, text, ring = false) {
  const i = h("i", ring ? { class: "ring", style: { "border-color": colour } } : { style: { background: colour } });
  return h("span", {}, i, text);
}
function drawLegend(doc, colour) {
  const fates = Object.entries(doc.layout.fate_colours);
  const classes = Object.keys(doc.class_colours);
  $("legend").replaceChildren(
    h("span", { class: "group" }, "partners (fire units, aircraft, flyouts, tracks)"),
    ...doc.layout.owners.map((o) => swatch(colour[o.name], o.name)),
    h("span", { class: "group" }, "threat classes (dot)"),
    ...classes.map((c) => h("span", { "data-class": c }, h("i", { style: { background: classColour(doc, c) } }), (doc.class_labels || {})[c] || pretty(c))),
    h("span", { class: "group" }, "fates (ring at the end of a flight, markers)"),
    ...fates.map(([f, c]) => swatch(colourOr(c, "#000000"), pretty(f), true)),
    h("span", { class: "group" }, "fire units: partner's colour, larger dot for a higher layer (1 = upper tier)"),
    ...((doc.aircraft && doc.aircraft.name.length) ? [h("span", { class: "group" }, "patrol aircraft: a diamond in the partner's colour")] : []),
  );
}
function classColour(doc, c) { return colourOr(doc.class_colours[c], "#000000"); }

// ---------- replay ----------
function prepareReplay(doc) {
  const ev = doc.events, n = ev.t.length;
  const cum = { launched: new Int32Array(n), intercepted: new Int32Array(n), leaked: new Int32Array(n) };
  let L = 0, I = 0, K = 0;
  for (let i = 0; i < n; i++) {
    const k = ev.kind[i];
    if (k === "launch") L++; else if (k === "intercept") I++; else if (k === "impact_asset") K++;
    cum.launched[i] = L; cum.intercepted[i] = I; cum.leaked[i] = K;
  }
  const marks = [];
  for (let i = 0; i < n; i++) if (ev.kind[i] === "intercept" || ev.kind[i] === "impact_asset" || ev.kind[i] === "miss") marks.push(i);
  const byThreat = new Map(); doc.threats.id.forEach((id, k) => byThreat.set(id, k));
  const classColours = {}; for (const c of Object.keys(doc.class_colours)) classColours[c] = classColour(doc, c);
  const fateColours = {}; for (const [f, c] of Object.entries(doc.layout.fate_colours)) fateColours[f] = colourOr(c, "#000000");
  return {
    doc, cum, ...firing(doc), marks, markT: Float64Array.from(marks.map((i) => ev.t[i])),
    byThreat, colour: ownerColours(doc.layout), classColours, fateColours,
  };
}
// rounds fired, their cost and the rounds of each interceptor type, cumulative over the
// flyouts in launch order: a salvo of two is two rounds (flyouts.rounds), as in summary.json
function firing(doc) {
  const f = doc.flyouts, m = f.t0.length, unitCost = doc.layout.interceptor_cost_usd;
  const order = [...Array(m).keys()].sort((a, b) => f.t0[a] - f.t0[b]);
  const fireT = new Float64Array(m), fired = new Float64Array(m), cost = new Float64Array(m);
  // every class the units carry (a class that never fired shows 0, as in summary.json)
  const types = [...new Set([...(doc.layout.interceptor_types || []), ...f.interceptor])].sort();
  const byType = {}; for (const k of types) byType[k] = new Float64Array(m);
  const counts = {}; let F = 0, C = 0;
  const firstEngaged = new Map();
  order.forEach((i, j) => {
    const rounds = isNum(f.rounds?.[i]) ? f.rounds[i] : 1, type = f.interceptor[i];
    F += rounds; C += rounds * (isNum(unitCost[type]) ? unitCost[type] : 0);
    counts[type] = (counts[type] || 0) + rounds;
    fireT[j] = f.t0[i]; fired[j] = F; cost[j] = C;
    for (const k in byType) byType[k][j] = counts[k] || 0;
    if (!firstEngaged.has(f.threat[i])) firstEngaged.set(f.threat[i], f.t0[i]);
  });
  const engagedT = Float64Array.from([...firstEngaged.values()]).sort();
  return { fireT, fired, cost, byType, engagedT };
}

// ---------- dynamic layer: a 2D canvas over the map ----------
// MapLibre draws the static theatre and repaints only when the camera moves; threats,
// trails, flyouts, markers, tracks and names are drawn here each frame.
const overlay = document.createElement("canvas");
overlay.id = "overlay";
$("map").appendChild(overlay);
const ctx = overlay.getContext("2d");
let drawn = [];  // [x, y, threat id] of the threats last drawn, for picking

function sizeOverlay() {
  const c = map.getCanvas(), dpr = window.devicePixelRatio || 1;
  overlay.width = c.clientWidth * dpr; overlay.height = c.clientHeight * dpr;
  overlay.style.width = `${c.clientWidth}px`; overlay.style.height = `${c.clientHeight}px`;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
}
function xy(lon, lat) { const p = map.project([lon, lat]); return [p.x, p.y]; }

function trail(s, from, j, x, y) {
  ctx.beginPath();
  for (let q = from; q <= j; q++) { const [u, v] = xy(s.lon[q], s.lat[q]); q === from ? ctx.moveTo(u, v) : ctx.lineTo(u, v); }
  ctx.lineTo(x, y); ctx.stroke();
}
// where rows a to b - 1 of samples s (t, lon, lat) put a mover at t: linear between
// samples, held at the ends; the row at or before t and the pixel position
function alongPath(s, a, b, t) {
  const j = Math.min(Math.max(a, upper(s.t, t, a, b)), b - 1), j1 = Math.min(j + 1, b - 1);
  const dt = s.t[j1] - s.t[j], w = dt > 0 ? Math.min(1, Math.max(0, (t - s.t[j]) / dt)) : 0;
  const [x, y] = xy(s.lon[j] + w * (s.lon[j1] - s.lon[j]), s.lat[j] + w * (s.lat[j1] - s.lat[j]));
  return { j, x, y };
}
function drawThreats(R, t) {
  const th = R.doc.threats, smp = R.doc.samples, out = [], heads = [];
  ctx.lineWidth = 1.2; ctx.globalAlpha = 0.6;
  for (let k = 0; k < th.id.length; k++) {
    if (t < th.t0[k] || t > th.t1[k]) continue;
    const a = th.offset[k], b = th.offset[k + 1];
    const { j, x, y } = alongPath(smp, a, b, t);
    const fill = R.classColours[th.class[k]] || "#000000", selected = th.id[k] === state.selected;
    ctx.strokeStyle = fill;
    if (selected) { ctx.save(); ctx.globalAlpha = 0.9; ctx.lineWidth = 3; trail(smp, a, j, x, y); ctx.restore(); }
    else trail(smp, Math.max(a, j - 12), j, x, y);
    heads.push([x, y, fill, t >= th.t1[k] - 1 ? R.fateColours[th.fate[k]] || "#000000" : "#ffffff", th.id[k], selected]);
  }
  ctx.globalAlpha = 1; ctx.lineWidth = 1.5;
  for (const [x, y, fill, ring, id, selected] of heads) {
    if (selected) { ctx.beginPath(); ctx.arc(x, y, 9, 0, 2 * Math.PI); ctx.strokeStyle = "#000000"; ctx.lineWidth = 2.5; ctx.stroke(); ctx.lineWidth = 1.5; }
    ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.fillStyle = fill; ctx.fill(); ctx.strokeStyle = ring; ctx.stroke();
    out.push([x, y, id]);
  }
  return out;
}

// patrol aircraft where their flights put them at t: a diamond in the owner's colour
// (aircraft.offset[i] to offset[i + 1] index its samples; held after the last one)
function drawAircraft(R, t) {
  const a = R.doc.aircraft, heads = [];
  if (!a || !a.offset) { state.aircraftHeads = heads; return; }
  for (let i = 0; i < a.name.length; i++) {
    const lo = a.offset[i], hi = a.offset[i + 1];
    if (hi <= lo) continue;
    const { x, y } = alongPath(a, lo, hi, t);
    ctx.fillStyle = R.colour[a.owner[i]] || "#000000"; ctx.strokeStyle = "#ffffff"; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(x, y - 5); ctx.lineTo(x + 4, y); ctx.lineTo(x, y + 5); ctx.lineTo(x - 4, y);
    ctx.closePath(); ctx.fill(); ctx.stroke();
    heads.push({ x, y, name: a.name[i] });
  }
  state.aircraftHeads = heads;  // where each aircraft is drawn (for tests)
}

// each flyout in flight at t: the path its interceptor flew so far (flyout_samples, rows
// flyouts.offset[i] to offset[i + 1]) and a dot where it is; a document without samples
// (an older server) has the straight line from the launch point to the end point
function drawFlyouts(R, t) {
  const f = R.doc.flyouts, fs = R.doc.flyout_samples, paths = Boolean(fs && f.offset), heads = [];
  ctx.lineWidth = 1.5;
  for (let i = 0; i < f.t0.length; i++) {
    if (t < f.t0[i] || t > f.t1[i]) continue;
    ctx.strokeStyle = R.colour[f.owner[i]] || "#000000";
    let x, y;
    if (paths) {
      const a = f.offset[i], at = alongPath(fs, a, f.offset[i + 1], t);
      x = at.x; y = at.y;
      trail(fs, a, at.j, x, y);
    } else {
      const w = f.t1[i] > f.t0[i] ? (t - f.t0[i]) / (f.t1[i] - f.t0[i]) : 1;
      const [x0, y0] = xy(f.lon0[i], f.lat0[i]);
      [x, y] = xy(f.lon0[i] + w * (f.lon1[i] - f.lon0[i]), f.lat0[i] + w * (f.lat1[i] - f.lat0[i]));
      ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x, y); ctx.stroke();
    }
    ctx.beginPath(); ctx.arc(x, y, 2.5, 0, 2 * Math.PI); ctx.fillStyle = ctx.strokeStyle; ctx.fill();
    heads.push({ x, y, engagement: f.engagement[i] });
  }
  state.flyoutHeads = heads;  // where each flyout in flight is drawn (for tests)
}

const MARK_COLOURS = { intercept: "#2ca02c", miss: "#999999", impact_asset: "#d62728", launch: "#e6550d", fail: "#7f7f7f" };
// an event marker: large while recent, then fading out over MARK_FADE_S
function mark(x, y, kind, age) {
  ctx.globalAlpha = 0.95 * Math.max(0, 1 - age / MARK_FADE_S);
  ctx.beginPath(); ctx.arc(x, y, age < MARK_RECENT_S ? 7 : 3.5, 0, 2 * Math.PI);
  ctx.fillStyle = MARK_COLOURS[kind] || "#999999"; ctx.fill();
}
function drawMarks(R, t) {
  const ev = R.doc.events, lo = upper(R.markT, t - MARK_FADE_S) + 1, hi = upper(R.markT, t);
  let shown = 0;
  for (let q = lo; q <= hi; q++) {
    const i = R.marks[q], [x, y] = xy(ev.lon[i], ev.lat[i]);
    mark(x, y, ev.kind[i], t - ev.t[i]); shown++;
  }
  ctx.globalAlpha = 1;
  state.visibleMarks = shown;
}

function drawTracks(R, t) {
  const tr = R.doc.tracks, hi = upper(tr.t, t), lo = upper(tr.t, t - 10) + 1;
  ctx.lineWidth = 1.5;
  for (let i = Math.max(0, lo); i <= hi; i++) {
    const [x, y] = xy(tr.lon[i], tr.lat[i]);
    ctx.strokeStyle = R.colour[tr.owner[i]] || "#000000";
    ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.stroke();
  }
}

const LABEL_OFFSET = { asset: [0, -10, "center"], unit: [8, 4, "left"], radar: [8, 16, "left"] };
// names in their order (assets, then fire units, then radars); a name that would overlap
// one already drawn is left out until zooming in makes room for it
function drawLabels() {
  ctx.font = "11px system-ui, sans-serif"; ctx.lineWidth = 3; ctx.strokeStyle = "rgba(255,255,255,0.85)"; ctx.fillStyle = "#222222";
  const boxes = [];
  for (const { at, text, kind } of state.labels) {
    const [x, y] = xy(at[0], at[1]), [dx, dy, align] = LABEL_OFFSET[kind];
    const w = ctx.measureText(String(text)).width, x0 = align === "right" ? x + dx - w : align === "center" ? x + dx - w / 2 : x + dx;
    const box = [x0 - 1, y + dy - 10, x0 + w + 1, y + dy + 3];
    if (boxes.some((b) => box[0] < b[2] && b[0] < box[2] && box[1] < b[3] && b[1] < box[3])) continue;
    boxes.push(box);
    ctx.textAlign = align; ctx.strokeText(String(text), x + dx, y + dy); ctx.fillText(String(text), x + dx, y + dy);
  }
  ctx.textAlign = "left";
  state.visibleLabels = boxes.length;
  state.labelBoxes = boxes;
}

function drawLive(L) {
  for (const [lon, lat, kind, t] of L.marks) {
    if (L.t - t > MARK_FADE_S) continue;
    const [x, y] = xy(lon, lat);
    mark(x, y, kind, L.t - t);
  }
  ctx.globalAlpha = 1;
}

function draw() {
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  const R = state.replay;
  if (R) {
    const t = state.t;
    drawMarks(R, t);
    drawFlyouts(R, t);
    drawAircraft(R, t);
    if ($("show-tracks").checked) { drawTracks(R, t); drawn = []; } else drawn = drawThreats(R, t);
    state.visibleThreats = drawn.length;
  } else if (state.live) drawLive(state.live);
  if ($("show-names").checked) drawLabels(); else state.visibleLabels = 0;
  state.drawFrames++;
}

function pick(point) {
  let best = null, bestD = 100;  // within 10 px
  for (const [x, y, id] of drawn) { const d = (x - point.x) ** 2 + (y - point.y) ** 2; if (d < bestD) { bestD = d; best = id; } }
  return best;
}
state.pick = pick;
state.positions = () => drawn.map(([x, y, id]) => ({ x, y, id }));

function updateCounters(R, t) {
  const i = upper(R.doc.events.t, t), j = upper(R.fireT, t);
  const get = (a) => (i >= 0 ? a[i] : 0), fire = (a) => (j >= 0 ? a[j] : 0);
  $("c-launched").textContent = get(R.cum.launched);
  $("c-engaged").textContent = upper(R.engagedT, t) + 1;
  $("c-intercepted").textContent = get(R.cum.intercepted);
  $("c-leaked").textContent = get(R.cum.leaked);
  $("c-fired").textContent = fire(R.fired);
  $("c-cost").textContent = money(fire(R.cost));
  $("c-interceptors").replaceChildren(...Object.entries(R.byType).map(([k, a]) =>
    h("tr", {}, h("th", {}, pretty(k)), h("td", { "data-interceptor": k }, fire(a)))));
}

function render() {
  const R = state.replay; if (!R) return;
  draw();
  updateCounters(R, state.t);
  $("clock").textContent = hms(state.t);
  $("time").value = String(Math.round(state.t));
}

function setTime(t) {
  state.t = Math.max(0, Math.min(t, state.replay ? state.replay.doc.duration_s : 0));
  render();
}
state.setTime = setTime;

let lastFrame = null;
function tick(now) {
  state.frames++;
  if (state.playing && state.replay) {
    if (lastFrame !== null) {
      const dt = (now - lastFrame) / 1000;
      const t = state.t + dt * Number($("speed").value);
      if (t >= state.replay.doc.duration_s) { state.playing = false; $("play").textContent = "▶"; }
      setTime(t);
    }
    lastFrame = now;
  } else lastFrame = null;
  requestAnimationFrame(tick);
}
requestAnimationFrame(tick);

function play(on) {
  state.playing = on ?? !state.playing;
  $("play").textContent = state.playing ? "❚❚" : "▶";
}
state.play = play;
$("play").addEventListener("click", () => play());
$("time").addEventListener("input", (e) => setTime(Number(e.target.value)));
$("show-tracks").addEventListener("change", render);
$("show-names").addEventListener("change", draw);
// the space bar plays and pauses wherever the focus is (the map, the page), except where
// it already means something: typing, a list, a button, a check box
function spaceIsTaken(el) {
  if (!el || el === document.body || el === document.documentElement) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT" || tag === "BUTTON" || tag === "OPTION") return true;
  return tag === "INPUT" && el.type !== "range";
}
document.addEventListener("keydown", (e) => {
  if (e.code !== "Space" || e.repeat || e.ctrlKey || e.altKey || e.metaKey || spaceIsTaken(e.target)) return;
  e.preventDefault(); play();
});

async function loadReplay(name) {
  if (!name) return;
  status(`loading ${name} ...`);
  const doc = await getJSON(`/api/runs/${encodeURIComponent(name)}/replay`);
  const bounds = drawLayout(doc);
  for (const j of doc.threats.offset.slice(0, -1)) {  // launch points too
    bounds[0] = Math.min(bounds[0], doc.samples.lon[j]); bounds[2] = Math.max(bounds[2], doc.samples.lon[j]);
    bounds[1] = Math.min(bounds[1], doc.samples.lat[j]); bounds[3] = Math.max(bounds[3], doc.samples.lat[j]);
  }
  state.replay = prepareReplay(doc); state.selected = null;
  $("threat-info").textContent = "Click a threat for its history.";
  $("time").max = String(Math.ceil(doc.duration_s));
  const first = doc.threats.t0.length ? Math.min(...doc.threats.t0) : 0;
  map.fitBounds([[bounds[0] - 0.5, bounds[1] - 0.5], [bounds[2] + 0.5, bounds[3] + 0.5]], { duration: 0 });
  setTime(first);
  status(`${doc.scenario}: ${doc.threats.id.length} threats, ${doc.flyouts.t0.length} engagements`);
  state.loaded = name;
  $("run-select").value = name;
}
state.loadReplay = loadReplay;
$("run-select").addEventListener("change", (e) => loadReplay(e.target.value).catch((err) => status(err.message)));

function showThreat(id) {
  const R = state.replay; if (!R) return;
  const k = R.byThreat.get(id), th = R.doc.threats, f = R.doc.flyouts;
  state.selected = id;
  const shots = [];
  for (let i = 0; i < f.threat.length; i++) if (f.threat[i] === id) {
    const n = isNum(f.rounds?.[i]) ? f.rounds[i] : 1;
    shots.push(h("li", {}, `${hms(f.t0[i])} ${n} × ${pretty(f.interceptor[i])} from ${f.unit[i]}: ${pretty(f.result[i])} at ${hms(f.t1[i])}`));
  }
  $("threat-info").replaceChildren(
    h("b", {}, `threat ${id}`), `: ${pretty(th.class[k])}`, h("br"),
    `launched ${hms(th.t0[k])}, ended ${hms(th.t1[k])}: `, h("b", {}, pretty(th.fate[k])),
    shots.length ? h("ol", {}, shots) : [h("br"), "never engaged"],
  );
  draw();
}
state.showThreat = showThreat;

// ---------- lists ----------
async function refreshLists(select) {
  const [runs, scenarios] = await Promise.all([getJSON("/api/runs"), getJSON("/api/scenarios")]);
  const runSel = $("run-select"), mcSel = $("mc-select"), scSel = $("scenario-select");
  const chosen = scSel.value;
  runSel.replaceChildren(...runs.filter((r) => r.kind === "run").map((r) => new Option(`${r.name} (${r.scenario ?? "?"}, seed ${r.seed ?? "?"})`, r.name)));
  mcSel.replaceChildren(new Option("choose ...", ""), ...runs.filter((r) => r.kind === "mc").map((r) => new Option(r.name, r.name)));
  scSel.replaceChildren(...Object.keys(scenarios).map((name) => new Option(name, name)));
  if (chosen && Object.hasOwn(scenarios, chosen)) scSel.value = chosen;
  showRunChoice();
  if (select) runSel.value = select;
  if (runSel.value && state.loaded !== runSel.value) await loadReplay(runSel.value);
  if (!runSel.value) status("no run yet: start one in the Run tab, or 'iamd run SCENARIO --out runs/NAME'");
}
state.refreshLists = refreshLists;

// ---------- tabs ----------
for (const b of document.querySelectorAll(".tab")) b.addEventListener("click", () => {
  document.querySelectorAll(".tab").forEach((x) => x.classList.toggle("active", x === b));
  document.querySelectorAll(".pane").forEach((p) => p.classList.toggle("active", p.id === `pane-${b.dataset.tab}`));
});
function showTab(name) { $(`tab-${name}`).click(); }

// ---------- run from the browser ----------
// What Start runs is explicit: the "bundled" or the "uploaded" radio, set by the last
// action (choosing a bundled scenario, choosing a file) and shown in #run-choice. Start
// is disabled while the uploaded file is being checked or is invalid.
const runTab = { source: "bundled", upload: null, check: 0 };  // upload: {file, yaml, valid, problems}
state.runTab = runTab;
function showProblems(problems, file) {
  $("problems").replaceChildren(...problems.map((p) =>
    h("li", {}, `${file ? `${file}:` : ""}line ${p.line}:${p.col}: ${p.message}`)));
}
function choice() {
  const up = runTab.upload;
  if (runTab.source === "bundled") {
    const name = $("scenario-select").value;
    return name ? { ok: true, body: { scenario: name }, text: `Start runs the bundled scenario ${name}` }
      : { ok: false, text: "no bundled scenario to run" };
  }
  if (!up) return { ok: false, text: "choose a scenario file to upload" };
  if (up.valid === null) return { ok: false, text: `checking ${up.file} ...` };
  if (!up.valid) return { ok: false, text: `${up.file} is not valid: fix it and upload it again, or choose a bundled scenario` };
  return { ok: true, body: { yaml: up.yaml, file: up.file }, text: `Start runs the uploaded file ${up.file}` };
}
function showRunChoice() {
  const c = choice(), running = state.live && !state.live.ended;
  $("start-run").disabled = !c.ok || Boolean(running);
  $("cancel-run").disabled = !running;
  $("run-choice").textContent = c.text;
  state.runChoice = c;
}
function setSource(source) {
  runTab.source = source;
  $(`source-${source}`).checked = true;
  const up = runTab.upload;
  if (source === "upload" && up && up.valid === false) showProblems(up.problems, up.file);
  else if (source === "upload" && up && up.valid) $("problems").replaceChildren(h("li", { class: "valid" }, `${up.file}: valid`));
  else $("problems").replaceChildren();
  showRunChoice();
}
for (const r of document.querySelectorAll('input[name="source"]')) r.addEventListener("change", () => setSource(r.value));
$("scenario-select").addEventListener("change", () => setSource("bundled"));
$("upload").addEventListener("change", async (e) => {
  const file = e.target.files[0], check = ++runTab.check;
  if (!file) { runTab.upload = null; setSource("upload"); return; }
  runTab.upload = { file: file.name, yaml: null, valid: null, problems: [] };
  setSource("upload");
  const up = runTab.upload;
  try {
    up.yaml = await file.text();
    const res = await postJSON("/api/validate", { yaml: up.yaml, file: file.name });
    up.valid = Boolean(res.valid); up.problems = res.problems || [];
  } catch (err) {
    up.valid = false; up.problems = [{ line: 0, col: 0, message: err.message }];
  }
  if (check !== runTab.check) return;  // another file was chosen meanwhile
  if (runTab.source === "upload") setSource("upload"); else showRunChoice();
});
$("seed").addEventListener("input", showRunChoice);
$("start-run").addEventListener("click", async () => {
  const c = choice();
  if (!c.ok) return;
  const seed = $("seed").value === "" ? undefined : Number($("seed").value);
  $("start-run").disabled = true;
  try {
    const res = await postJSON("/api/runs", { ...c.body, seed });
    watchLive(res.job, res.run);
  } catch (err) {
    if (err.body && err.body.problems) showProblems(err.body.problems, c.body.file);
    else showProblems([{ line: 0, col: 0, message: `${err.status}: ${err.message}` }]);
    showRunChoice();
  }
});
$("cancel-run").addEventListener("click", async () => {
  const L = state.live; if (!L || L.ended) return;
  $("cancel-run").disabled = true;
  try { await postJSON(`/api/live/${encodeURIComponent(L.job)}/cancel`, {}); }
  catch (err) { status(`cancel: ${err.message}`); showRunChoice(); }
});

function liveCounters(L) {
  const rows = [["threats launched", L.counts.launch], ["interceptors fired", L.rounds], ["intercepted", L.counts.intercept],
    ["leaked onto assets", L.counts.impact_asset]];
  $("live-counters").replaceChildren(...rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v || 0))));
}
function endLive(L, text) {
  L.ended = true; status(text); showRunChoice();
}
function onLive(L, msg) {
  if (msg.type === "start") { L.duration = msg.duration_s; status(`running ${msg.scenario} ...`); }
  if (msg.type === "progress") {
    L.t = msg.t_s;
    for (const [t, kind, threat, lat, lon, rounds] of msg.events) {
      L.counts[kind] = (L.counts[kind] || 0) + 1;
      if (kind === "launch_interceptor") L.rounds += isNum(rounds) ? rounds : 1;
      if (lat !== null && kind !== "launch_interceptor") L.marks.push([lon, lat, kind, t]);
      if (kind !== "launch" || L.counts.launch <= 20) $("live-log").prepend(h("li", {}, `${hms(t)} ${pretty(kind)} threat ${threat}`));
    }
    draw();
    $("live-clock").textContent = `${hms(L.t)} / ${hms(L.duration || 0)}`;
    liveCounters(L);
  }
  if (msg.type === "error") {
    showProblems(msg.problems || [{ line: 0, col: 0, message: msg.message }]);
    L.error = msg.message; endLive(L, `run failed: ${msg.message}`);
  }
  if (msg.type === "cancelled") { L.cancelled = true; endLive(L, "run cancelled"); }
}
function watchLive(job, run) {
  const L = { job, run, t: 0, counts: { launch: 0, launch_interceptor: 0, intercept: 0, impact_asset: 0 }, rounds: 0, marks: [], ended: false };
  state.live = L; state.playing = false; state.replay = null;
  showRunChoice(); draw();
  $("live-log").replaceChildren(); liveCounters(L);
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/live/${encodeURIComponent(job)}`);
  ws.onmessage = async (m) => {
    const msg = JSON.parse(m.data);
    onLive(L, msg);
    if (msg.type === "done") {
      L.done = true; endLive(L, `${run} finished; replaying`);
      await refreshLists(run); showTab("replay");
    }
  };
  ws.onclose = () => { if (!L.ended) endLive(L, "the connection to the run was lost"); };
}
state.watchLive = watchLive;

// ---------- Monte Carlo ----------
let mc = null;
$("mc-select").addEventListener("change", async (e) => {
  if (!e.target.value) return;
  mc = await getJSON(`/api/mc/${encodeURIComponent(e.target.value)}`);
  state.mc = mc;
  const sweep = !Object.keys(mc.metrics).length && mc.sweep && mc.sweep.points.length;
  const names = sweep ? mc.sweep_metrics : Object.keys(mc.metrics);
  const preferred = Object.keys(mc.labels).filter((k) => names.includes(k));
  $("mc-metric").replaceChildren(...[...preferred, ...names.filter((n) => !preferred.includes(n))]
    .map((n) => new Option(mc.labels[n] || n, n)));
  if (mc.first_metric && names.includes(mc.first_metric)) $("mc-metric").value = mc.first_metric;
  $("mc-report").replaceChildren(mc.has_report
    ? h("a", { href: `/api/runs/${encodeURIComponent(mc.name)}/files/report.html`, target: "_blank", rel: "noopener" }, "open the full report") : "");
  drawMc();
  drawSweepTable();
});
$("mc-metric").addEventListener("change", drawMc);

// ticks at 1, 2 or 5 x 10^k spanning [lo, hi]
function ticks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n, mag = 10 ** Math.floor(Math.log10(raw)), r = raw / mag;
  const step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}
function tickLabel(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toPrecision(3)} bn`;
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)} M`;
  if (a >= 1e4) return `${+(v / 1e3).toPrecision(3)} k`;
  return String(+v.toPrecision(3));
}
// axes with ticks and labels in the box {l, t, r, b} of svg for data ranges xr and yr;
// returns the scales (data to pixels)
function axes(svg, box, xr, yr, xLabel, yLabel) {
  const [x0, x1] = xr[1] > xr[0] ? xr : [xr[0] - 0.5, xr[0] + 0.5];
  const [y0, y1] = yr[1] > yr[0] ? yr : [yr[0] - 0.5, yr[0] + 0.5];
  const X = (x) => box.l + ((x - x0) / (x1 - x0)) * (box.r - box.l);
  const Y = (y) => box.b - ((y - y0) / (y1 - y0)) * (box.b - box.t);
  const g = s("g", { class: "axes" });
  for (const v of ticks(y0, y1, 4)) {
    g.append(s("line", { class: "grid", x1: box.l, x2: box.r, y1: Y(v), y2: Y(v) }));
    g.append(s("line", { class: "axis tick", x1: box.l - 4, x2: box.l, y1: Y(v), y2: Y(v) }));
    g.append(svgText(box.l - 6, Y(v) + 3, tickLabel(v), { "text-anchor": "end", class: "tick-label y" }));
  }
  for (const v of ticks(x0, x1, 5)) {
    g.append(s("line", { class: "axis tick", x1: X(v), x2: X(v), y1: box.b, y2: box.b + 4 }));
    g.append(svgText(X(v), box.b + 14, tickLabel(v), { "text-anchor": "middle", class: "tick-label x" }));
  }
  g.append(s("path", { class: "axis", d: `M${box.l},${box.t}V${box.b}H${box.r}` }));
  g.append(svgText((box.l + box.r) / 2, box.b + 27, xLabel, { "text-anchor": "middle", class: "axis-label x" }));
  g.append(svgText(11, (box.t + box.b) / 2, yLabel, { "text-anchor": "middle", class: "axis-label y", transform: `rotate(-90 11 ${(box.t + box.b) / 2})` }));
  svg.append(g);
  return { X, Y };
}
const BOX = { l: 52, t: 10, r: 330, b: 140 };
function plotSvg(id, height, visible) {
  const el = $(id);
  el.replaceChildren(); el.removeAttribute("class"); el.removeAttribute("data-metric");
  el.setAttribute("height", height); el.style.display = visible ? "" : "none";
  return el;
}
function drawMc() {
  if (!mc) return;
  const name = $("mc-metric").value, label = mc.labels[name] || name;
  if (!mc.metrics[name]) {  // a sweep directory: its points hold the runs
    plotSvg("mc-conv", 170, false);
    const n = mc.sweep ? mc.sweep.points.length : 0;
    $("mc-stats").textContent = n ? `sweep of ${n} points: ${label} against ${mc.sweep.paths.join(", ")}` : "no runs stored yet";
    if (n && name) sweepCurve(plotSvg("mc-hist", 175, true), mc.sweep, name, label); else plotSvg("mc-hist", 175, false);
    return;
  }
  const xs = mc.metrics[name].filter(isNum);
  const st = mc.summary && mc.summary.metrics ? mc.summary.metrics[name] : null;
  $("mc-stats").replaceChildren(...(st
    ? [h("b", {}, label), `: mean ${fmt(st.mean)}, 95 % CI [${fmt(st.ci95_low)}, ${fmt(st.ci95_high)}], p5 ${fmt(st.p5)}, p50 ${fmt(st.p50)}, p95 ${fmt(st.p95)}, n ${st.n}`]
    : [`${xs.length} runs`]));
  const hist = plotSvg("mc-hist", 175, true), conv = plotSvg("mc-conv", 175, true);
  if (!xs.length) return;
  histogram(hist, xs, label);
  runningMean(conv, xs, label);
}
function histogram(svg, xs, label) {
  const lo = Math.min(...xs), hi = Math.max(...xs), bins = Math.min(20, Math.max(1, new Set(xs).size));
  const width = (hi - lo) / bins || 1, counts = new Array(bins).fill(0);
  for (const x of xs) counts[Math.min(bins - 1, Math.floor((x - lo) / width))]++;
  const { X, Y } = axes(svg, BOX, [lo, lo + bins * width], [0, Math.max(...counts)], label, "runs");
  counts.forEach((c, k) => {
    const a = lo + k * width, b = a + width;
    svg.append(s("rect", { class: "bar", x: X(a), y: Y(c), width: Math.max(1, X(b) - X(a) - 1), height: Y(0) - Y(c), fill: "#1f77b4" },
      `${tickLabel(a)} to ${tickLabel(b)}: ${c} runs`));
  });
}
// running mean with a normal-approximation 95 % band (clipped at zero for metrics that
// never go below it: counts, costs, value lost)
function runningMean(svg, xs, label) {
  let s1 = 0, s2 = 0; const mean = [], lowB = [], highB = [];
  const floor = Math.min(...xs) >= 0 ? 0 : -Infinity;
  xs.forEach((x, i) => {
    s1 += x; s2 += x * x; const n = i + 1, m = s1 / n, v = n > 1 ? (s2 - n * m * m) / (n - 1) : 0, hw = 1.96 * Math.sqrt(Math.max(v, 0) / n);
    mean.push(m); lowB.push(Math.max(floor, m - hw)); highB.push(m + hw);
  });
  const { X, Y } = axes(svg, BOX, [1, xs.length], [Math.min(...lowB), Math.max(...highB)], "runs", `mean ${label}`);
  const path = (a) => a.map((y, i) => `${i ? "L" : "M"}${X(i + 1).toFixed(1)},${Y(y).toFixed(1)}`).join("");
  svg.append(s("path", { d: path(highB) + path(lowB.slice().reverse()).replace("M", "L") + "Z", fill: "#1f77b433", class: "band" }));
  svg.append(s("path", { d: path(mean), stroke: "#1f77b4", fill: "none", class: "mean" }, "running mean"));
}
const SERIES_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"];
// one metric against the first varied value (one series per value of the others): means
// with their 95 % intervals, hover for numbers
function sweepCurve(svg, sw, metric, label) {
  const path = sw.paths[0], others = sw.paths.slice(1);
  svg.setAttribute("class", "sweep-curve"); svg.setAttribute("data-metric", metric);
  const pts = sw.points.map((p) => ({ x: Number(p.values[path]), m: p.metrics[metric], key: others.map((o) => `${o} = ${p.values[o]}`).join(", ") }))
    .filter((p) => Number.isFinite(p.x) && p.m && isNum(p.m.mean)).sort((a, b) => a.x - b.x);
  if (!pts.length) { svg.append(svgText(BOX.l, 40, `no numeric values of ${path}`)); return; }
  const lo = pts.map((p) => (isNum(p.m.ci95_low) ? p.m.ci95_low : p.m.mean)), hi = pts.map((p) => (isNum(p.m.ci95_high) ? p.m.ci95_high : p.m.mean));
  const { X, Y } = axes(svg, BOX, [Math.min(...pts.map((p) => p.x)), Math.max(...pts.map((p) => p.x))], [Math.min(...lo), Math.max(...hi)], path, label);
  const series = [...new Set(pts.map((p) => p.key))];
  series.forEach((key, k) => {
    const colour = SERIES_COLOURS[k % SERIES_COLOURS.length], mine = pts.map((p, i) => [p, i]).filter(([p]) => p.key === key);
    svg.append(s("path", { d: mine.map(([p], q) => `${q ? "L" : "M"}${X(p.x)},${Y(p.m.mean)}`).join(""), stroke: colour, fill: "none" }, key || undefined));
    for (const [p, i] of mine) {
      svg.append(s("line", { x1: X(p.x), x2: X(p.x), y1: Y(lo[i]), y2: Y(hi[i]), stroke: colour }));
      svg.append(s("circle", { cx: X(p.x), cy: Y(p.m.mean), r: 3.5, fill: colour },
        `${path} = ${p.x}${key ? `, ${key}` : ""}: mean ${fmt(p.m.mean)} [${fmt(lo[i])}, ${fmt(hi[i])}]`));
    }
  });
}
function drawSweepTable() {
  const sw = mc && mc.sweep;
  if (!sw || !sw.points.length) { $("mc-sweep").replaceChildren(); return; }
  const metrics = mc.sweep_metrics;
  const cell = (m) => (m && isNum(m.mean) ? `${fmt(m.mean)} [${fmt(m.ci95_low)}, ${fmt(m.ci95_high)}]` : "");
  $("mc-sweep").replaceChildren(h("b", {}, "Sweep"), h("table", { class: "counters" },
    h("tr", {}, ...sw.paths.map((k) => h("th", {}, k)), ...metrics.map((k) => h("th", {}, mc.labels[k] || k))),
    ...sw.points.map((p) => h("tr", {}, ...sw.paths.map((k) => h("td", {}, String(p.values[k]))), ...metrics.map((k) => h("td", {}, cell(p.metrics[k])))))));
}
