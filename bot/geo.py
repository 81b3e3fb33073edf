"""Distances on the Earth's surface, the nearest of a set of places to a point (e.g. the nearest 地区 centre), and
the box of degrees around a point that the searches (bot/event_search.py, bot/place_search.py) put in SQL."""
from __future__ import annotations

import math
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
EARTH_RADIUS_KM = 6371.0088  # mean radius; the error against the ellipsoid is far below the centres' own
KM_PER_DEG_LAT = 111.195  # a degree of latitude on that sphere (EARTH_RADIUS_KM × π/180)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def lon_scale(lat: float) -> float:
    """How long a degree of longitude is at `lat`, as a share of a degree of latitude (cos lat, kept above 0.01 so
    a box near a pole stays finite)."""
    return max(0.01, math.cos(math.radians(lat)))


def bbox(lat: float, lon: float, km: float) -> tuple[float, float, float, float]:
    """(south, north, west, east) in degrees: `km` each way from the point. Everything outside it is farther than
    `km` by flat_km, and by the haversine too (within a centimetre up to 10 km, 0.2 m at 50 km): a search narrows
    indexed lat/lon columns with it, then measures exactly."""
    dlat = km / KM_PER_DEG_LAT
    dlon = dlat / lon_scale(lat)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def flat_km(lat0: float, lon0: float, lat: float, lon: float) -> float:
    """The flat-earth distance that bbox's box is drawn in (plain arithmetic, which SQL can order by the same
    way on SQLite and PostgreSQL); within a city it is the haversine to a few metres."""
    return math.hypot(lat - lat0, (lon - lon0) * lon_scale(lat0)) * KM_PER_DEG_LAT


def nearest(places: Iterable[T], lat: float, lon: float,
            point: Callable[[T], tuple[float | None, float | None]] = lambda p: (p.lat, p.lon),  # type: ignore
            ) -> tuple[T, float] | None:
    """The place whose point is closest to (lat, lon), with its distance in km; places without a point are
    skipped; None when no place has one. Ties keep the first in order."""
    best: tuple[T, float] | None = None
    for place in places:
        plat, plon = point(place)
        if plat is None or plon is None:
            continue
        d = haversine_km(lat, lon, plat, plon)
        if best is None or d < best[1]:
            best = (place, d)
    return best


def valid_point(lat: object, lon: object) -> tuple[float, float] | None:
    """(lat, lon) as floats when both are real, finite coordinates in range; else None."""
    if isinstance(lat, bool) or isinstance(lon, bool) or not isinstance(lat, (int, float)) \
            or not isinstance(lon, (int, float)):
        return None
    try:
        lat, lon = float(lat), float(lon)
    except OverflowError:  # a JSON integer too large for a float
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def map_url(lat: float | None, lon: float | None, address: str | None = None) -> str | None:
    """A link that opens the resident's map app at the point (or the address): no tiles served by us."""
    from urllib.parse import quote

    if lat is not None and lon is not None:
        return f"https://www.google.com/maps/search/?api=1&query={lat:.6f},{lon:.6f}"
    if address:
        return f"https://www.google.com/maps/search/?api=1&query={quote(address)}"
    return None
