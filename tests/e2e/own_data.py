"""A customer's own files, deterministic: contacts with their own attribute columns and
an outcomes file. Which columns should be used and which dropped (and why) is known."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from chalicelib.domain.phone import Accepted, normalize

# column -> why training must drop it (the others must be used)
DROPPED = {
    "cliente_id": "identifier_like",
    "nombre": "identity",
    "pais": "constant",
    "notas": "mostly_empty",
    "codigo_cupon": "identifier_like",
    "dias_desde_compra": "leaks_outcome",
}
USED = ("edad", "plan", "visitas", "canal")
LADAS = ("33", "55", "81", "222", "442", "999", "664", "477")


def national(i: int) -> str:
    """The i-th distinct valid Mexican number."""
    while True:
        lada = LADAS[i % len(LADAS)]
        n = lada + f"{7_000_000 + i * 7:0{10 - len(lada)}d}"[-(10 - len(lada)) :]
        if isinstance(normalize(n), Accepted):
            return n
        i += 1_000_003


def write(dirpath: Path, n: int, seed: int = 11) -> tuple[Path, Path, int]:
    """contactos.csv and resultados.csv with n rows; returns the paths and conversions."""
    rng = random.Random(seed)
    contacts, outcomes = dirpath / "contactos.csv", dirpath / "resultados.csv"
    converted = 0
    with (
        contacts.open("w", newline="", encoding="utf-8") as cf,
        outcomes.open("w", newline="", encoding="utf-8") as of,
    ):
        cw, ow = csv.writer(cf), csv.writer(of)
        cw.writerow(["celular", *DROPPED, *USED])
        ow.writerow(["telefono", "converted"])
        seen: set[str] = set()
        for i in range(n):
            phone = national(i)
            while phone in seen:
                phone = national(i + 5_000_000 + len(seen))
            seen.add(phone)
            edad = rng.randint(18, 75)
            plan = rng.choice(("basico", "plus", "premium"))
            visitas = rng.randint(0, 20)
            canal = rng.choice(("web", "tienda", "app", "telefono"))
            logit = -2.2 + 0.9 * (plan == "premium") + 0.08 * visitas - 0.02 * (edad - 40)
            p = 1 / (1 + 2.718281828 ** (-logit))
            y = rng.random() < p
            converted += y
            cw.writerow(
                [
                    phone,
                    100_000 + i,
                    f"Cliente {i}",
                    "MX",
                    "llamar" if rng.random() < 0.05 else "",
                    f"CUP{rng.getrandbits(40):010X}",
                    0 if y else rng.randint(30, 400),
                    edad,
                    plan,
                    visitas,
                    canal,
                ]
            )
            ow.writerow(["+52" + phone, "si" if y else "no"])
    return contacts, outcomes, converted
