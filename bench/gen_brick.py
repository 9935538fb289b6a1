#!/usr/bin/env python3
"""Writes a deterministic Brick model of N entities (default 100000) to stdout: one site,
one building, floors of 20 rooms, an AHU per floor feeding a VAV per room, and points on
every VAV and AHU. Used by bench/import.sh."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
out = sys.stdout
out.write("@prefix brick: <https://brickschema.org/schema/Brick#> .\n")
out.write("@prefix ex: <http://example.com/bench#> .\n")
count = 0

def emit(line):
    global count
    out.write(line + "\n")
    count += 1

emit("ex:site a brick:Site ; brick:hasPart ex:bldg .")
emit("ex:bldg a brick:Building .")
floor = 0
while count < n:
    floor += 1
    f = f"floor-{floor}"
    emit(f"ex:{f} a brick:Floor ; brick:isPartOf ex:bldg .")
    if count >= n:
        break
    emit(f"ex:ahu-{floor} a brick:AHU ; brick:hasLocation ex:{f} .")
    for room in range(1, 21):
        if count >= n:
            break
        r = f"room-{floor}-{room}"
        emit(f"ex:{r} a brick:Room ; brick:isPartOf ex:{f} .")
        if count >= n:
            break
        v = f"vav-{floor}-{room}"
        emit(f"ex:{v} a brick:VAV ; brick:hasLocation ex:{r} ; brick:isFedBy ex:ahu-{floor} .")
        for p in ("Zone_Air_Temperature_Sensor", "Zone_Air_Temperature_Setpoint", "Damper_Position_Command"):
            if count >= n:
                break
            emit(f"ex:{v}-{p.lower()} a brick:{p} ; brick:isPointOf ex:{v} .")
