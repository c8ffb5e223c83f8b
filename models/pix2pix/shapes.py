"""Synthetic paired data set: outline sketches -> shaded, coloured shapes.

Each example is built from a small list of shape descriptions drawn from a
seeded random generator.  The *input* is a black outline drawing (2-3 px
lines) on white; the *target* renders the very same shapes filled with a
colour fixed by the shape type (ellipse = red, rectangle = green,
triangle = blue), shaded with light coming from the top-left, outlined in a
darker tone of the same colour, with a soft grey drop shadow, on a light
warm-grey background.  Shapes never overlap, so the target is a
deterministic function of the sketch.

Both images are drawn at 2x resolution and box-filtered down to 128x128
(anti-aliasing).  All randomness comes from ``numpy.random.Generator``
instances seeded by the caller, so the data is reproducible.
"""
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 128
SS = 2                       # super-sampling factor
BG_SKETCH = (255, 255, 255)
BG_TARGET = np.array([238, 236, 228], dtype=np.float32)
COLOURS = {
    "ellipse": np.array([215, 45, 45], dtype=np.float32),
    "rectangle": np.array([40, 165, 70], dtype=np.float32),
    "triangle": np.array([45, 85, 215], dtype=np.float32),
}
KINDS = ("ellipse", "rectangle", "triangle")
SHADOW_OFFSET = (4, 4)       # pixels at 128x128, towards the bottom-right
SHADOW_STRENGTH = 0.35
SHADOW_BLUR = 3.0            # Gaussian radius at 128x128


def _polygon(kind, cx, cy, a, b, angle, rng):
    """Vertices (at 128x128 scale) of one shape."""
    ca, sa = math.cos(angle), math.sin(angle)

    def rot(px, py):
        return (cx + px * ca - py * sa, cy + px * sa + py * ca)

    if kind == "ellipse":
        return [rot(a * math.cos(t), b * math.sin(t))
                for t in np.linspace(0, 2 * math.pi, 96, endpoint=False)]
    if kind == "rectangle":
        return [rot(-a, -b), rot(a, -b), rot(a, b), rot(-a, b)]
    # triangle: three vertices on the ellipse (a, b) spread around the centre
    t0 = rng.uniform(0, 2 * math.pi)
    ts = [t0, t0 + rng.uniform(1.7, 2.5), t0 + rng.uniform(3.8, 4.6)]
    return [rot(a * math.cos(t), b * math.sin(t)) for t in ts]


def random_scene(rng):
    """List of non-overlapping shapes: dicts with kind, polygon, width."""
    n = int(rng.integers(1, 4))
    shapes, boxes = [], []
    tries = 0
    while len(shapes) < n and tries < 200:
        tries += 1
        kind = KINDS[int(rng.integers(0, 3))]
        r = rng.uniform(14, 34) if n > 1 else rng.uniform(20, 44)
        a = r
        b = r * rng.uniform(0.6, 1.0) if kind != "rectangle" else r * rng.uniform(0.45, 1.0)
        angle = rng.uniform(0, math.pi)
        if kind == "ellipse" and rng.uniform() < 0.4:
            b, angle = a, 0.0                      # plain circle
        if kind == "rectangle" and rng.uniform() < 0.5:
            angle = 0.0                            # axis aligned
        cx, cy = rng.uniform(8, SIZE - 8), rng.uniform(8, SIZE - 8)
        poly = _polygon(kind, cx, cy, a, b, angle, rng)
        xs = [p[0] for p in poly]
        ys = [p[1] for p in poly]
        box = (min(xs), min(ys), max(xs), max(ys))
        # keep the shape and its shadow inside the canvas
        if box[0] < 5 or box[1] < 5 or box[2] > SIZE - 10 or box[3] > SIZE - 10:
            continue
        # keep a gap (plus room for the shadow) to every other shape
        gap = 8
        if any(box[0] < o[2] + gap and o[0] < box[2] + gap and
               box[1] < o[3] + gap and o[1] < box[3] + gap for o in boxes):
            continue
        boxes.append(box)
        shapes.append({"kind": kind, "poly": poly, "box": box,
                       "width": int(rng.integers(2, 4))})
    return shapes


def _scaled(poly, dx=0.0, dy=0.0):
    return [((x + dx) * SS, (y + dy) * SS) for x, y in poly]


def _mask(poly, dx=0.0, dy=0.0):
    m = Image.new("L", (SIZE * SS, SIZE * SS), 0)
    ImageDraw.Draw(m).polygon(_scaled(poly, dx, dy), fill=255)
    return m


def _outline(draw, poly, width, fill):
    pts = _scaled(poly)
    draw.line(pts + [pts[0]], fill=fill, width=width * SS, joint="curve")
    r = width * SS / 2.0
    for x, y in pts:   # round the corners so outlines stay closed
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def _down(img):
    return img.resize((SIZE, SIZE), Image.BOX)


def render(shapes):
    """Return (sketch, target) as 128x128x3 uint8 RGB arrays."""
    # --- sketch -----------------------------------------------------------
    sk = Image.new("RGB", (SIZE * SS, SIZE * SS), BG_SKETCH)
    d = ImageDraw.Draw(sk)
    for s in shapes:
        _outline(d, s["poly"], s["width"], (0, 0, 0))
    sketch = np.asarray(_down(sk), dtype=np.uint8)

    # --- target -----------------------------------------------------------
    H = SIZE * SS
    img = np.broadcast_to(BG_TARGET, (H, H, 3)).copy()
    shadow = Image.new("L", (H, H), 0)
    for s in shapes:
        shadow.paste(255, mask=_mask(s["poly"], *SHADOW_OFFSET))
    shadow = shadow.filter(ImageFilter.GaussianBlur(SHADOW_BLUR * SS))
    sh = np.asarray(shadow, dtype=np.float32)[..., None] / 255.0
    img *= 1.0 - SHADOW_STRENGTH * sh

    yy, xx = np.mgrid[0:H, 0:H].astype(np.float32) / SS
    for s in shapes:
        x0, y0, x1, y1 = s["box"]
        # projection on the top-left -> bottom-right diagonal of the box
        t = ((xx - x0) + (yy - y0)) / max((x1 - x0) + (y1 - y0), 1e-3)
        t = np.clip(t, 0.0, 1.0)[..., None]
        shade = 1.22 - 0.5 * t                       # bright top-left
        col = np.clip(COLOURS[s["kind"]] * shade, 0, 255)
        m = np.asarray(_mask(s["poly"]), dtype=np.float32)[..., None] / 255.0
        img = img * (1 - m) + col * m
    timg = Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(timg)
    for s in shapes:
        dark = tuple(int(c) for c in (COLOURS[s["kind"]] * 0.55))
        _outline(d, s["poly"], s["width"], dark)
    target = np.asarray(_down(timg), dtype=np.uint8)
    return sketch, target


def make_pair(rng):
    return render(random_scene(rng))


def make_batch(rng, n):
    """n pairs as uint8 arrays of shape (n, 128, 128, 3)."""
    sk, tg = zip(*(make_pair(rng) for _ in range(n)))
    return np.stack(sk), np.stack(tg)


def to_tensor_units(u8):
    """uint8 NHWC RGB -> float32 NCHW in [-1, 1] (pixel / 127.5 - 1)."""
    x = u8.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def to_uint8(x):
    """float NCHW in [-1, 1] -> uint8 NHWC (rounded)."""
    x = np.asarray(x, dtype=np.float64)
    u = np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)
    return u.transpose(0, 2, 3, 1)
