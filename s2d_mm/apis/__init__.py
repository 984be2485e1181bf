"""Model inference: build a model from a config and checkpoint, run it on a
clip, pick its precision. Face tracking, timelines and drawing build on
these in :mod:`s2d_mm.video_analysis`."""
from .inference import (  # noqa: F401
                        NoFaceFoundError,
                        inference_video,
                        init_model,
                        load_clip,
                        model_num_frames,
                        sample_frame_indices,
)
from .precision import (  # noqa: F401
    PRECISIONS,
    PrecisionNotSupportedError,
    apply_precision,
    check_precision,
)
from .video_reader import FrameReader, open_video  # noqa: F401
