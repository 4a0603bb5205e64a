// Copy the browser files iamd ships from node_modules into the Python package.
// Run after `npm ci` when updating a front-end package: `npm run vendor`.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";

const out = "../src/iamd/web/static/vendor";
mkdirSync(out, { recursive: true });
const files = [
  ["maplibre-gl", "dist/maplibre-gl.js", "maplibre-gl.js"],
  ["maplibre-gl", "dist/maplibre-gl.css", "maplibre-gl.css"],
  ["maplibre-gl", "LICENSE.txt", "LICENSE.maplibre-gl.txt"],
  ["topojson-client", "dist/topojson-client.min.js", "topojson-client.min.js"],
  ["topojson-client", "LICENSE", "LICENSE.topojson-client.txt"],
  ["world-atlas", "countries-50m.json", "countries-50m.json"],
  ["world-atlas", "land-50m.json", "land-50m.json"],
  ["world-atlas", "LICENSE", "LICENSE.world-atlas.txt"],
];
const lines = ["# Vendored front-end files", "", "Copied by `frontend/vendor.mjs` from these npm packages:", ""];
const seen = new Set();
for (const [pkg, from, to] of files) {
  copyFileSync(`node_modules/${pkg}/${from}`, `${out}/${to}`);
  if (!seen.has(pkg)) {
    const meta = JSON.parse(readFileSync(`node_modules/${pkg}/package.json`, "utf8"));
    lines.push(`- ${pkg} ${meta.version} (${meta.license})`);
    seen.add(pkg);
  }
}
lines.push("", "world-atlas's borders are Natural Earth 1:50m (public domain).", "");
writeFileSync(`${out}/VENDOR.md`, lines.join("\n"));
