"""A procedural 2D face: 68 landmarks, facial actions and a renderer.

The synthetic demo data are drawn from this model. A face is its 68
landmarks in the iBUG 300-W mark-up (jaw 0-16, brows 17-26, nose 27-35,
eyes 36-47, outer lips 48-59, inner lips 60-67), first laid out in a
canonical frame (x to the right of the image, y down, the face about one unit
wide, origin between the eyes and the mouth), then moved by *facial actions*
(brow raise, lip-corner pull, jaw drop, ... each with an intensity in
[0, 1]), then placed in the image by a similarity transform. The renderer
draws every part from the landmarks, so the landmark positions written next
to each frame are exact.
"""
import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

NUM_LANDMARKS = 68

# Names of the facial actions an expression is made of, loosely after FACS
# action units (AU in brackets).
ACTIONS = (
    'brow_raise',        # outer + inner brow raiser (AU1+2)
    'brow_inner_raise',  # inner brow raiser only (AU1): the 'sad' brow
    'brow_lower',        # brow lowerer, brows drawn together (AU4)
    'eye_widen',         # upper lid raiser (AU5)
    'eye_squint',        # cheek raiser / lid tightener (AU6/7)
    'lip_corner_up',     # lip-corner puller, a smile (AU12)
    'lip_corner_down',   # lip-corner depressor (AU15)
    'lip_stretch',       # lips stretched sideways (AU20)
    'lip_press',         # lips pressed thin (AU23/24)
    'upper_lip_raise',   # upper-lip raiser with nose wrinkle (AU9/10)
    'jaw_drop',          # mouth opens (AU26/27)
    'blink',             # both eyes closed (AU45), a distractor
)


def canonical_landmarks():
    """The neutral 68-point face in canonical units, shape ``(68, 2)``."""
    pts = np.zeros((NUM_LANDMARKS, 2), np.float64)
    # jaw: a U from the left temple through the chin to the right temple
    phi = np.linspace(0, np.pi, 17)
    pts[0:17, 0] = -0.5 * np.cos(phi)
    pts[0:17, 1] = -0.12 + 0.68 * np.sin(phi)**0.75
    # brows (17-21 image-left, 22-26 image-right), arched
    s = np.linspace(0, 1, 5)
    pts[17:22, 0] = -0.40 + 0.31 * s
    pts[17:22, 1] = -0.25 - 0.045 * np.sin(np.pi * (0.15 + 0.85 * s))
    pts[22:27, 0] = -pts[21:16:-1, 0]
    pts[22:27, 1] = pts[21:16:-1, 1]
    # nose bridge and nostrils
    pts[27:31, 0] = 0.0
    pts[27:31, 1] = np.linspace(-0.13, 0.10, 4)
    pts[31:36, 0] = np.linspace(-0.09, 0.09, 5)
    pts[31:36, 1] = [0.15, 0.165, 0.175, 0.165, 0.15]
    # eyes: outer corner, two upper-lid points, inner corner, two lower-lid
    eye = np.array([[-0.085, 0.0], [-0.032, -0.042], [0.032, -0.042],
                    [0.085, 0.0], [0.032, 0.03], [-0.032, 0.03]])
    pts[36:42] = eye + [-0.20, -0.10]
    # the image-right eye mirrors the left one, corner for corner
    pts[42:48] = pts[[39, 38, 37, 36, 41, 40]] * [-1, 1]
    # outer lips: left corner, upper lip to right corner, lower lip back
    pts[48:60] = [[-0.17, 0.33], [-0.11, 0.300], [-0.045, 0.285],
                  [0.0, 0.292], [0.045, 0.285], [0.11, 0.300],
                  [0.17, 0.33], [0.11, 0.375], [0.05, 0.395],
                  [0.0, 0.398], [-0.05, 0.395], [-0.11, 0.375]]
    # inner lips: left corner, upper inner lip, right corner, lower inner lip
    pts[60:68] = [[-0.145, 0.33], [-0.05, 0.322], [0.0, 0.324],
                  [0.05, 0.322], [0.145, 0.33], [0.05, 0.338],
                  [0.0, 0.340], [-0.05, 0.338]]
    return pts


# index groups used by the actions and the renderer
JAW = np.arange(0, 17)
BROW_L, BROW_R = np.arange(17, 22), np.arange(22, 27)
BROWS = np.arange(17, 27)
NOSE_BRIDGE, NOSTRILS = np.arange(27, 31), np.arange(31, 36)
EYE_L, EYE_R = np.arange(36, 42), np.arange(42, 48)
UPPER_LIDS = np.array([37, 38, 43, 44])
LOWER_LIDS = np.array([40, 41, 46, 47])
OUTER_LIPS, INNER_LIPS = np.arange(48, 60), np.arange(60, 68)
MOUTH_CORNERS = np.array([48, 54, 60, 64])
UPPER_LIP = np.array([49, 50, 51, 52, 53, 61, 62, 63])
LOWER_LIP = np.array([55, 56, 57, 58, 59, 65, 66, 67])
LOWER_JAW = np.arange(4, 13)
# inner brow points (nearest the nose) of each brow
INNER_BROW = np.array([20, 21, 22, 23])


@dataclass
class FaceIdentity:
    """What stays fixed for one synthetic person (one clip)."""
    width: float = 1.0           # horizontal stretch of the whole layout
    height: float = 1.0          # vertical stretch
    jaw_width: float = 1.0       # stretch of the lower jaw points
    eye_gap: float = 1.0         # distance between the eyes
    eye_size: float = 1.0
    mouth_width: float = 1.0
    nose_length: float = 1.0
    brow_height: float = 0.0     # extra brow offset (canonical units)
    skin: tuple = (150, 180, 220)      # BGR
    lip: tuple = (90, 90, 170)         # BGR
    hair: tuple = (40, 40, 50)         # BGR, brows and hair
    iris: tuple = (60, 50, 40)         # BGR
    background: tuple = (120, 120, 120)
    background2: tuple = (90, 90, 90)  # second colour of the gradient
    hair_style: int = 0                # 0 none, 1 cap of hair

    @classmethod
    def sample(cls, rng):
        """Draw a random identity from ``rng`` (a numpy Generator)."""
        # skin tones from light to dark, in BGR
        tones = np.array([[196, 215, 245], [160, 190, 230], [130, 165, 205],
                          [100, 135, 185], [70, 100, 150], [50, 75, 115]])
        i = rng.uniform(0, len(tones) - 1)
        lo = int(np.floor(i))
        skin = tones[lo] + (i - lo) * (tones[min(lo + 1, len(tones) - 1)] -
                                       tones[lo])
        skin = np.clip(skin + rng.normal(0, 6, 3), 0, 255)
        lip = np.clip(skin * [0.62, 0.6, 0.85] + rng.normal(0, 6, 3), 0, 255)
        hair = rng.uniform(10, 90) * np.array([1.0, 1.05, 1.2])
        bg = rng.uniform(30, 230, 3)
        bg2 = np.clip(bg + rng.normal(0, 40, 3), 0, 255)
        return cls(
            width=rng.uniform(0.88, 1.1),
            height=rng.uniform(0.92, 1.1),
            jaw_width=rng.uniform(0.85, 1.1),
            eye_gap=rng.uniform(0.9, 1.1),
            eye_size=rng.uniform(0.85, 1.2),
            mouth_width=rng.uniform(0.85, 1.15),
            nose_length=rng.uniform(0.85, 1.15),
            brow_height=rng.uniform(-0.02, 0.02),
            skin=tuple(float(v) for v in skin),
            lip=tuple(float(v) for v in lip),
            hair=tuple(float(v) for v in np.clip(hair, 0, 255)),
            iris=tuple(float(v) for v in rng.uniform(20, 110, 3)),
            background=tuple(float(v) for v in bg),
            background2=tuple(float(v) for v in bg2),
            hair_style=int(rng.integers(0, 2)))

    def neutral_landmarks(self):
        """The identity's neutral face in canonical units, ``(68, 2)``."""
        pts = canonical_landmarks()
        for idx, sign in ((EYE_L, -1), (EYE_R, 1)):
            c = pts[idx].mean(0)
            pts[idx] = (pts[idx] - c) * self.eye_size + c
            pts[idx, 0] += sign * 0.2 * (self.eye_gap - 1)
        for idx, sign in ((BROW_L, -1), (BROW_R, 1)):
            pts[idx, 0] += sign * 0.2 * (self.eye_gap - 1)
        pts[BROWS, 1] += self.brow_height
        mouth = np.concatenate([OUTER_LIPS, INNER_LIPS])
        pts[mouth, 0] *= self.mouth_width
        nose = np.concatenate([NOSE_BRIDGE, NOSTRILS])
        pts[nose, 1] = -0.13 + (pts[nose, 1] + 0.13) * self.nose_length
        pts[LOWER_JAW, 0] *= self.jaw_width
        pts[:, 0] *= self.width
        pts[:, 1] *= self.height
        return pts


#: Displacements are exaggerated (cartoon faces): at the demo's 64-px model
#: input a realistic smile moves the mouth corners by about one pixel.
ACTION_GAIN = 2.0


def apply_actions(pts, actions):
    """Move neutral landmarks by facial actions.

    Args:
        pts (np.ndarray): neutral landmarks ``(68, 2)`` (canonical units).
        actions (dict): action name -> intensity in [0, 1] (missing = 0).

    Returns:
        np.ndarray: the deformed landmarks ``(68, 2)``.
    """
    unknown = set(actions) - set(ACTIONS)
    if unknown:
        raise KeyError(f'unknown facial actions {sorted(unknown)}; '
                       f'known: {ACTIONS}')
    a = {k: float(actions.get(k, 0.0)) * ACTION_GAIN for k in ACTIONS}
    a['blink'] = float(actions.get('blink', 0.0))
    p = pts.copy()
    x_mid = 0.5 * (p[39, 0] + p[42, 0])

    # brows
    p[BROWS, 1] -= 0.075 * a['brow_raise']
    p[INNER_BROW, 1] -= 0.06 * a['brow_inner_raise']
    p[[19, 24], 1] -= 0.02 * a['brow_inner_raise']
    p[[17, 26], 1] += 0.02 * a['brow_inner_raise']
    p[BROWS, 1] += 0.04 * a['brow_lower']
    p[INNER_BROW, 1] += 0.03 * a['brow_lower']
    p[BROWS, 0] += np.sign(x_mid - p[BROWS, 0]) * 0.035 * a['brow_lower']

    # eyes: widen lifts the upper lid; squint lifts the lower lid and lowers
    # the upper one; blink closes the lids onto the lower lid line
    p[UPPER_LIDS, 1] -= 0.035 * a['eye_widen']
    p[LOWER_LIDS, 1] += 0.006 * a['eye_widen']
    p[UPPER_LIDS, 1] += 0.02 * a['eye_squint']
    p[LOWER_LIDS, 1] -= 0.016 * a['eye_squint']
    p[UPPER_LIDS, 1] += 0.016 * a['brow_lower']
    b = min(1.0, a['blink'])
    for up, low in ((37, 41), (38, 40), (43, 47), (44, 46)):
        target = 0.3 * p[up, 1] + 0.7 * p[low, 1]
        p[up, 1] += b * (target - p[up, 1])
        p[low, 1] += b * (target - p[low, 1])

    # nose wrinkle with the upper-lip raiser
    p[NOSTRILS, 1] -= 0.025 * a['upper_lip_raise']
    p[[29, 30], 1] -= 0.015 * a['upper_lip_raise']
    p[NOSTRILS, 0] *= 1 + 0.15 * a['upper_lip_raise']

    # mouth
    side = np.where(p[MOUTH_CORNERS, 0] < x_mid, -1.0, 1.0)
    p[MOUTH_CORNERS, 0] += side * (0.035 * a['lip_corner_up'] +
                                   0.05 * a['lip_stretch'] -
                                   0.03 * a['lip_press'])
    p[MOUTH_CORNERS, 1] += (-0.06 * a['lip_corner_up'] +
                            0.06 * a['lip_corner_down'] +
                            0.01 * a['lip_stretch'])
    # the neighbours of each corner follow it half way
    p[[49, 59, 61, 67, 53, 55, 63, 65], 1] += 0.5 * (
        -0.06 * a['lip_corner_up'] + 0.06 * a['lip_corner_down'])
    # a smile curves the lower lip; a frown arches the upper lip
    p[[56, 57, 58], 1] += 0.012 * a['lip_corner_up']
    p[[50, 51, 52], 1] -= 0.012 * a['lip_corner_down']
    # pressed lips: thin lips, both lips toward the mouth line
    p[[49, 50, 51, 52, 53], 1] += 0.02 * a['lip_press']
    p[[55, 56, 57, 58, 59], 1] -= 0.025 * a['lip_press']
    p[[61, 62, 63, 65, 66, 67], 1] = (
        p[[61, 62, 63, 65, 66, 67], 1] * (1 - 0.5 * a['lip_press']) +
        0.5 * a['lip_press'] * 0.5 * (p[60, 1] + p[64, 1]))
    # upper-lip raiser: upper lip up and a little squared
    p[UPPER_LIP, 1] -= 0.04 * a['upper_lip_raise']
    p[[61, 62, 63], 1] -= 0.01 * a['upper_lip_raise']
    # jaw drop: lower lip and chin go down, the upper inner lip lifts a bit
    j = a['jaw_drop']
    p[LOWER_LIP, 1] += 0.13 * j
    p[[61, 62, 63], 1] -= 0.015 * j
    p[MOUTH_CORNERS, 1] += 0.03 * j
    p[MOUTH_CORNERS, 0] -= side * 0.02 * j
    w = np.sin(np.linspace(0, np.pi, 17))**2
    p[JAW, 1] += 0.09 * j * w
    return p


@dataclass
class Placement:
    """Where the face sits in the image (pixels) and how it is lit."""
    cx: float
    cy: float
    scale: float          # pixels per canonical unit
    roll: float = 0.0     # in-plane rotation (radians)
    yaw: float = 0.0      # -1..1, fake out-of-plane turn
    light_dir: float = 0.0
    light_strength: float = 0.0
    gain: float = 1.0
    noise: float = 0.0
    extra: dict = field(default_factory=dict)


def place_landmarks(pts, placement):
    """Canonical landmarks ``(68, 2)`` -> image pixels ``(68, 2)``."""
    p = pts.copy()
    # a fake yaw: inner features shift sideways more than the jaw outline,
    # and the far half of the face is compressed
    if placement.yaw:
        depth = np.full(len(p), 0.1)
        depth[JAW] = 0.0
        depth[NOSE_BRIDGE] = 0.2
        depth[NOSTRILS] = 0.22
        depth[30] = 0.3
        p[:, 0] += placement.yaw * depth
        p[:, 0] *= 1 - 0.25 * placement.yaw * np.sign(p[:, 0]) * np.abs(
            placement.yaw)
    c, s = np.cos(placement.roll), np.sin(placement.roll)
    rot = np.array([[c, -s], [s, c]])
    p = p @ rot.T * placement.scale
    p[:, 0] += placement.cx
    p[:, 1] += placement.cy
    return p


def _poly(pts, ss):
    return np.round(pts * ss).astype(np.int32).reshape(-1, 1, 2)


def _smooth_closed(pts, n=8):
    """Catmull-Rom through a closed polygon, ``(K, 2) -> (K * n, 2)``."""
    pts = np.asarray(pts)
    # segment i runs from pts[i] to pts[i + 1]; (K, 1, 2) against t (1, n, 1)
    # in the same operation order as the per-point formula, so the curve is
    # the same to the bit
    p0, p1, p2, p3 = (np.roll(pts, s, axis=0)[:, None] for s in (1, 0, -1,
                                                               -2))
    t = np.linspace(0, 1, n, endpoint=False)[None, :, None]
    t2, t3 = t * t, t * t * t
    out = 0.5 * ((2 * p1) + (-p0 + p2) * t +
                 (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 +
                 (-p0 + 3 * p1 - 3 * p2 + p3) * t3)
    return out.reshape(-1, pts.shape[-1])


@functools.lru_cache(maxsize=8)
def _grid(h, w):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy.flags.writeable = False
    xx.flags.writeable = False
    return yy, xx


def render_face(img_size, ident, lms, placement, rng, supersample=2):
    """Draw one frame.

    Args:
        img_size (tuple): ``(H, W)`` of the output image.
        ident (FaceIdentity): colours and hair.
        lms (np.ndarray): landmarks in output-image pixels ``(68, 2)``.
        placement (Placement): lighting and noise (its geometry is already
            in ``lms``).
        rng (np.random.Generator): draws the sensor noise.
        supersample (int): drawing resolution factor (anti-aliasing).

    Returns:
        np.ndarray: the BGR uint8 image ``(H, W, 3)``.
    """
    h, w = img_size
    ss = supersample
    H, W = h * ss, w * ss
    # background: a linear gradient between two colours
    yy, xx = _grid(H, W)
    g = (xx / W * 0.6 + yy / H * 0.4)[..., None]
    img = (np.array(ident.background, np.float32) * (1 - g) +
           np.array(ident.background2, np.float32) * g)
    img = np.ascontiguousarray(img)

    face_w = np.linalg.norm(lms[16] - lms[0])
    jaw = lms[JAW]
    # forehead: an arc over the brows, from the two temples
    mid_top = 0.5 * (lms[0] + lms[16])
    chin_dir = lms[8] - mid_top
    chin_dir /= np.linalg.norm(chin_dir) + 1e-6
    up = -chin_dir
    perp = np.array([-up[1], up[0]])
    arc = []
    for t in np.linspace(0, np.pi, 11)[1:-1]:
        arc.append(mid_top + perp * (-np.cos(t)) * face_w * 0.5 +
                   up * np.sin(t) * face_w * 0.42)
    outline = np.concatenate([jaw, np.array(arc)[::-1]])
    outline = _smooth_closed(outline, 4)

    hair_col = tuple(ident.hair)
    if ident.hair_style == 1:
        cap = [mid_top + perp * (-np.cos(t)) * face_w * 0.56 +
               up * (np.sin(t) * face_w * 0.55 - 0.03 * face_w)
               for t in np.linspace(0, np.pi, 15)]
        cv2.fillPoly(img, [_poly(np.array(cap), ss)], hair_col, cv2.LINE_AA)
    # neck
    neck_w = face_w * 0.3
    neck = np.array([lms[8] - perp * neck_w - up * face_w * 0.05,
                     lms[8] + perp * neck_w - up * face_w * 0.05,
                     lms[8] + perp * neck_w * 1.2 - up * face_w * 0.6,
                     lms[8] - perp * neck_w * 1.2 - up * face_w * 0.6])
    skin = np.array(ident.skin)
    cv2.fillPoly(img, [_poly(neck, ss)], tuple(skin * 0.8), cv2.LINE_AA)
    cv2.fillPoly(img, [_poly(outline, ss)], tuple(skin), cv2.LINE_AA)

    lw = max(1, int(round(face_w * 0.012 * ss)))
    dark = tuple(skin * 0.55)
    # brows
    for idx in (BROW_L, BROW_R):
        cv2.polylines(img, [_poly(lms[idx], ss)], False, hair_col,
                      max(2, int(round(face_w * 0.04 * ss))), cv2.LINE_AA)
    # eyes: white of the eye, iris clipped to the lids, lid line
    for idx in (EYE_L, EYE_R):
        # composite the eye (white, iris clipped to the lids) inside its
        # bounding box only
        eye = _poly(_smooth_closed(lms[idx], 6), ss)
        x0, y0 = np.maximum(eye.reshape(-1, 2).min(0) - 2, 0)
        x1, y1 = np.minimum(eye.reshape(-1, 2).max(0) + 3, [W, H])
        if x1 > x0 and y1 > y0:
            off = np.array([x0, y0], np.int32)
            mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
            cv2.fillPoly(mask, [eye - off], 255, cv2.LINE_AA)
            layer = np.empty((y1 - y0, x1 - x0, 3), np.float32)
            layer[:] = (235, 240, 240)
            c = tuple(int(v) for v in np.round(lms[idx].mean(0) * ss) - off)
            r = face_w * 0.045 * ss
            cv2.circle(layer, c, int(round(r)), tuple(ident.iris), -1,
                       cv2.LINE_AA)
            cv2.circle(layer, c, int(round(r * 0.5)), (15, 15, 15), -1,
                       cv2.LINE_AA)
            m = (mask.astype(np.float32) / 255)[..., None]
            img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - m) + layer * m
        cv2.polylines(img, [_poly(lms[idx[:4]], ss)], False, (30, 30, 30),
                      lw + 1, cv2.LINE_AA)
    # nose: bridge shading and nostrils
    cv2.polylines(img, [_poly(lms[[27, 28, 29, 30]], ss)], False,
                  tuple(skin * 0.8), lw, cv2.LINE_AA)
    cv2.polylines(img, [_poly(lms[NOSTRILS], ss)], False, dark, lw + 1,
                  cv2.LINE_AA)
    # mouth: lips, then the opening between the inner lips
    outer = _smooth_closed(lms[OUTER_LIPS], 5)
    cv2.fillPoly(img, [_poly(outer, ss)], tuple(ident.lip), cv2.LINE_AA)
    inner = lms[INNER_LIPS]
    gap = np.linalg.norm(inner[6] - inner[2])
    if gap > face_w * 0.01:
        cv2.fillPoly(img, [_poly(_smooth_closed(inner, 5), ss)],
                     (35, 25, 45), cv2.LINE_AA)
        # upper teeth
        teeth = np.array([inner[1], inner[2], inner[3],
                          inner[3] + (inner[5] - inner[3]) * 0.3,
                          inner[1] + (inner[7] - inner[1]) * 0.3])
        cv2.fillPoly(img, [_poly(teeth, ss)], (225, 230, 230), cv2.LINE_AA)
    else:
        cv2.polylines(img, [_poly(inner[[0, 1, 2, 3, 4]], ss)], False,
                      tuple(np.array(ident.lip) * 0.5), lw, cv2.LINE_AA)

    # lighting: a directional ramp across the face and a global gain
    if placement.light_strength:
        d = np.array([np.cos(placement.light_dir),
                      np.sin(placement.light_dir)], np.float32)
        ramp = ((xx - W / 2) * d[0] + (yy - H / 2) * d[1]) / max(H, W)
        img = img * (1 + placement.light_strength * ramp)[..., None]
    img = img * placement.gain
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
    if placement.noise:
        img = img + rng.normal(0, placement.noise, img.shape)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)
