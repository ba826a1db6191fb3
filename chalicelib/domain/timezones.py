"""IANA time zone of a Mexican municipality (pure rule table).

Mexico's zones since the Ley de los Husos Horarios of 2022 (DST abolished on
2022-10-30, except along the US border, which keeps the US calendar), with the IANA
zones tzdata assigns to each area (``zone1970.tab``):

=============================  ==================================================
America/Tijuana                Baja California (US DST)
America/Hermosillo             Sonora (UTC-7, no DST)
America/Mazatlan               Baja California Sur, Sinaloa, Nayarit but one
America/Bahia_Banderas         Bahía de Banderas, Nayarit (Mexico City time)
America/Chihuahua              Chihuahua, most of it (UTC-6, no DST)
America/Ciudad_Juarez          Juárez, Chihuahua (UTC-7, US DST)
America/Ojinaga                the other Chihuahua border municipalities (UTC-6, US DST)
America/Matamoros              the Coahuila, Nuevo León and Tamaulipas border
                               municipalities (UTC-6, US DST)
America/Monterrey              the rest of Coahuila, Nuevo León, Tamaulipas; Durango
America/Merida                 Campeche, Yucatán
America/Cancun                 Quintana Roo (UTC-5, no DST)
America/Mexico_City            everywhere else
=============================  ==================================================

Monterrey, Merida and Bahia_Banderas keep Mexico City's clock today; they are tzdata's
zones for those areas (they differed in the past), so a timestamp there stays right.
The border municipalities are those the 2022 law lists (its articles on the
"franja fronteriza norte"), keyed by INEGI municipality code.

A number whose municipality is unknown gets its state's zone when the whole state has
one, else ``None``: never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["MEXICO_CITY", "MUNICIPALITY_ZONES", "STATE_ZONES", "zone_of"]

MEXICO_CITY = "America/Mexico_City"

# State code -> zone of the state (of its "most areas" when some municipalities differ).
STATE_ZONES: Mapping[str, str] = MappingProxyType(
    {
        "BC": "America/Tijuana",
        "SON": "America/Hermosillo",
        "BCS": "America/Mazatlan",
        "SIN": "America/Mazatlan",
        "NAY": "America/Mazatlan",
        "CHIH": "America/Chihuahua",
        "COAH": "America/Monterrey",
        "NL": "America/Monterrey",
        "TAMS": "America/Monterrey",
        "DGO": "America/Monterrey",
        "CAMP": "America/Merida",
        "YUC": "America/Merida",
        "QROO": "America/Cancun",
    }
)

_JUAREZ = "America/Ciudad_Juarez"
_OJINAGA = "America/Ojinaga"
_MATAMOROS = "America/Matamoros"

# INEGI municipality code -> zone, where it is not its state's zone.
MUNICIPALITY_ZONES: Mapping[str, str] = MappingProxyType(
    {
        # Chihuahua, US border
        "08037": _JUAREZ,  # Juárez
        "08005": _OJINAGA,  # Ascensión
        "08015": _OJINAGA,  # Coyame del Sotol
        "08028": _OJINAGA,  # Guadalupe
        "08035": _OJINAGA,  # Janos
        "08042": _OJINAGA,  # Manuel Benavides
        "08052": _OJINAGA,  # Ojinaga
        "08053": _OJINAGA,  # Praxedis G. Guerrero
        # Coahuila, US border
        "05002": _MATAMOROS,  # Acuña
        "05003": _MATAMOROS,  # Allende
        "05012": _MATAMOROS,  # Guerrero
        "05013": _MATAMOROS,  # Hidalgo
        "05014": _MATAMOROS,  # Jiménez
        "05019": _MATAMOROS,  # Morelos
        "05022": _MATAMOROS,  # Nava
        "05023": _MATAMOROS,  # Ocampo
        "05025": _MATAMOROS,  # Piedras Negras
        "05037": _MATAMOROS,  # Villa Unión
        "05038": _MATAMOROS,  # Zaragoza
        # Nuevo León, US border
        "19005": _MATAMOROS,  # Anáhuac
        # Tamaulipas, US border
        "28007": _MATAMOROS,  # Camargo
        "28014": _MATAMOROS,  # Guerrero
        "28015": _MATAMOROS,  # Gustavo Díaz Ordaz
        "28022": _MATAMOROS,  # Matamoros
        "28024": _MATAMOROS,  # Mier
        "28025": _MATAMOROS,  # Miguel Alemán
        "28027": _MATAMOROS,  # Nuevo Laredo
        "28032": _MATAMOROS,  # Reynosa
        "28033": _MATAMOROS,  # Río Bravo
        "28040": _MATAMOROS,  # Valle Hermoso
        # Nayarit
        "18020": "America/Bahia_Banderas",  # Bahía de Banderas
    }
)

# States with more than one zone: their zone needs the municipality.
_SPLIT_STATES: frozenset[str] = frozenset({"CHIH", "COAH", "NL", "TAMS", "NAY"})


def zone_of(state_code: str | None, municipality_code: str | None = None) -> str | None:
    """Zone of a municipality (INEGI code) in a state (our code, e.g. ``"CHIH"``).

    Without a municipality: the state's zone when the state has one zone, else None.
    """
    if municipality_code is not None:
        zone = MUNICIPALITY_ZONES.get(municipality_code)
        if zone is not None:
            return zone
    elif state_code in _SPLIT_STATES:
        return None
    if state_code is None:
        return None
    return STATE_ZONES.get(state_code, MEXICO_CITY)
