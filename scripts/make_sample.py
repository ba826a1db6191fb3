"""Generate a realistic, messy Mexican contact file (deterministic for a given seed).

Every number format that old files carry appears (044/045/01 prefixes, +52 1, 0052,
Excel's .0 and scientific notation, full-width digits, extensions, stray text), with
in-file duplicates and junk rows. Used by the README demo (samples/), tests and benches.

    python scripts/make_sample.py --rows 2000 --out samples/contactos_demo.csv
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.domain import numbering_plan  # noqa: E402
from chalicelib.domain.phone import Accepted, normalize  # noqa: E402

FIRST = [
    "Ana",
    "Luis",
    "María",
    "José",
    "Guadalupe",
    "Juan",
    "Sofía",
    "Carlos",
    "Fernanda",
    "Jorge",
    "Valeria",
    "Miguel",
]
LAST = [
    "Hernández",
    "García",
    "Martínez",
    "López",
    "González",
    "Pérez",
    "Rodríguez",
    "Sánchez",
    "Ramírez",
    "Peña",
]
SEGMENTS = ("retail", "mayoreo", "vip", "nuevo", "")
HEADER = ("Nombre", "Teléfono", "Correo", "Ciudad", "Edad", "Segmento")

# (weight, formatter) over a valid 10-digit national number
FORMATS = (
    (30, lambda n: n),
    (10, lambda n: f"{n[:2]} {n[2:6]} {n[6:]}"),
    (8, lambda n: f"({n[:3]}) {n[3:6]}-{n[6:]}"),
    (6, lambda n: f"+52 {n}"),
    (6, lambda n: f"+52 1 {n[:2]} {n[2:6]} {n[6:]}"),
    (4, lambda n: f"521{n}"),
    (4, lambda n: f"52{n}"),
    (5, lambda n: f"044 {n}"),
    (3, lambda n: f"045{n}"),
    (4, lambda n: f"01 {n[:3]} {n[3:]}"),
    (3, lambda n: f"0052{n}"),
    (5, lambda n: f"{n}.0"),
    (3, lambda n: f"{n[0]}.{n[1:]}E+09"),
    (2, lambda n: n.translate(str.maketrans("0123456789", "０１２３４５６７８９"))),
    (2, lambda n: f"{n} ext. {n[-3:]}"),
    (2, lambda n: f"cel: {n[:3]}-{n[3:6]}-{n[6:]}"),
    (1, lambda n: f"{n} / {n[:-1]}{(int(n[-1]) + 1) % 10}"),
)
JUNK = ("", "sin teléfono", "N/A", "12345", "55 1234", "000000000000000000", "5.51E+09", "abc")


def valid_nationals(rng: random.Random) -> Iterator[str]:
    ladas = [lada for lada, e in numbering_plan.all_entries().items() if e.single_state]
    weights = [40 if len(lada) == 2 else 1 for lada in ladas]
    while True:
        lada = rng.choices(ladas, weights)[0]
        n = lada + "".join(rng.choice("0123456789") for _ in range(10 - len(lada)))
        if isinstance(normalize(n), Accepted):
            yield n


def rows(count: int, seed: int) -> Iterator[tuple[str, ...]]:
    rng = random.Random(seed)
    numbers = valid_nationals(rng)
    weights = [w for w, _ in FORMATS]
    seen: list[str] = []
    for i in range(count):
        roll = rng.random()
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        if roll < 0.04:
            phone = rng.choice(JUNK)
        elif roll < 0.10 and seen:
            phone = rng.choice(FORMATS[:6])[1](rng.choice(seen))  # duplicate, another format
        else:
            n = next(numbers)
            seen.append(n)
            phone = rng.choices(FORMATS, weights)[0][1](n)
        yield (
            name,
            phone,
            f"{name.split()[0].lower()}{i}@ejemplo.mx" if rng.random() < 0.7 else "",
            rng.choice(("CDMX", "Guadalajara", "Monterrey", "Puebla", "Mérida", "Tijuana", "")),
            str(rng.randint(18, 75)) if rng.random() < 0.8 else "",
            rng.choice(SEGMENTS),
        )


def write(
    path: Path, count: int, seed: int, encoding: str = "utf-8-sig", delimiter: str = ","
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, errors="replace", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(HEADER)
        w.writerows(rows(count, seed))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=2019)
    ap.add_argument("--out", type=Path, default=ROOT / "samples" / "contactos_demo.csv")
    ap.add_argument("--encoding", default="utf-8-sig", help='Excel\'s "CSV UTF-8"; try cp1252')
    ap.add_argument("--delimiter", default=",")
    args = ap.parse_args()
    write(args.out, args.rows, args.seed, args.encoding, args.delimiter)
    print(f"wrote {args.rows} rows to {args.out}")


if __name__ == "__main__":
    main()
