"""The seven synthetic expressions: which facial actions, and how they unfold.

Classes use DFEW's order (0 Happy, 1 Sad, 2 Neutral, 3 Angry, 4 Surprise,
5 Disgust, 6 Fear). Each expression is a set of facial actions (see
:mod:`demo.face_model`) scaled by an intensity curve over time.

Five expressions *build up*: neutral until a random onset, a rise of a few
frames, then held. Their frames already differ from each other.

Surprise and Fear are the motion-only pair. Both use the same *startle*
configuration (brows up, eyes wide, jaw dropped, lips stretched) with the
same intensity range, one startle per clip at a random frame:

- Surprise snaps open in one frame and relaxes slowly;
- Fear creeps open slowly and snaps shut: a Surprise clip played backwards.

Every frame of a Fear clip is a frame a Surprise clip can show, so a model
that scores frames one by one and averages (the image stage) cannot
separate them; where in the clip the near-neutral frames lie (before the
snap for Surprise, after it for Fear) and which way the big jump goes can.
Before issue 20 the pair was periodic (sawtooths with a uniformly random
phase), which gave every frame position the same distribution in both
classes: only a third-order statistic of the steps told them apart, which
the released TMAs cannot learn (docs/tma_diagnosis.md), so the demo's video
stage was at chance on the pair and its UAR rode on that coin.

Distractors shared by all classes, Neutral included: blinks, talking-like
jaw motion, head motion, lighting changes and sensor noise.
"""
import numpy as np

# DFEW's seven classes in its label order (the official files count from 1).
DFEW_CLASSES = ('Happy', 'Sad', 'Neutral', 'Angry', 'Surprise', 'Disgust',
                'Fear')

STARTLE = dict(brow_raise=1.0, eye_widen=1.0, jaw_drop=0.7, lip_stretch=0.5)

# class -> (facial actions at full intensity, dynamics)
EXPRESSIONS = {
    'Happy': (dict(lip_corner_up=1.0, eye_squint=0.7, jaw_drop=0.12),
              'onset'),
    'Sad': (dict(brow_inner_raise=1.0, lip_corner_down=1.0, eye_squint=0.3),
            'onset'),
    'Neutral': (dict(), 'none'),
    'Angry': (dict(brow_lower=1.0, lip_press=1.0), 'onset'),
    'Surprise': (STARTLE, 'snap_open'),
    'Disgust': (dict(upper_lip_raise=1.0, brow_lower=0.45, eye_squint=0.5),
                'onset'),
    'Fear': (STARTLE, 'snap_shut'),
}

# the classes that only their motion separates
MOTION_ONLY_CLASSES = ('Surprise', 'Fear')


def _smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def intensity_curve(dynamics, num_frames, rng):
    """Expression intensity per frame, ``(T,)`` in [0, 1].

    Args:
        dynamics (str): ``'none'``, ``'onset'`` (build up and hold),
            ``'snap_open'`` or ``'snap_shut'`` (one startle at a random
            frame: snap open and relax, or its time reversal).
        num_frames (int): T.
        rng (np.random.Generator): draws peak, then onset and rise or
            snap frame and relaxation.
    """
    t = np.arange(num_frames, dtype=np.float64)
    peak = rng.uniform(0.75, 1.0)
    if dynamics == 'none':
        return np.zeros(num_frames)
    if dynamics == 'onset':
        onset = rng.uniform(-0.1, 0.55) * num_frames
        rise = rng.uniform(0.12, 0.35) * num_frames
        return peak * _smoothstep((t - onset) / rise)
    if dynamics in ('snap_open', 'snap_shut'):
        # Surprise's curve; Fear reads it from the other end
        snap = rng.uniform(0.2, 0.5) * num_frames
        relax = rng.uniform(2.0, 4.0) * num_frames
        s = t if dynamics == 'snap_open' else num_frames - 1 - t
        return np.where(s >= snap, peak * (1.0 - (s - snap) / relax), 0.0)
    raise ValueError(f'unknown expression dynamics {dynamics!r}')


def distractor_curves(num_frames, rng):
    """Per-frame blink and talking intensities, each ``(T,)``."""
    t = np.arange(num_frames, dtype=np.float64)
    blink = np.zeros(num_frames)
    for _ in range(int(rng.integers(0, 3))):
        c = rng.uniform(0, num_frames - 1)
        blink = np.maximum(blink, np.clip(1.2 - np.abs(t - c) / 1.2, 0, 1))
    talk = np.zeros(num_frames)
    if rng.random() < 0.45:
        amp = rng.uniform(0.1, 0.35)
        period = rng.uniform(2.5, 5.0)
        talk = amp * 0.5 * (1 + np.sin(2 * np.pi * t / period +
                                       rng.uniform(0, 2 * np.pi)))
    return blink, talk


def actions_per_frame(class_name, num_frames, rng, expressions=None):
    """Facial-action intensities of a clip.

    Args:
        class_name (str): the expression.
        num_frames (int): T.
        rng (np.random.Generator): the only source of randomness.
        expressions (dict, optional): class -> (actions, dynamics) in place
            of :data:`EXPRESSIONS` (a data variant, e.g. the landmark
            ablation's geometry pair).

    Returns:
        tuple: a list of T dicts (action -> intensity) and the expression
        intensity curve ``(T,)``.
    """
    expressions = EXPRESSIONS if expressions is None else expressions
    if class_name not in expressions:
        raise KeyError(f'unknown expression {class_name!r}; '
                       f'known: {list(expressions)}')
    config, dynamics = expressions[class_name]
    curve = intensity_curve(dynamics, num_frames, rng)
    blink, talk = distractor_curves(num_frames, rng)
    frames = []
    for i in range(num_frames):
        acts = {k: v * curve[i] for k, v in config.items()}
        acts['blink'] = blink[i] * (1 - 0.6 * acts.get('eye_widen', 0.0))
        acts['jaw_drop'] = min(1.0, acts.get('jaw_drop', 0.0) + talk[i])
        frames.append(acts)
    return frames, curve
