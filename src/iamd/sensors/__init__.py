"""Sensors: radars and spaceborne launch warning."""
