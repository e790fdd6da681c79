"""Drawn people for the synthetic re-identification datasets.

Everything here is a pure function of a ``numpy.random.Generator``: an identity's look
(:class:`Appearance`), a camera's conditions (:class:`Camera`), a walk through a tracklet
(:func:`walk`, one :class:`Pose` per frame) and an optional static occluder (:class:`Occluder`).
:func:`render_person` draws one frame with PIL at twice the output size and reduces it, then
applies the camera's illumination gain, colour cast, blur and sensor noise.

Identities draw their colours from a small shared palette (with jitter), so several of them look
alike and colour alone does not separate them; the camera transform shifts colours between views.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import SupportsInt

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

__all__ = [
    "Appearance",
    "Camera",
    "Occluder",
    "Pose",
    "random_appearance",
    "random_camera",
    "random_occluder",
    "render_junk",
    "render_person",
    "walk",
]

RGB = tuple[int, int, int]

#: Drawing happens at this multiple of the output size, then the image is box-reduced.
SUPERSAMPLE = 2

TOP_PALETTE: tuple[RGB, ...] = (
    (30, 30, 34),  # black
    (228, 228, 222),  # white
    (128, 128, 132),  # grey
    (32, 42, 92),  # navy
    (52, 92, 182),  # blue
    (172, 40, 42),  # red
    (52, 122, 62),  # green
    (212, 182, 52),  # yellow
    (216, 132, 162),  # pink
    (102, 62, 142),  # purple
    (222, 122, 42),  # orange
    (202, 182, 142),  # beige
)
BOTTOM_PALETTE: tuple[RGB, ...] = (
    (28, 28, 32),  # black
    (30, 38, 80),  # navy
    (62, 82, 122),  # denim
    (110, 110, 114),  # grey
    (172, 152, 102),  # khaki
    (92, 62, 42),  # brown
    (222, 222, 216),  # white
)
#: Bottoms are mostly dark, as in street scenes.
BOTTOM_WEIGHTS = np.array([0.26, 0.18, 0.22, 0.12, 0.1, 0.07, 0.05])
SKIN_TONES: tuple[RGB, ...] = (
    (241, 204, 177),
    (224, 172, 138),
    (198, 134, 100),
    (141, 85, 54),
    (92, 58, 40),
)
HAIR_COLOURS: tuple[RGB, ...] = (
    (20, 15, 10),
    (58, 40, 26),
    (122, 86, 50),
    (192, 162, 102),
    (142, 142, 142),
)
PATTERNS = ("plain", "stripes", "checks", "two-tone")
PATTERN_WEIGHTS = np.array([0.5, 0.2, 0.15, 0.15])
BAGS = ("none", "backpack", "handbag")
BAG_WEIGHTS = np.array([0.55, 0.3, 0.15])


def _rgb(values: Iterable[SupportsInt]) -> RGB:
    """Three channel values as an RGB tuple of Python ints."""
    red, green, blue = (int(v) for v in values)
    return red, green, blue


def _jitter(rng: np.random.Generator, colour: RGB, amount: int = 16) -> RGB:
    c = np.asarray(colour, dtype=np.int64) + rng.integers(-amount, amount + 1, 3)
    return _rgb(np.clip(c, 0, 255))


def _pick(rng: np.random.Generator, options: tuple, weights: np.ndarray | None = None):
    index = int(rng.choice(len(options), p=weights))
    return options[index]


def _shade(colour: RGB, factor: float) -> RGB:
    return _rgb(min(255, max(0, round(v * factor))) for v in colour)


@dataclass(frozen=True)
class Appearance:
    """What one identity looks like, independent of camera and frame."""

    top: RGB
    accent: RGB  # second colour of stripes, checks or the lower half of a two-tone top
    pattern: str  # one of PATTERNS
    period: float  # stripe/check period as a fraction of the torso height
    sleeves: str  # "long" or "short"
    bottom: RGB
    shorts: bool
    skin: RGB
    hair: RGB
    hair_length: float  # 0 (short) .. 1 (long, down to the shoulder blades)
    shoes: RGB
    height: float  # person height as a fraction of the image height
    shoulders: float  # shoulder width as a fraction of the person height
    legs: float  # leg length as a fraction of the person height
    bag: str  # one of BAGS
    bag_colour: RGB


def random_appearance(rng: np.random.Generator) -> Appearance:
    """Draw one identity's look."""
    top = _jitter(rng, _pick(rng, TOP_PALETTE))
    pattern = _pick(rng, PATTERNS, PATTERN_WEIGHTS)
    accent = _jitter(rng, _pick(rng, TOP_PALETTE))
    bottom = _jitter(rng, _pick(rng, BOTTOM_PALETTE, BOTTOM_WEIGHTS))
    long_hair = rng.random() < 0.35
    return Appearance(
        top=top,
        accent=accent,
        pattern=pattern,
        period=float(rng.uniform(0.16, 0.34)),
        sleeves="long" if rng.random() < 0.6 else "short",
        bottom=bottom,
        shorts=bool(rng.random() < 0.15),
        skin=_jitter(rng, _pick(rng, SKIN_TONES), 8),
        hair=_jitter(rng, _pick(rng, HAIR_COLOURS), 10),
        hair_length=float(rng.uniform(0.5, 1.0) if long_hair else rng.uniform(0.0, 0.2)),
        shoes=_jitter(rng, (40, 36, 34) if rng.random() < 0.7 else (220, 220, 220), 14),
        height=float(rng.uniform(0.78, 0.9)),
        shoulders=float(rng.uniform(0.2, 0.28)),
        legs=float(rng.uniform(0.44, 0.5)),
        bag=_pick(rng, BAGS, BAG_WEIGHTS),
        bag_colour=_jitter(rng, _pick(rng, TOP_PALETTE + BOTTOM_PALETTE)),
    )


@dataclass(eq=False)
class Camera:
    """One camera's view: background, illumination and sensor."""

    gain: float
    cast: tuple[float, float, float]
    wall_top: RGB
    wall_bottom: RGB
    floor: RGB
    floor_y: float  # floor line as a fraction of the background height
    clutter: tuple[tuple[float, float, float, float, RGB], ...]  # relative boxes + colour
    texture_seed: int
    noise: float  # sensor noise standard deviation (0..255 scale)
    blur: float  # Gaussian blur radius at output size
    _cache: dict[tuple[int, int], np.ndarray] = field(default_factory=dict, repr=False)

    def canvas(self, height: int, width: int) -> np.ndarray:
        """Background canvas (uint8, larger than one view) for drawing at ``height x width``."""
        key = (height, width)
        if key not in self._cache:
            self._cache[key] = self._build(int(height * 1.2), int(width * 1.6))
        return self._cache[key]

    def _build(self, ch: int, cw: int) -> np.ndarray:
        rng = np.random.default_rng(self.texture_seed)
        t = np.linspace(0.0, 1.0, ch, dtype=np.float32)[:, None]
        wall = (1 - t) * np.asarray(self.wall_top, np.float32) + t * np.asarray(
            self.wall_bottom, np.float32
        )
        img = np.repeat(wall[:, None, :], cw, axis=1)
        floor_row = int(self.floor_y * ch)
        floor = np.asarray(self.floor, np.float32)
        ramp = np.linspace(0.85, 1.1, ch - floor_row, dtype=np.float32)[:, None, None]
        img[floor_row:] = floor * ramp
        # Low-frequency texture (stains, light falloff) plus fine grain.
        coarse = rng.uniform(-1.0, 1.0, (max(2, ch // 12), max(2, cw // 12))).astype(np.float32)
        tex = Image.fromarray(((coarse + 1) * 127.5).astype(np.uint8)).resize(
            (cw, ch), Image.Resampling.BILINEAR
        )
        img += (np.asarray(tex, np.float32)[:, :, None] / 127.5 - 1.0) * 14.0
        img += rng.normal(0.0, 4.0, (ch, cw, 1)).astype(np.float32)
        pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(pil)
        for x0, y0, x1, y1, colour in self.clutter:
            draw.rectangle((x0 * cw, y0 * ch, x1 * cw, y1 * ch), fill=colour)
        draw.line((0, floor_row, cw, floor_row), fill=_shade(self.floor, 0.6), width=2)
        return np.asarray(pil)


def _cast(values: Iterable[float]) -> tuple[float, float, float]:
    """A camera's colour cast: one gain per channel."""
    red, green, blue = (float(v) for v in values)
    return red, green, blue


def random_camera(rng: np.random.Generator) -> Camera:
    """Draw one camera's conditions."""
    wall_top = _rgb(rng.integers(50, 210, 3))
    wall_bottom = _rgb(np.clip(v + rng.integers(-50, 51), 0, 255) for v in wall_top)
    floor_y = float(rng.uniform(0.7, 0.88))
    clutter: list[tuple[float, float, float, float, RGB]] = []
    for _ in range(int(rng.integers(2, 7))):
        x0 = float(rng.uniform(-0.1, 0.95))
        y0 = float(rng.uniform(0.0, floor_y - 0.1))
        clutter.append(
            (
                x0,
                y0,
                x0 + float(rng.uniform(0.05, 0.35)),
                min(floor_y, y0 + float(rng.uniform(0.05, 0.5))),
                # Muted: halfway between a random colour and the wall's.
                _rgb((v + w) // 2 for v, w in zip(rng.integers(20, 236, 3), wall_top, strict=True)),
            )
        )
    return Camera(
        gain=float(rng.uniform(0.72, 1.28)),
        cast=_cast(rng.uniform(0.84, 1.16, 3)),
        wall_top=wall_top,
        wall_bottom=wall_bottom,
        floor=_rgb(rng.integers(50, 180, 3)),
        floor_y=floor_y,
        clutter=tuple(clutter),
        texture_seed=int(rng.integers(2**31)),
        noise=float(rng.uniform(1.5, 6.0)),
        blur=float(rng.choice([0.0, 0.0, 0.4, 0.7])),
    )


@dataclass(frozen=True)
class Pose:
    """Where and how one frame shows the person (fractions of the output size)."""

    cx: float  # horizontal centre, fraction of the width
    foot: float  # feet line, fraction of the height
    scale: float  # multiplies the identity's height
    phase: float  # walking phase in radians: legs and arms swing with sin(phase)
    swing: float  # swing amplitude in radians
    view_x: float = 0.5  # background crop offset, 0..1
    view_y: float = 0.5
    light: float = 1.0  # per-frame illumination factor


def walk(rng: np.random.Generator, n: int, *, gap: float = 1.0) -> list[Pose]:
    """``n`` poses of one walk: position, scale and view drift smoothly, the gait moves on.

    ``gap`` is the spacing of the frames in video frames: 1 for a tracklet, larger for images
    sampled from a longer sequence (Market-1501), which makes poses less alike.
    """
    cx = rng.uniform(0.44, 0.56)
    foot = rng.uniform(0.94, 0.99)
    scale = rng.uniform(0.9, 1.05)
    phase = rng.uniform(0.0, 2 * math.pi)
    step = rng.uniform(0.45, 0.9) * gap
    swing = rng.uniform(0.22, 0.42)
    view_x, view_y = rng.uniform(0.0, 1.0, 2)
    dvx = rng.uniform(-0.04, 0.04) * gap
    light = rng.uniform(0.93, 1.07)
    poses = []
    for i in range(n):
        poses.append(
            Pose(
                cx=float(np.clip(cx + rng.normal(0, 0.015), 0.3, 0.7)),
                foot=float(np.clip(foot + rng.normal(0, 0.01), 0.88, 1.0)),
                scale=float(np.clip(scale + rng.normal(0, 0.02), 0.82, 1.1)),
                phase=float(phase + i * step),
                swing=float(swing),
                view_x=float(np.clip(view_x + i * dvx, 0.0, 1.0)),
                view_y=float(view_y),
                light=float(light * rng.uniform(0.97, 1.03)),
            )
        )
    return poses


@dataclass(frozen=True)
class Occluder:
    """A static object in front of the person, in fractions of the output size."""

    kind: str  # "box" (bench, car, bin), "pole", "passer" (another person's shape)
    x0: float
    y0: float
    x1: float
    y1: float
    colour: RGB


def random_occluder(rng: np.random.Generator) -> Occluder:
    """Draw an occluder that covers part (never all) of the body."""
    kind = _pick(rng, ("box", "pole", "passer"))
    colour = _rgb(rng.integers(15, 240, 3))
    if kind == "box":
        x0 = float(rng.uniform(-0.2, 0.3))
        y0 = float(rng.uniform(0.5, 0.72))
        return Occluder(kind, x0, y0, x0 + float(rng.uniform(0.5, 1.1)), 1.05, colour)
    if kind == "pole":
        x0 = float(rng.uniform(0.15, 0.75))
        return Occluder(kind, x0, -0.05, x0 + float(rng.uniform(0.07, 0.16)), 1.05, colour)
    left = rng.random() < 0.5
    width = float(rng.uniform(0.25, 0.42))
    x0 = -0.15 if left else 1.15 - width - 0.15
    return Occluder(kind, x0, 0.15, x0 + width + 0.15, 1.2, colour)


def _limb(
    draw: ImageDraw.ImageDraw,
    start: tuple[float, float],
    angle: float,
    length: float,
    width: float,
    colour: RGB,
) -> tuple[float, float]:
    end = (start[0] + length * math.sin(angle), start[1] + length * math.cos(angle))
    w = max(1, round(width))
    draw.line((start, end), fill=colour, width=w)
    r = width / 2
    draw.ellipse((end[0] - r, end[1] - r, end[0] + r, end[1] + r), fill=colour)
    return end


def _torso(
    img: Image.Image, polygon: list[tuple[float, float]], app: Appearance, torso_h: float
) -> None:
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    x0, y0 = math.floor(min(xs)), math.floor(min(ys))
    x1, y1 = math.ceil(max(xs)) + 1, math.ceil(max(ys)) + 1
    size = (max(1, x1 - x0), max(1, y1 - y0))
    layer = Image.new("RGB", size, app.top)
    d = ImageDraw.Draw(layer)
    period = max(2.0, app.period * torso_h)
    if app.pattern == "stripes":
        y = period * 0.25
        while y < size[1]:
            d.rectangle((0, y, size[0], y + period / 2), fill=app.accent)
            y += period
    elif app.pattern == "checks":
        y = 0.0
        while y < size[1]:
            d.rectangle((0, y, size[0], y + period / 3), fill=app.accent)
            y += period
        x = 0.0
        while x < size[0]:
            d.rectangle((x, 0, x + period / 3, size[1]), fill=app.accent)
            x += period
    elif app.pattern == "two-tone":
        d.rectangle((0, size[1] * 0.55, size[0], size[1]), fill=app.accent)
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).polygon([(x - x0, y - y0) for x, y in polygon], fill=255)
    img.paste(layer, (x0, y0), mask)


def _draw_person(img: Image.Image, app: Appearance, pose: Pose, width: int, height: int) -> None:
    draw = ImageDraw.Draw(img)
    ph = app.height * pose.scale * height
    foot_y = pose.foot * height
    cx = pose.cx * width
    top = foot_y - ph
    head_r = 0.068 * ph
    head_cy = top + 1.1 * head_r
    neck_y = top + 2.1 * head_r
    sh_y = neck_y + 0.025 * ph
    sw = app.shoulders * ph
    hip_y = foot_y - app.legs * ph
    leg_len = foot_y - hip_y - 0.02 * ph
    leg_w = 0.3 * sw
    arm_w = 0.2 * sw
    arm_len = 0.36 * ph
    s = math.sin(pose.phase)
    leg_angle = pose.swing * s
    arm_angle = -0.8 * pose.swing * s
    side = 1 if math.cos(pose.phase) >= 0 else -1  # which side faces the camera

    # Behind the body: backpack, long hair, the far arm.
    if app.bag == "backpack":
        bx = cx - side * 0.5 * sw
        draw.rounded_rectangle(
            (bx - 0.22 * sw, sh_y + 0.04 * ph, bx + 0.22 * sw, sh_y + 0.3 * ph),
            radius=0.05 * ph,
            fill=app.bag_colour,
        )
    if app.hair_length > 0.3:
        hair_bottom = sh_y + app.hair_length * 0.14 * ph
        draw.rectangle(
            (cx - 1.05 * head_r, head_cy, cx + 1.05 * head_r, hair_bottom), fill=app.hair
        )
    far_shoulder = (cx - side * 0.42 * sw, sh_y + 0.02 * ph)
    sleeve = app.top if app.sleeves == "long" else app.skin
    _limb(draw, far_shoulder, -arm_angle * side, arm_len, arm_w, _shade(sleeve, 0.8))

    # Legs (the far one darker), shoes at the ends.
    hip_dx = 0.2 * sw
    for sign, shade in ((-side, 0.8), (side, 1.0)):
        start = (cx + sign * hip_dx, hip_y)
        angle = leg_angle * sign
        colour = _shade(app.bottom, shade)
        if app.shorts:
            knee = _limb(draw, start, angle, 0.45 * leg_len, leg_w, colour)
            end = _limb(draw, knee, angle, 0.55 * leg_len, 0.8 * leg_w, _shade(app.skin, shade))
        else:
            end = _limb(draw, start, angle, leg_len, leg_w, colour)
        fw = 0.5 * leg_w
        draw.ellipse(
            (end[0] - fw * 1.3, end[1] - fw * 0.6, end[0] + fw * 1.3, end[1] + fw * 0.9),
            fill=_shade(app.shoes, shade),
        )

    # Torso with its pattern.
    torso = [
        (cx - sw / 2, sh_y),
        (cx + sw / 2, sh_y),
        (cx + 0.42 * sw, hip_y + 0.04 * ph),
        (cx - 0.42 * sw, hip_y + 0.04 * ph),
    ]
    _torso(img, torso, app, hip_y - sh_y)
    draw = ImageDraw.Draw(img)

    # Neck and head.
    draw.rectangle((cx - 0.35 * head_r, neck_y - 0.3 * head_r, cx + 0.35 * head_r, sh_y), app.skin)
    draw.ellipse(
        (cx - head_r, head_cy - 1.1 * head_r, cx + head_r, head_cy + 1.1 * head_r), app.skin
    )
    draw.chord(
        (cx - 1.08 * head_r, head_cy - 1.2 * head_r, cx + 1.08 * head_r, head_cy + 0.9 * head_r),
        180,
        360,
        fill=app.hair,
    )

    # Near arm: sleeve, then forearm (skin for short sleeves), hand.
    near_shoulder = (cx + side * 0.42 * sw, sh_y + 0.02 * ph)
    angle = arm_angle * side
    elbow = _limb(draw, near_shoulder, angle, 0.5 * arm_len, arm_w, app.top)
    hand = _limb(draw, elbow, angle, 0.5 * arm_len, 0.9 * arm_w, sleeve)
    r = 0.5 * arm_w
    draw.ellipse((hand[0] - r, hand[1] - r, hand[0] + r, hand[1] + r), fill=app.skin)
    if app.bag == "handbag":
        draw.line((near_shoulder, (hand[0], hand[1] - 0.02 * ph)), fill=app.bag_colour, width=2)
        draw.rectangle(
            (hand[0] - 0.2 * sw, hand[1] - 0.02 * ph, hand[0] + 0.2 * sw, hand[1] + 0.1 * ph),
            fill=app.bag_colour,
        )


def _draw_occluder(draw: ImageDraw.ImageDraw, occ: Occluder, width: int, height: int) -> None:
    box = (occ.x0 * width, occ.y0 * height, occ.x1 * width, occ.y1 * height)
    if occ.kind == "passer":
        draw.ellipse(box, fill=occ.colour)
    else:
        draw.rectangle(box, fill=occ.colour)
        edge = _shade(occ.colour, 0.7)
        draw.rectangle((box[0], box[1], box[2], box[1] + 0.02 * height), fill=edge)


def _finish(
    img: Image.Image, cam: Camera, pose_light: float, rng: np.random.Generator
) -> Image.Image:
    img = img.reduce(SUPERSAMPLE)
    if cam.blur > 0:
        img = img.filter(ImageFilter.GaussianBlur(cam.blur))
    arr = np.asarray(img, dtype=np.float32)
    gain = np.asarray(cam.cast, np.float32) * np.float32(cam.gain * pose_light)
    arr = arr * gain + rng.standard_normal(arr.shape, dtype=np.float32) * np.float32(cam.noise)
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))


def _view(cam: Camera, height: int, width: int, pose: Pose) -> Image.Image:
    canvas = cam.canvas(height, width)
    oy = round(pose.view_y * (canvas.shape[0] - height))
    ox = round(pose.view_x * (canvas.shape[1] - width))
    return Image.fromarray(canvas[oy : oy + height, ox : ox + width])


def render_person(
    app: Appearance,
    cam: Camera,
    size: tuple[int, int],
    pose: Pose,
    occluder: Occluder | None,
    rng: np.random.Generator,
) -> Image.Image:
    """Draw one frame of ``app`` seen by ``cam``; ``size`` is (height, width)."""
    height, width = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
    img = _view(cam, height, width, pose)
    _draw_person(img, app, pose, width, height)
    if occluder is not None:
        _draw_occluder(ImageDraw.Draw(img), occluder, width, height)
    return _finish(img, cam, pose.light, rng)


def render_junk(cam: Camera, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A junk detection: bare background, or a bad crop showing only part of a person."""
    height, width = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
    pose = walk(rng, 1)[0]
    img = _view(cam, height, width, pose)
    kind = rng.random()
    if kind < 0.6:
        # Badly placed box: the person is far too large and off-centre (head or legs only).
        app = random_appearance(rng)
        crop = Pose(
            cx=float(rng.uniform(-0.1, 1.1)),
            foot=float(rng.choice([rng.uniform(1.5, 2.2), rng.uniform(0.5, 0.8)])),
            scale=float(rng.uniform(1.6, 2.6)),
            phase=pose.phase,
            swing=pose.swing,
        )
        _draw_person(img, app, crop, width, height)
    if kind > 0.3:
        _draw_occluder(ImageDraw.Draw(img), random_occluder(rng), width, height)
    return _finish(img, cam, pose.light, rng)
