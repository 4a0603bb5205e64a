// iamd in the browser: theatre map, replay, live runs, Monte Carlo view.
// Plain ES module over the vendored MapLibre GL JS and Natural Earth borders (world-atlas);
// no network beyond this server. window.iamd exposes the state for tests.

const $ = (id) => document.getElementById(id);
const EMPTY = { type: "FeatureCollection", features: [] };
const KM_PER_DEG = 111.32;

const state = {
  ready: false, frames: 0, mapFrames: 0, drawFrames: 0, t: 0, playing: false, replay: null, live: null,
  mapLoadedMs: null, bordersDrawn: false,
};
window.iamd = state;

// ---------- small helpers ----------
function hms(t) {
  const s = Math.max(0, Math.floor(t));
  const p = (x) => String(x).padStart(2, "0");
  return `T+${p(Math.floor(s / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
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
  if (!r.ok) { const e = new Error(body.detail || r.statusText); e.status = r.status; e.body = body; throw e; }
  return body;
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
  for (const s of SOURCES) map.addSource(s, { type: "geojson", data: EMPTY });
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

// ---------- layout (assets, sensors, fire units) ----------
function ownerColours(layout) {
  const c = {}; for (const o of layout.owners) c[o.name] = o.colour; return c;
}
function drawLayout(layout) {
  const colour = ownerColours(layout);
  const assets = layout.assets.filter((a) => a.lat !== null || a.polygon).map((a) => ({
    type: "Feature", properties: { name: a.name, value: a.value },
    geometry: { type: "Polygon", coordinates: [a.polygon ? [...a.polygon, a.polygon[0]] : circle(a.lon, a.lat, a.radius_km || 5, 32)] },
  }));
  const coverage = layout.sensors.filter((s) => s.max_range_km).map((s) => {
    const half = Math.min(180, (s.sector_deg || 360) / 2);
    return { type: "Feature", properties: { name: s.name, colour: colour[s.owner] || "#444" },
      geometry: { type: "LineString", coordinates: circle(s.lon, s.lat, s.max_range_km, 96, s.boresight_deg - half, s.boresight_deg + half) } };
  });
  const units = layout.units.map((u) => ({
    type: "Feature", properties: { name: u.name, colour: colour[u.owner] || "#444", radius: 3 + Math.max(0, 6 - (u.layer || 5)), layer: u.layer },
    geometry: { type: "Point", coordinates: [u.lon, u.lat] },
  }));
  map.getSource("assets").setData({ type: "FeatureCollection", features: assets });
  map.getSource("coverage").setData({ type: "FeatureCollection", features: coverage });
  map.getSource("units").setData({ type: "FeatureCollection", features: units });
  $("legend").innerHTML = layout.owners.map((o) => `<span><i style="background:${o.colour}"></i>${o.name}</span>`).join("")
    + "<br>" + Object.entries(layout.fate_colours).map(([f, c]) => `<span><i style="background:#fff;border:2px solid ${c}"></i>${f.replaceAll("_", " ")}</span>`).join("")
    + "<br><span>fire units: partner's colour, larger dot for a higher layer (1 = upper tier)</span>";
  const lons = [...layout.units, ...layout.sensors].map((u) => u.lon), lats = [...layout.units, ...layout.sensors].map((u) => u.lat);
  return [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
}

// ---------- replay ----------
function prepareReplay(doc) {
  const ev = doc.events, n = ev.t.length;
  const cost = doc.layout.interceptor_cost_usd;
  const cum = { launched: new Int32Array(n), intercepted: new Int32Array(n), leaked: new Int32Array(n), fired: new Int32Array(n), cost: new Float64Array(n) };
  const byType = {}; // interceptor -> Int32Array of cumulative counts
  for (const k of new Set(ev.interceptor.filter((x, i) => ev.kind[i] === "launch_interceptor"))) byType[k] = new Int32Array(n);
  let L = 0, I = 0, K = 0, F = 0, C = 0; const counts = {};
  const firstEngaged = new Map();
  for (let i = 0; i < n; i++) {
    const k = ev.kind[i];
    if (k === "launch") L++;
    else if (k === "intercept") I++;
    else if (k === "impact_asset") K++;
    else if (k === "launch_interceptor") {
      F++; C += cost[ev.interceptor[i]] || 0; counts[ev.interceptor[i]] = (counts[ev.interceptor[i]] || 0) + 1;
      if (!firstEngaged.has(ev.threat[i])) firstEngaged.set(ev.threat[i], ev.t[i]);
    }
    cum.launched[i] = L; cum.intercepted[i] = I; cum.leaked[i] = K; cum.fired[i] = F; cum.cost[i] = C;
    for (const key in byType) byType[key][i] = counts[key] || 0;
  }
  const engagedT = Float64Array.from([...firstEngaged.values()]).sort();
  const marks = [];
  for (let i = 0; i < n; i++) if (ev.kind[i] === "intercept" || ev.kind[i] === "impact_asset" || ev.kind[i] === "miss") marks.push(i);
  const byThreat = new Map(); doc.threats.id.forEach((id, k) => byThreat.set(id, k));
  const trackOwners = doc.tracks.owner;
  return { doc, cum, byType, engagedT, marks, byThreat, colour: ownerColours(doc.layout), trackOwners };
}

// ---------- dynamic layer: a 2D canvas over the map ----------
// MapLibre draws the static theatre and repaints only when the camera moves; threats,
// trails, flyouts, markers and tracks are drawn here each frame (a few thousand points).
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

function drawThreats(R, t) {
  const th = R.doc.threats, s = R.doc.samples, out = [];
  ctx.lineWidth = 1.2; ctx.globalAlpha = 0.6;
  const heads = [];
  for (let k = 0; k < th.id.length; k++) {
    if (t < th.t0[k] || t > th.t1[k]) continue;
    const a = th.offset[k], b = th.offset[k + 1];
    const j = Math.max(a, upper(s.t, t, a, b));
    const j1 = Math.min(j + 1, b - 1), dt = s.t[j1] - s.t[j];
    const w = dt > 0 ? (t - s.t[j]) / dt : 0;
    const [x, y] = xy(s.lon[j] + w * (s.lon[j1] - s.lon[j]), s.lat[j] + w * (s.lat[j1] - s.lat[j]));
    const colour = R.doc.class_colours[th.class[k]] || "#000";
    ctx.strokeStyle = colour; ctx.beginPath();
    for (let q = Math.max(a, j - 12); q <= j; q++) { const [u, v] = xy(s.lon[q], s.lat[q]); q === Math.max(a, j - 12) ? ctx.moveTo(u, v) : ctx.lineTo(u, v); }
    ctx.lineTo(x, y); ctx.stroke();
    heads.push([x, y, colour, t >= th.t1[k] - 1 ? R.doc.layout.fate_colours[th.fate[k]] : "#ffffff", th.id[k]]);
  }
  ctx.globalAlpha = 1; ctx.lineWidth = 1.5;
  for (const [x, y, fill, ring, id] of heads) {
    ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.fillStyle = fill; ctx.fill(); ctx.strokeStyle = ring; ctx.stroke();
    out.push([x, y, id]);
  }
  return out;
}

function drawFlyouts(R, t) {
  const f = R.doc.flyouts; ctx.lineWidth = 1.5;
  for (let i = 0; i < f.t0.length; i++) {
    if (t < f.t0[i] || t > f.t1[i]) continue;
    const w = f.t1[i] > f.t0[i] ? (t - f.t0[i]) / (f.t1[i] - f.t0[i]) : 1;
    const [x0, y0] = xy(f.lon0[i], f.lat0[i]);
    const [x1, y1] = xy(f.lon0[i] + w * (f.lon1[i] - f.lon0[i]), f.lat0[i] + w * (f.lat1[i] - f.lat0[i]));
    ctx.strokeStyle = R.colour[f.owner[i]] || "#000";
    ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke();
    ctx.beginPath(); ctx.arc(x1, y1, 2.5, 0, 2 * Math.PI); ctx.fillStyle = ctx.strokeStyle; ctx.fill();
  }
}

const MARK_COLOURS = { intercept: "#2ca02c", miss: "#999999", impact_asset: "#d62728", launch: "#e6550d", fail: "#7f7f7f" };
function drawMarks(R, t) {
  const ev = R.doc.events, last = upper(ev.t, t);
  for (const i of R.marks) {
    if (i > last) break;
    const recent = t - ev.t[i] < 60;
    const [x, y] = xy(ev.lon[i], ev.lat[i]);
    ctx.globalAlpha = recent ? 0.95 : 0.45;
    ctx.beginPath(); ctx.arc(x, y, recent ? 7 : 3, 0, 2 * Math.PI); ctx.fillStyle = MARK_COLOURS[ev.kind[i]]; ctx.fill();
  }
  ctx.globalAlpha = 1;
}

function drawTracks(R, t) {
  const tr = R.doc.tracks, hi = upper(tr.t, t), lo = upper(tr.t, t - 10) + 1;
  ctx.lineWidth = 1.5;
  for (let i = Math.max(0, lo); i <= hi; i++) {
    const [x, y] = xy(tr.lon[i], tr.lat[i]);
    ctx.strokeStyle = R.colour[tr.owner[i]] || "#000";
    ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.stroke();
  }
}

function drawLive(L) {
  for (const [lon, lat, kind] of L.marks) {
    const [x, y] = xy(lon, lat);
    ctx.beginPath(); ctx.arc(x, y, 4, 0, 2 * Math.PI); ctx.fillStyle = MARK_COLOURS[kind] || "#999"; ctx.fill();
  }
}

function draw() {
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  const R = state.replay;
  if (R) {
    const t = state.t;
    drawMarks(R, t);
    drawFlyouts(R, t);
    if ($("show-tracks").checked) { drawTracks(R, t); drawn = []; } else drawn = drawThreats(R, t);
    state.visibleThreats = drawn.length;
  } else if (state.live) drawLive(state.live);
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
  const i = upper(R.doc.events.t, t);
  const get = (a) => (i >= 0 ? a[i] : 0);
  $("c-launched").textContent = get(R.cum.launched);
  $("c-engaged").textContent = upper(R.engagedT, t) + 1;
  $("c-intercepted").textContent = get(R.cum.intercepted);
  $("c-leaked").textContent = get(R.cum.leaked);
  $("c-fired").textContent = get(R.cum.fired);
  $("c-cost").textContent = money(get(R.cum.cost));
  $("c-interceptors").innerHTML = Object.entries(R.byType)
    .map(([k, a]) => `<tr><th>${k.replaceAll("_", " ")}</th><td data-interceptor="${k}">${i >= 0 ? a[i] : 0}</td></tr>`).join("");
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
document.addEventListener("keydown", (e) => { if (e.code === "Space" && e.target === document.body) { e.preventDefault(); play(); } });

async function loadReplay(name) {
  if (!name) return;
  status(`loading ${name} ...`);
  const doc = await getJSON(`/api/runs/${encodeURIComponent(name)}/replay`);
  const bounds = drawLayout(doc.layout);
  for (const j of doc.threats.offset.slice(0, -1)) {  // launch points too
    bounds[0] = Math.min(bounds[0], doc.samples.lon[j]); bounds[2] = Math.max(bounds[2], doc.samples.lon[j]);
    bounds[1] = Math.min(bounds[1], doc.samples.lat[j]); bounds[3] = Math.max(bounds[3], doc.samples.lat[j]);
  }
  state.replay = prepareReplay(doc);
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
  const k = R.byThreat.get(id), th = R.doc.threats;
  const f = R.doc.flyouts;
  const shots = [];
  for (let i = 0; i < f.threat.length; i++) if (f.threat[i] === id)
    shots.push(`<li>${hms(f.t0[i])} ${f.interceptor[i].replaceAll("_", " ")} from ${f.unit[i]}: ${f.result[i].replaceAll("_", " ")} at ${hms(f.t1[i])}</li>`);
  $("threat-info").innerHTML = `<b>threat ${id}</b>: ${th.class[k].replaceAll("_", " ")}<br>launched ${hms(th.t0[k])}, ended ${hms(th.t1[k])}: <b>${th.fate[k].replaceAll("_", " ")}</b>`
    + (shots.length ? `<ol>${shots.join("")}</ol>` : "<br>never engaged");
}
state.showThreat = showThreat;

// ---------- lists ----------
async function refreshLists(select) {
  const [runs, scenarios] = await Promise.all([getJSON("/api/runs"), getJSON("/api/scenarios")]);
  const runSel = $("run-select"), mcSel = $("mc-select"), scSel = $("scenario-select");
  const opt = (v, text) => `<option value="${v}">${text}</option>`;
  runSel.innerHTML = runs.filter((r) => r.kind === "run").map((r) => opt(r.name, `${r.name} (${r.scenario}, seed ${r.seed})`)).join("");
  mcSel.innerHTML = opt("", "choose ...") + runs.filter((r) => r.kind === "mc").map((r) => opt(r.name, r.name)).join("");
  scSel.innerHTML = Object.keys(scenarios).map((s) => opt(s, s)).join("");
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
let uploaded = null;
function showProblems(problems) {
  $("problems").innerHTML = problems.map((p) => `<li>${p.file ? p.file + ":" : ""}line ${p.line}:${p.col}: ${escapeHtml(p.message)}</li>`).join("");
}
function escapeHtml(s) { return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c])); }
$("upload").addEventListener("change", async (e) => {
  const file = e.target.files[0]; uploaded = null; showProblems([]);
  if (!file) return;
  const text = await file.text();
  try {
    const res = await getJSON("/api/validate", { method: "POST", body: text, headers: { "Content-Type": "text/plain", "X-Filename": file.name } });
    if (res.valid) { uploaded = { yaml: text, file: file.name }; $("problems").innerHTML = `<li style="color:#2a7">${escapeHtml(file.name)}: valid</li>`; }
    else showProblems(res.problems.map((p) => ({ ...p, file: file.name })));
  } catch (err) { showProblems([{ line: 0, col: 0, message: err.message }]); }
});
$("start-run").addEventListener("click", async () => {
  const seed = $("seed").value === "" ? undefined : Number($("seed").value);
  const body = uploaded ? { ...uploaded, seed } : { scenario: $("scenario-select").value, seed };
  try {
    const res = await getJSON("/api/runs", { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });
    watchLive(res.job, res.run);
  } catch (err) {
    if (err.body && err.body.problems) showProblems(err.body.problems);
    else showProblems([{ line: 0, col: 0, message: `${err.status}: ${err.message}` }]);
  }
});

function watchLive(job, run) {
  const live = { job, run, t: 0, counts: { launch: 0, launch_interceptor: 0, intercept: 0, impact_asset: 0 }, marks: [] };
  state.live = live; state.playing = false; state.replay = null;
  draw();
  $("live-log").innerHTML = "";
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/api/live/${job}`);
  ws.onmessage = async (m) => {
    const msg = JSON.parse(m.data);
    if (msg.type === "start") { live.duration = msg.duration_s; status(`running ${msg.scenario} ...`); }
    if (msg.type === "progress") {
      live.t = msg.t_s;
      for (const [t, kind, threat, lat, lon] of msg.events) {
        live.counts[kind] = (live.counts[kind] || 0) + 1;
        if (lat !== null && kind !== "launch_interceptor") live.marks.push([lon, lat, kind]);
        if (kind !== "launch" || live.counts.launch <= 20) {
          const li = document.createElement("li"); li.textContent = `${hms(t)} ${kind.replaceAll("_", " ")} threat ${threat}`;
          $("live-log").prepend(li);
        }
      }
      draw();
      $("live-clock").textContent = `${hms(live.t)} / ${hms(live.duration || 0)}`;
      $("live-counters").innerHTML = Object.entries(live.counts).map(([k, v]) => `<tr><th>${k.replaceAll("_", " ")}</th><td>${v}</td></tr>`).join("");
    }
    if (msg.type === "error") { showProblems(msg.problems || [{ line: 0, col: 0, message: msg.message }]); status("run failed"); live.error = msg.message; }
    if (msg.type === "done") {
      live.done = true; status(`${run} finished; replaying`);
      await refreshLists(run); showTab("replay");
    }
  };
}
state.watchLive = watchLive;

// ---------- Monte Carlo ----------
let mc = null;
$("mc-select").addEventListener("change", async (e) => {
  if (!e.target.value) return;
  mc = await getJSON(`/api/mc/${encodeURIComponent(e.target.value)}`);
  state.mc = mc;
  const names = Object.keys(mc.metrics);
  const preferred = Object.keys(mc.labels).filter((k) => names.includes(k));
  $("mc-metric").innerHTML = [...preferred, ...names.filter((n) => !preferred.includes(n))]
    .map((n) => `<option value="${n}">${mc.labels[n] || n}</option>`).join("");
  drawMc();
  $("mc-report").innerHTML = mc.has_report ? `<a href="/api/runs/${mc.name}/files/report.html" target="_blank">open the full report</a>` : "";
  drawSweep();
});
$("mc-metric").addEventListener("change", drawMc);

function svgEl(tag, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) { const title = document.createElementNS("http://www.w3.org/2000/svg", "title"); title.textContent = text; el.appendChild(title); }
  return el;
}
function drawMc() {
  if (!mc) return;
  const name = $("mc-metric").value;
  if (!mc.metrics[name]) {  // a sweep directory: its points hold the runs
    $("mc-stats").textContent = mc.sweep ? `sweep of ${mc.sweep.points.length} points` : "no runs stored yet";
    $("mc-hist").innerHTML = ""; $("mc-conv").innerHTML = ""; return;
  }
  const xs = mc.metrics[name].filter((x) => x !== null && Number.isFinite(x));
  const st = mc.summary && mc.summary.metrics ? mc.summary.metrics[name] : null;
  $("mc-stats").innerHTML = st ? `<b>${mc.labels[name] || name}</b>: mean ${st.mean?.toFixed(2)}, 95 % CI [${st.ci95_low?.toFixed(2)}, ${st.ci95_high?.toFixed(2)}], p5 ${st.p5}, p50 ${st.p50}, p95 ${st.p95}, n ${st.n}` : `${xs.length} runs`;
  const hist = $("mc-hist"); hist.innerHTML = "";
  if (!xs.length) return;
  const lo = Math.min(...xs), hi = Math.max(...xs), bins = Math.min(20, Math.max(1, new Set(xs).size));
  const width = (hi - lo) / bins || 1, counts = new Array(bins).fill(0);
  for (const x of xs) counts[Math.min(bins - 1, Math.floor((x - lo) / width))]++;
  const W = 340, H = 180, pad = 24, top = Math.max(...counts);
  counts.forEach((c, k) => hist.appendChild(svgEl("rect", { class: "bar", x: pad + (k * (W - 2 * pad)) / bins, y: H - pad - (c / top) * (H - 2 * pad), width: (W - 2 * pad) / bins - 1, height: (c / top) * (H - 2 * pad), fill: "#1f77b4" }, `${(lo + k * width).toFixed(1)} to ${(lo + (k + 1) * width).toFixed(1)}: ${c} runs`)));
  hist.appendChild(svgEl("text", { x: pad, y: H - 6, "font-size": 10 })).textContent = lo.toFixed(1);
  hist.appendChild(svgEl("text", { x: W - pad - 30, y: H - 6, "font-size": 10 })).textContent = hi.toFixed(1);
  // running mean with a normal-approximation 95 % band
  const conv = $("mc-conv"); conv.innerHTML = "";
  let s = 0, s2 = 0; const mean = [], lowB = [], highB = [];
  xs.forEach((x, i) => { s += x; s2 += x * x; const n = i + 1, m = s / n, v = n > 1 ? (s2 - n * m * m) / (n - 1) : 0, h = 1.96 * Math.sqrt(Math.max(v, 0) / n); mean.push(m); lowB.push(m - h); highB.push(m + h); });
  const ymin = Math.min(...lowB), ymax = Math.max(...highB), X = (i) => pad + (i * (W - 2 * pad)) / Math.max(1, xs.length - 1), Y = (y) => 140 - ((y - ymin) / (ymax - ymin || 1)) * 120;
  const path = (a) => a.map((y, i) => `${i ? "L" : "M"}${X(i).toFixed(1)},${Y(y).toFixed(1)}`).join("");
  conv.appendChild(svgEl("path", { d: path(highB) + path(lowB.slice().reverse()).replace("M", "L") + "Z", fill: "#1f77b433" }));
  conv.appendChild(svgEl("path", { d: path(mean), stroke: "#1f77b4", fill: "none" }, "running mean"));
  conv.appendChild(svgEl("text", { x: pad, y: 155, "font-size": 10 })).textContent = `running mean over ${xs.length} runs`;
}
function drawSweep() {
  const sw = mc && mc.sweep;
  if (!sw || !sw.points || !sw.points.length) { $("mc-sweep").innerHTML = ""; return; }
  const metrics = Object.keys(sw.points[0].metrics);
  const cell = (m) => (m && m.mean !== null ? `${m.mean.toFixed(2)} [${m.ci95_low.toFixed(2)}, ${m.ci95_high.toFixed(2)}]` : "");
  $("mc-sweep").innerHTML = `<b>Sweep</b><table class="counters"><tr>${sw.paths.map((k) => `<th>${k}</th>`).join("")}${metrics.map((k) => `<th>${mc.labels[k] || k}</th>`).join("")}</tr>`
    + sw.points.map((p) => `<tr>${sw.paths.map((k) => `<td>${p.values[k]}</td>`).join("")}${metrics.map((k) => `<td>${cell(p.metrics[k])}</td>`).join("")}</tr>`).join("") + "</table>";
  if (sw.paths.length === 1) for (const k of metrics) $("mc-sweep").appendChild(sweepCurve(sw, sw.paths[0], k));
}
// one metric against the varied value: means with their 95 % intervals (hover for numbers)
function sweepCurve(sw, path, metric) {
  const W = 340, H = 150, pad = 30;
  const pts = sw.points.map((p) => ({ x: Number(p.values[path]), m: p.metrics[metric] }))
    .filter((p) => Number.isFinite(p.x) && p.m && p.m.mean !== null).sort((a, b) => a.x - b.x);
  const svg = svgEl("svg", { width: W, height: H, class: "sweep-curve", "data-metric": metric });
  if (!pts.length) return svg;
  const xs = pts.map((p) => p.x), lo = pts.map((p) => p.m.ci95_low ?? p.m.mean), hi = pts.map((p) => p.m.ci95_high ?? p.m.mean);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...lo), y1 = Math.max(...hi);
  const X = (x) => pad + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * pad), Y = (y) => H - pad - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * pad);
  svg.appendChild(svgEl("path", { d: pts.map((p, i) => `${i ? "L" : "M"}${X(p.x)},${Y(p.m.mean)}`).join(""), stroke: "#1f77b4", fill: "none" }));
  pts.forEach((p, i) => {
    svg.appendChild(svgEl("line", { x1: X(p.x), x2: X(p.x), y1: Y(lo[i]), y2: Y(hi[i]), stroke: "#1f77b4" }));
    svg.appendChild(svgEl("circle", { cx: X(p.x), cy: Y(p.m.mean), r: 3.5, fill: "#1f77b4" }, `${path} = ${p.x}: mean ${p.m.mean.toFixed(2)} [${lo[i].toFixed(2)}, ${hi[i].toFixed(2)}]`));
  });
  svg.appendChild(svgEl("text", { x: pad, y: 14, "font-size": 11 })).textContent = `${mc.labels[metric] || metric} vs ${path}`;
  svg.appendChild(svgEl("text", { x: pad, y: H - 8, "font-size": 10 })).textContent = String(x0);
  svg.appendChild(svgEl("text", { x: W - pad - 20, y: H - 8, "font-size": 10 })).textContent = String(x1);
  return svg;
}
