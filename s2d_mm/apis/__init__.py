from .face_crop import HaarFaceDetector, NoFaceFoundError, clip_face_box, crop_clip  # noqa: F401
from .face_detectors import (  # noqa: F401
    BaseFaceDetector,
    FaceDetectorSetupError,
    MMDetFaceDetector,
    YuNetFaceDetector,
    build_face_detector,
)
from .face_tracking import FaceTrack, IoUFaceTracker  # noqa: F401
from .inference import (  # noqa: F401
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
from .timeline import VideoTimeline, analyze_video  # noqa: F401
from .timeline_visualize import plot_timeline, write_annotated_video  # noqa: F401
from .video_reader import FrameReader, open_video  # noqa: F401
from .visualize import draw_prediction, write_video  # noqa: F401
