"""Generate realistic IMR letter variants from the sample letters, for benchmarks and tests.

Plain Python, no Django: the benchmarks under ``bench/`` and the tests import it from here.

Each variant keeps a sample's layout and wording but gets its own patient age, dates, disputed
requests (medications, imaging, injections, surgery, equipment, consultations on every body
region and side), outcomes and case reference, so every variant is a distinct letter.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "letters"

REQUESTS = [
    "Oxycodone 10mg #120",
    "Lidoderm 5% patch #30",
    "Norco 10/325mg #90",
    "Omeprazole 20mg #60",
    "Tramadol ER 150mg #30",
    "Gabapentin 600mg #90",
    "Cyclobenzaprine 7.5mg #60",
    "Right shoulder MRI",
    "MRI of the Cervical Spine",
    "Left knee arthroscopy",
    "Left L5-S1 transforaminal epidural injection",
    "Bilateral L4-5 facet injections",
    "EMG/NCV of the bilateral upper extremities",
    "Physical therapy 2x6 for the right wrist",
    "Acupuncture 6 sessions for the lumbar spine",
    "Chiropractic treatment 2 x 4 for the neck",
    "TENS unit for home use",
    "Orthopedic surgeon consultation for the left hip",
    "Functional restoration program 160 hours",
    "Urine drug screen",
    "X-ray of the right ankle",
    "Trigger point injections x4 to the cervical paraspinals",
]

_HEADING = re.compile(
    r"^(?P<request>[^\n:]{3,160}):[ \t]+(?P<outcome>Upheld|Overturned)[ \t]*$", re.M
)
_AGE = re.compile(r"\b(\d{2})([- ]year[- ]old)")
_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_SUMMARY = re.compile(r"(case file, including all medical records:\s*\n)")


def samples() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]


def variant(text: str, rng: random.Random, serial: int) -> str:
    """One distinct letter in the layout of ``text``."""
    text = _AGE.sub(lambda m: f"{rng.randint(19, 79)}{m.group(2)}", text)
    text = _DATE.sub(
        lambda m: f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(2005, 2016)}", text
    )
    text = _HEADING.sub(
        lambda m: f"{rng.choice(REQUESTS)}:  {rng.choice(['Upheld', 'Overturned'])}", text
    )
    return _SUMMARY.sub(
        lambda m: f"{m.group(1)}\nCase reference {serial:08d}.  \n\n", text, count=1
    )


def letters(count: int, seed: int = 2026) -> Iterator[tuple[str, str]]:
    """``count`` (name, text) pairs, reproducible for a seed."""
    rng = random.Random(seed)
    base = samples()
    for serial in range(count):
        yield f"generated_{serial:07d}.txt", variant(base[serial % len(base)], rng, serial)


def write(directory: Path, count: int, seed: int = 2026) -> list[Path]:
    """Write ``count`` variants as text files under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in letters(count, seed):
        path = directory / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
