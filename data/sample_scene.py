"""Analytic street scene behind the sample dataset (see ``data/sample_video.py`` for the conventions).

A camera slides sideways along a street. Every layer is a function of continuous coordinates, so each
pixel's motion is known exactly:

* sky: static layer at infinity (flow 0);
* buildings: one layer at a fixed depth panning with screen velocity ``vb`` (flow ``(vb, 0)``);
* ground (sidewalk, then road): a plane whose row ``y`` pans with ``vb * (y - y_horizon) / (y_buildings -
  y_horizon)`` (motion parallax), textured in perspective world coordinates;
* sprites drawn back to front by the row of their ground contact: lamp poles and trees (moving with the
  ground under them), cars and pedestrians (ground motion plus their own velocity). A sprite keeps its shape
  and moves with a constant screen velocity ``(vx, vy)``, which is its flow.

Textures and shading depend on layer or object coordinates only (smooth value noise of a seeded lattice,
sinusoids, soft-edged shapes), never on the screen, so brightness constancy holds. Internal colour edges are
soft (about 2 px) so that bilinear resampling of the rendered frames is accurate; region (label) edges are
hard and sampled at pixel centres.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROAD, SIDEWALK, BUILDING, POLE, VEGETATION, SKY, PERSON, CAR = 7, 8, 11, 17, 21, 23, 24, 26
CLASS_NAMES = {ROAD: "road", SIDEWALK: "sidewalk", BUILDING: "building", POLE: "pole",
               VEGETATION: "vegetation", SKY: "sky", PERSON: "person", CAR: "car"}
INSTANCE_CLASSES = (PERSON, CAR)  # the classes whose instance map value is label * 1000 + k

# Scene rows as fractions of the height: horizon, base of the buildings, sidewalk/road boundary (curb).
Y_HORIZON, Y_BUILDINGS, Y_CURB = 0.36, 0.56, 0.66

# ----------------------------------------------------------------------------------------------- helpers
def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    s = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return s * s * (3.0 - 2.0 * s)


def _soft(sd: np.ndarray, w: float = 0.9) -> np.ndarray:
    """1 inside a shape (signed distance ``sd`` < 0), 0 outside, smooth across +-``w`` pixels."""
    return _smoothstep(w, -w, sd)


def _sd_box(x, y, cx: float, cy: float, hw: float, hh: float, r: float = 0.0) -> np.ndarray:
    """Signed distance to an axis-aligned box (centre, half sizes) with corner radius ``r``."""
    qx = np.abs(x - cx) - hw + r
    qy = np.abs(y - cy) - hh + r
    return np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - r


def _sd_circle(x, y, cx: float, cy: float, r: float) -> np.ndarray:
    return np.hypot(x - cx, y - cy) - r


def _noise(grid: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smooth value noise in [-1, 1]: the periodic lattice ``grid`` (gh, gw) interpolated at real (x, y)
    lattice coordinates with smoothstep weights (C1, so bilinear resampling of the picture stays accurate)."""
    gh, gw = grid.shape
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    ix, iy = x0.astype(np.int64) % gw, y0.astype(np.int64) % gh
    ix1, iy1 = (ix + 1) % gw, (iy + 1) % gh
    a, b, c, d = grid[iy, ix], grid[iy, ix1], grid[iy1, ix], grid[iy1, ix1]
    return a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy


def _fbm(grid: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 0.65 * _noise(grid, x, y) + 0.35 * _noise(grid, 2.03 * x + 17.0, 2.03 * y + 5.0)


def _mix(a: np.ndarray, b, w: np.ndarray) -> np.ndarray:
    """Blend colours ``a`` (..., 3) -> ``b`` with weight ``w`` (...)."""
    return a + (np.asarray(b) - a) * w[..., None]


# ------------------------------------------------------------------------------------------------- scene
@dataclass
class Sprite:
    """A rigid object moving with constant screen velocity; anchor = bottom centre (ground contact)."""

    kind: str  # "car" | "person" | "pole" | "tree"
    label: int
    inst: int  # value written to the instance map
    x0: float  # anchor at frame 0, pixels
    y0: float
    vx: float  # screen velocity, pixels / frame (this is the sprite's optical flow)
    vy: float
    size: float  # car length / person height / pole height / tree height, pixels
    color: np.ndarray  # (3,) base colour in [0, 1]
    facing: int  # +1 faces right, -1 left
    phase: np.ndarray  # (4,) random numbers for texture offsets and shape details

    def anchor(self, t: int) -> tuple[float, float]:
        return self.x0 + self.vx * t, self.y0 + self.vy * t

    def extent(self) -> tuple[float, float, float]:
        """(half width, height above the anchor, depth below it) bounding the shape, pixels."""
        s = self.size
        return {"car": (0.52 * s, 0.43 * s, 1.0), "person": (0.22 * s, 1.0 * s, 1.0),
                "pole": (0.2 * s + 2, 1.0 * s, 1.0), "tree": (0.36 * s, 1.0 * s, 1.0)}[self.kind]


@dataclass
class Scene:
    """One sequence's street: static sky, a panning building layer, the ground plane and the sprites."""

    width: int
    height: int
    vb: float  # building layer screen velocity (pixels / frame); sky is static
    edges: np.ndarray  # (n + 1,) building edges along the building layer, pixels
    tops: np.ndarray  # (n,) top row of each building
    tints: np.ndarray  # (n, 3) per-building colour factor
    sprites: list[Sprite]
    grid: np.ndarray  # (64, 64) noise lattice shared by all textures of this sequence

    @property
    def rows(self) -> tuple[float, float, float]:
        h = self.height
        return Y_HORIZON * h, Y_BUILDINGS * h, Y_CURB * h

    def ground_velocity(self, y) -> np.ndarray:
        """Screen velocity of the ground plane at row ``y`` (parallax grows linearly below the horizon)."""
        yh, yb, _ = self.rows
        return self.vb * (np.asarray(y, np.float64) - yh) / (yb - yh)


def make_scene(rng: np.random.Generator, width: int, height: int, n_frames: int) -> Scene:
    """Draw one sequence's street: buildings, poles, trees, cars and pedestrians."""
    W, H, T = width, height, n_frames
    vscale = W / 256.0
    vb = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.2) * vscale)
    scene = Scene(W, H, vb, np.zeros(1), np.zeros(0), np.zeros((0, 3)), [], rng.uniform(-1, 1, (64, 64)))
    yh, yb, ys = scene.rows
    half = (T - 1) / 2.0

    # Buildings along the building layer, covering every layer coordinate seen during the sequence.
    span = abs(vb) * (T - 1)
    edges = [-span - float(rng.uniform(0.1, 0.5)) * H]
    while edges[-1] < W + span:
        edges.append(edges[-1] + float(rng.uniform(0.35, 0.85)) * H)
    n = len(edges) - 1
    scene.edges = np.array(edges)
    scene.tops = rng.uniform(0.04, 0.42, n) * H
    scene.tints = 1.0 + rng.uniform(-0.12, 0.12, (n, 3))

    def add(kind, label, inst, x_mid, y_base, own_vx, vy, size, color):
        vx = float(scene.ground_velocity(y_base)) + own_vx
        scene.sprites.append(Sprite(kind, label, inst, x_mid - vx * half, y_base - vy * half, vx, vy, size,
                                    np.asarray(color, np.float64), 1 if own_vx >= 0 else -1,
                                    rng.uniform(0, 1, 4)))

    # Street furniture at mid-sequence positions spaced along the street: poles at the curb, trees behind.
    x = float(rng.uniform(-0.25, -0.05)) * W
    kind = int(rng.integers(2))
    while x < 1.25 * W:
        if kind == 0:
            base = ys - rng.uniform(0.0, 0.02) * H
            add("pole", POLE, POLE, x, base, 0.0, 0.0, 1.55 * (base - yh), (0.45, 0.46, 0.48))
        else:
            base = yb + rng.uniform(0.3, 0.6) * (ys - yb)
            add("tree", VEGETATION, VEGETATION, x, base, 0.0, 0.0, rng.uniform(1.9, 2.4) * (base - yh),
                (0.22, 0.42, 0.15) * rng.uniform(0.9, 1.1, 3))
        kind = 1 - kind
        x += float(rng.uniform(0.17, 0.3)) * W

    # Cars on the road (own velocity along the street), pedestrians mostly on the sidewalk.
    for k in range(int(rng.integers(3, 6))):
        base = rng.uniform(ys + 0.12 * (H - ys), H - 0.02 * H)
        x_mid = rng.uniform(0.3, 0.7) * W if k == 0 else rng.uniform(-0.2, 1.2) * W
        own = rng.choice([-1.0, 1.0]) * rng.uniform(0.4, 1.6) * vscale
        color = np.array((0.22, 0.32, 0.62)) * rng.uniform(0.85, 1.15, 3)
        add("car", CAR, CAR * 1000 + k, x_mid, base, own, 0.0, 1.1 * (base - yh), color)
    for k in range(int(rng.integers(3, 7))):
        on_road = k > 0 and rng.uniform() < 0.25
        lo, hi = (ys, 0.95 * H) if on_road else (yb + 0.25 * (ys - yb), ys)
        base = rng.uniform(lo, hi)
        x_mid = rng.uniform(0.3, 0.7) * W if k == 0 else rng.uniform(-0.1, 1.1) * W
        own = rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 0.5) * vscale
        vy = rng.uniform(-0.08, 0.08) * H / 128.0
        color = np.array((0.72, 0.22, 0.24)) * rng.uniform(0.85, 1.15, 3)
        add("person", PERSON, PERSON * 1000 + k, x_mid, base, own, vy, 0.62 * (base - yh), color)
    return scene


# ------------------------------------------------------------------------------------------------ render
def _render_background(scene: Scene, t: int, xs: np.ndarray, ys: np.ndarray):
    """Sky, buildings and ground at frame ``t`` on the pixel-centre grids xs, ys (H, W)."""
    H, W = xs.shape
    yh, yb, yc = scene.rows
    g = scene.grid
    label = np.full((H, W), SKY, np.uint8)
    flow = np.zeros((H, W, 2), np.float64)

    # Sky (static, so screen coordinates are its own): vertical gradient with soft clouds.
    a = np.clip(ys / max(yb, 1.0), 0, 1)[..., None]
    rgb = (1 - a) * np.array([0.50, 0.66, 0.90]) + a * np.array([0.78, 0.85, 0.93])
    cloud = _smoothstep(0.05, 0.6, _fbm(g, xs / (0.35 * H), ys / (0.12 * H) + 9.0))
    rgb = _mix(rgb, (0.95, 0.95, 0.97), 0.7 * cloud)

    # Buildings: layer coordinate X = x - vb * t.
    X = xs - scene.vb * t
    idx = np.clip(np.searchsorted(scene.edges, X, side="right") - 1, 0, len(scene.tops) - 1)
    bmask = (ys >= scene.tops[idx]) & (ys < yb)
    inner = scene.edges[1:-1]
    d_edge = X[..., None] - inner  # (H, W, n-1)
    steps = _smoothstep(-1.0, 1.0, d_edge)[..., None] * (scene.tints[1:] - scene.tints[:-1])
    tint = scene.tints[0] + steps.sum(axis=-2)
    facade = np.array([0.58, 0.47, 0.40]) * tint * (0.8 + 0.2 * (1 - ys / yb))[..., None]
    facade *= (1 + 0.2 * _fbm(g, X / 4.5 + 3.0, ys / 4.5))[..., None]
    facade = _mix(facade, (0.25, 0.24, 0.23), 0.6 * np.exp(-0.5 * (d_edge / 1.3) ** 2).sum(-1))
    sx, sy = max(0.09 * H, 6.0), max(0.1 * H, 6.0)
    win = _sd_box(np.mod(X, sx), np.mod(ys - yb, sy), sx / 2, sy / 2, 0.26 * sx, 0.3 * sy, 0.5)
    near_edge = np.abs(d_edge).min(axis=-1) if d_edge.shape[-1] else np.full((H, W), np.inf)
    keep = _smoothstep(0.25 * sx, 0.6 * sx, near_edge) * _smoothstep(0.5 * sy, sy, ys - scene.tops[idx])
    keep *= _smoothstep(0.0, 0.5 * sy, yb - ys)
    glass = _mix(np.array([0.20, 0.24, 0.30]), (0.45, 0.52, 0.60), 0.5 + 0.5 * _noise(g, X / 20, ys / 40 + 20))
    facade = _mix(facade, glass, _soft(win, 1.3) * keep)
    rgb[bmask] = facade[bmask]
    label[bmask] = BUILDING
    flow[bmask, 0] = scene.vb

    # Ground plane in perspective world coordinates: gx moves uniformly, rows keep their depth.
    gmask = ys >= yb
    d = np.maximum(ys - yh, 1.0)
    gv = scene.ground_velocity(ys)
    gx = (xs - gv * t) / d * (0.2 * H)  # lateral world coordinate, ~pixels at the building base
    gz = (0.2 * H) * (0.2 * H) / d  # depth coordinate, same units
    road = ys >= yc
    side = gmask & ~road
    tile = max(0.08 * H, 10.0)  # paving slabs; joints are soft lines about 1 px wide at the far edge
    joint = np.minimum(np.abs(np.mod(gx + tile / 2, tile) - tile / 2),  # distance to the nearest joint
                       np.abs(np.mod(gz + tile / 4, tile / 2) - tile / 4))
    walk = np.array([0.63, 0.59, 0.53]) * (1 + 0.2 * _fbm(g, gx / 4.5, gz / 4.5 + 30))[..., None]
    walk = _mix(walk, (0.45, 0.43, 0.40), 0.5 * np.exp(-0.5 * joint ** 2))
    asphalt = np.array([0.33, 0.33, 0.35]) * (1 + 0.2 * _fbm(g, gx / 3.5 + 50, gz / 3.5))[..., None]
    lane_row = yc + 0.45 * (H - yc)
    dash = _smoothstep(-0.3, 0.3, np.cos(2 * np.pi * gx / (0.6 * H * 0.2)))
    lane = np.exp(-0.5 * ((ys - lane_row) / max(0.5, 0.012 * H)) ** 2) * dash
    asphalt = _mix(asphalt, (0.85, 0.84, 0.78), lane)
    curb = np.exp(-0.5 * ((ys - yc) / max(0.5, 0.01 * H)) ** 2)
    asphalt = _mix(asphalt, (0.2, 0.2, 0.2), 0.6 * curb)
    rgb[side], rgb[road] = walk[side], asphalt[road]
    label[side], label[road] = SIDEWALK, ROAD
    flow[gmask, 0] = gv[gmask]
    return label, rgb, flow


def _sprite_shape(s: Sprite, u: np.ndarray, v: np.ndarray, g: np.ndarray):
    """Mask and colour of sprite ``s`` at local coordinates (u to the facing side, v = rows below anchor)."""
    L, c, ph = s.size, s.color, s.phase
    nz = _fbm(g, (u + 97 * ph[0]) / max(0.06 * L, 3.0), (v + 97 * ph[1]) / max(0.06 * L, 3.0))
    if s.kind == "car":
        body = _sd_box(u, v, 0, -0.17 * L, 0.5 * L, 0.11 * L, 0.05 * L)
        cabin = _sd_box(u, v, -0.05 * L, -0.33 * L, 0.27 * L, 0.075 * L, 0.05 * L)
        glass = _sd_box(u, v, -0.05 * L, -0.33 * L, 0.22 * L, 0.048 * L, 0.02 * L)
        wheel = np.minimum(_sd_circle(u, v, 0.3 * L, -0.08 * L, 0.08 * L),
                           _sd_circle(u, v, -0.3 * L, -0.08 * L, 0.08 * L))
        mask = (np.minimum(np.minimum(body, cabin), wheel) < 0)
        rgb = c * ((0.75 + 0.45 * _smoothstep(0, 0.4 * L, -v)) * (1 + 0.1 * nz))[..., None]  # lit from above
        rgb = _mix(rgb, (0.12, 0.15, 0.22) + 0.1 * _smoothstep(-0.4 * L, -0.28 * L, v)[..., None], _soft(glass))
        rgb = _mix(rgb, (0.95, 0.85, 0.5), _soft(_sd_box(u, v, 0.47 * L, -0.2 * L, 0.03 * L, 0.025 * L)))
        rgb = _mix(rgb, (0.8, 0.1, 0.1), _soft(_sd_box(u, v, -0.47 * L, -0.2 * L, 0.03 * L, 0.025 * L)))
        rgb = _mix(rgb, (0.07, 0.07, 0.08), _soft(wheel))
        return mask, rgb
    if s.kind == "person":
        head = _sd_circle(u, v, 0, -0.91 * L, 0.075 * L)
        torso = _sd_box(u, v, 0, -0.64 * L, 0.12 * L, 0.19 * L, 0.05 * L)
        arms = _sd_box(np.abs(u), v, 0.15 * L, -0.63 * L, 0.035 * L, 0.17 * L, 0.03 * L)
        legs = _sd_box(np.abs(u), v, 0.055 * L, -0.23 * L, 0.045 * L, 0.24 * L, 0.02 * L)
        mask = np.minimum(np.minimum(head, torso), np.minimum(arms, legs)) < 0
        shade = (0.8 + 0.2 * np.cos(np.clip(u / (0.2 * L), -1.5, 1.5)))[..., None]
        rgb = np.broadcast_to(c, u.shape + (3,)) * shade * (1 + 0.05 * nz)[..., None]
        rgb = _mix(rgb, np.array((0.18, 0.2, 0.28)) * shade, _soft(legs) * _smoothstep(-0.5, 0.5, v + 0.45 * L))
        return mask, _mix(rgb, (0.86, 0.66, 0.52), _soft(head))
    if s.kind == "pole":
        w = max(0.025 * L, 0.7)
        shaft = _sd_box(u, v, 0, -0.5 * L, w, 0.5 * L)
        arm = _sd_box(u, v, 0.09 * L, -0.98 * L, 0.09 * L, max(0.012 * L, 0.6))
        lamp = _sd_box(u, v, 0.17 * L, -0.96 * L, 0.03 * L, max(0.018 * L, 0.7), 0.2)
        mask = np.minimum(np.minimum(shaft, arm), lamp) < 0
        rgb = c * (0.75 + 0.35 * np.cos(np.clip(u / (2 * w), -1.5, 1.5)))[..., None]
        return mask, _mix(rgb, (0.95, 0.92, 0.75), _soft(lamp + 0.01 * L))
    # tree: trunk and a lumpy canopy (the outline is fixed in local coordinates)
    trunk = _sd_box(u, v, 0, -0.3 * L, max(0.03 * L, 0.8), 0.3 * L)
    rx, ry, cy = 0.26 * L, 0.3 * L, -0.68 * L
    ang = np.arctan2(v - cy, u)
    wobble = 1 + 0.1 * np.sin(5 * ang + 6.3 * ph[2]) + 0.06 * np.sin(3 * ang + 6.3 * ph[3])
    canopy = (np.hypot(u / rx, (v - cy) / ry) - wobble) * min(rx, ry)
    mask = np.minimum(trunk, canopy) < 0
    leaves = c * (0.85 + 0.25 * _smoothstep(0.3 * L, -0.3 * L, u + (v - cy)))[..., None]
    leaves *= (1 + 0.3 * nz)[..., None]
    bark = np.array((0.36, 0.26, 0.17)) * (0.85 + 0.15 * np.cos(np.clip(u / max(0.06 * L, 1.6), -1.5, 1.5)))[..., None]
    return mask, _mix(bark, leaves, _soft(canopy))


def render_frame(scene: Scene, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Frame ``t``: label (H, W) uint8, instance (H, W) uint16, RGB (H, W, 3) uint8, flow t->t+1 (H, W, 2) f32."""
    H, W = scene.height, scene.width
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    label, rgb, flow = _render_background(scene, t, xs, ys)
    inst = label.astype(np.uint16)
    for s in sorted(scene.sprites, key=lambda s: (s.anchor(t)[1], s.inst)):  # back to front
        ax, ay = s.anchor(t)
        hw, up, down = s.extent()
        x0, x1 = max(int(np.floor(ax - hw)), 0), min(int(np.ceil(ax + hw)) + 1, W)
        y0, y1 = max(int(np.floor(ay - up)), 0), min(int(np.ceil(ay + down)) + 1, H)
        if x0 >= x1 or y0 >= y1:
            continue
        u = (xs[y0:y1, x0:x1] - ax) * s.facing
        v = ys[y0:y1, x0:x1] - ay
        mask, col = _sprite_shape(s, u, v, scene.grid)
        box = (slice(y0, y1), slice(x0, x1))
        rgb[box][mask] = col[mask]
        label[box][mask] = s.label
        inst[box][mask] = s.inst
        flow[box][mask] = (s.vx, s.vy)
    img = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    return label, inst, img, flow.astype(np.float32)


def render_sequence(seed: int, width: int, height: int, n_frames: int) -> dict[str, np.ndarray]:
    """Render a sequence in memory: ``label`` (T, H, W) uint8, ``inst`` (T, H, W) uint16, ``image``
    (T, H, W, 3) uint8 and ``flow`` (T - 1, H, W, 2) float32 (frame t -> t + 1).

    ``seed`` seeds this one sequence; the dataset writer derives it per sequence with
    ``data.sample_video.sequence_seed(seed, split, index)``, so ``render_sequence(sequence_seed(0, "train", 1),
    ...)`` gives the frames of ``train_*/seq0001`` of a ``--seed 0`` dataset with the same size and length.
    """
    scene = make_scene(np.random.default_rng(seed), width, height, n_frames)
    frames = [render_frame(scene, t) for t in range(n_frames)]
    return {"label": np.stack([f[0] for f in frames]), "inst": np.stack([f[1] for f in frames]),
            "image": np.stack([f[2] for f in frames]), "flow": np.stack([f[3] for f in frames[:-1]])}
