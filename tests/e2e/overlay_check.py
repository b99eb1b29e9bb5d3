#!/usr/bin/python3
"""Compares pictures with and without the overlay (tests/e2e/overlay.sh).

overlay_check.py raw W H FMT PLAIN OVERLAID
    Raw pictures: outside one rectangle near the top-left corner every
    byte (luma and chroma) is identical; inside it most luma differs; the
    rectangle's content changes exactly once a second (every 30 frames).
    Prints the rectangle as "x0 y0 x1 y1".
overlay_check.py decoded W H X0 Y0 X1 Y1 PLAIN OVERLAID
    Decoded I420 from the encoded files: mean luma difference large inside
    the rectangle and small outside it (the encoder is lossy).
"""
import sys


def frames(path, size):
    data = open(path, "rb").read()
    if len(data) % size:
        sys.exit(f"{path}: {len(data)} bytes is not a whole number of frames")
    return [data[i:i + size] for i in range(0, len(data), size)]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check_raw(w, h, fmt, plain_path, ov_path):
    cw, ch = (w + 1) // 2, (h + 1) // 2
    size = w * h + 2 * cw * ch
    plain, ov = frames(plain_path, size), frames(ov_path, size)
    if len(plain) != len(ov) or not plain:
        fail(f"{len(plain)} plain frames, {len(ov)} overlaid")
    x0, y0, x1, y1 = w, h, 0, 0
    for a, b in zip(plain, ov):
        for y in range(h):
            ra, rb = a[y * w:(y + 1) * w], b[y * w:(y + 1) * w]
            if ra == rb:
                continue
            xs = [x for x in range(w) if ra[x] != rb[x]]
            x0, x1 = min(x0, xs[0]), max(x1, xs[-1] + 1)
            y0, y1 = min(y0, y), max(y1, y + 1)
    if x1 <= x0:
        fail("the overlay changed no pixel")
    if x0 < 16 or y0 < 16 or x1 > w // 2 or y1 > h // 2:
        fail(f"pixels changed at {x0},{y0}-{x1},{y1}: outside the "
             "top-left text box")
    # Chroma outside the box's chroma cells is untouched too.
    cx0, cy0, cx1, cy1 = x0 // 2, y0 // 2, (x1 + 1) // 2, (y1 + 1) // 2
    for n, (a, b) in enumerate(zip(plain, ov)):
        ca, cb = a[w * h:], b[w * h:]
        for i in range(len(ca)):
            if ca[i] == cb[i]:
                continue
            if fmt == "nv12":
                y, x = divmod(i, 2 * cw)
                x //= 2
            else:
                y, x = divmod(i % (cw * ch), cw)
            if not (cx0 <= x < cx1 and cy0 <= y < cy1):
                fail(f"frame {n}: chroma changed at cell {x},{y}, "
                     "outside the text box")
    # Most of the (opaque) box differs from the picture below it.
    diff = sum(1 for y in range(y0, y1) for x in range(x0, x1)
               if plain[0][y * w + x] != ov[0][y * w + x])
    if diff < (x1 - x0) * (y1 - y0) // 2:
        fail(f"only {diff} pixels of the box differ")
    # The box holds the clock only (it is opaque): it changes once a
    # second, i.e. every 30 frames at 30 fps.
    def box(f):
        return b"".join(f[y * w + x0:y * w + x1] for y in range(y0, y1))
    changes = [n for n in range(1, len(ov)) if box(ov[n]) != box(ov[n - 1])]
    if not changes:
        fail("the time string never changed")
    gaps = [b - a for a, b in zip(changes, changes[1:])]
    if any(g != 30 for g in gaps) or len(changes) < len(ov) // 30 - 1:
        fail(f"the text changed at frames {changes}: not once a second")
    print(f"{x0} {y0} {x1} {y1}")
    print(f"ok: text changed at frames {changes}", file=sys.stderr)


def check_decoded(w, h, rect, plain_path, ov_path):
    x0, y0, x1, y1 = rect
    size = w * h * 3 // 2
    plain, ov = frames(plain_path, size), frames(ov_path, size)
    if len(plain) != len(ov):
        fail(f"{len(plain)} plain pictures decoded, {len(ov)} overlaid")
    din = dout = nin = nout = 0
    for a, b in zip(plain, ov):
        for y in range(h):
            for x in range(w):
                d = abs(a[y * w + x] - b[y * w + x])
                if x0 <= x < x1 and y0 <= y < y1:
                    din, nin = din + d, nin + 1
                else:
                    dout, nout = dout + d, nout + 1
    mi, mo = din / nin, dout / nout
    print(f"decoded: mean luma difference {mi:.1f} inside the box, "
          f"{mo:.2f} outside", file=sys.stderr)
    if mi < 20 or mo > 1.0:
        fail("the encoded overlay is not where it was drawn")


if sys.argv[1] == "raw":
    check_raw(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5],
              sys.argv[6])
else:
    check_decoded(int(sys.argv[2]), int(sys.argv[3]),
                  [int(v) for v in sys.argv[4:8]], sys.argv[8], sys.argv[9])
