"""Exports of run directories: CZML (CesiumJS), KML (Google Earth), DIS (IEEE 1278.1 over UDP)."""
