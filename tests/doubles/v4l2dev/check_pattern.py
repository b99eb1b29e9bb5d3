#!/usr/bin/python3
"""Check raw frames against the v4l2dev double's pattern, byte for byte.

usage: check_pattern.py FILE FOURCC WIDTH HEIGHT [--min-frames N]
FOURCC is YUYV, NV12 or YU12. Each frame must be exactly the pattern for the
counter stamped in its first 8 bytes (see README.md); counters must rise.
Prints the frame count, the counters' first/last and the gaps (frames the
device made that the file lacks)."""
import sys


def planes(fourcc, w, h):
    if fourcc == "YUYV":
        return [(h, w * 2)]
    if fourcc == "NV12":
        return [(h, w), (h // 2, w)]
    if fourcc == "YU12":
        return [(h, w), (h // 2, w // 2), (h // 2, w // 2)]
    raise SystemExit("unknown fourcc " + fourcc)


def expected(fourcc, w, h, n):
    out = bytearray()
    ramp = bytes(range(256)) * ((w * 2) // 256 + 2)
    for p, (rows, width) in enumerate(planes(fourcc, w, h)):
        for y in range(rows):
            base = (3 * y + 7 * n + 61 * p) & 0xff
            out += ramp[base:base + width]
    out[0:8] = n.to_bytes(8, "little")
    return bytes(out)


def main():
    path, fourcc, w, h = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    min_frames = int(sys.argv[sys.argv.index("--min-frames") + 1]) if "--min-frames" in sys.argv else 1
    size = sum(r * b for r, b in planes(fourcc, w, h))
    data = open(path, "rb").read()
    if len(data) % size:
        raise SystemExit(f"{path}: {len(data)} bytes is not a whole number of {size}-byte frames")
    counters = []
    for i in range(len(data) // size):
        frame = data[i * size:(i + 1) * size]
        n = int.from_bytes(frame[0:8], "little")
        want = expected(fourcc, w, h, n)
        if frame != want:
            bad = next(k for k in range(size) if frame[k] != want[k])
            raise SystemExit(f"{path}: frame {i} (counter {n}) differs at byte {bad}: "
                             f"{frame[bad]} != {want[bad]}")
        if counters and n <= counters[-1]:
            raise SystemExit(f"{path}: frame {i} counter {n} after {counters[-1]}")
        counters.append(n)
    if len(counters) < min_frames:
        raise SystemExit(f"{path}: {len(counters)} frames, want at least {min_frames}")
    gaps = sum(b - a - 1 for a, b in zip(counters, counters[1:]))
    print(f"frames={len(counters)} first={counters[0]} last={counters[-1]} gaps={gaps}")


main()
