"""Video analysis on top of :mod:`s2d_mm.apis`: finding faces
(:data:`~s2d_mm.registry.FACE_DETECTORS`), following them over a video,
cropping them, classifying every window of every face (the emotion
timeline) and drawing the results."""
from .face_crop import NoFaceFoundError, clip_face_box, crop_clip, crop_frame, square_box  # noqa: F401
from .face_detectors import (  # noqa: F401
    BaseFaceDetector,
    FaceDetectorSetupError,
    HaarFaceDetector,
    MMDetFaceDetector,
    MTCNNFaceDetector,
    YuNetFaceDetector,
    build_face_detector,
)
from .face_search import FaceTracks, main_track, track_faces  # noqa: F401
from .face_tracking import (  # noqa: F401
    FaceTrack,
    IoUFaceTracker,
    appearance_descriptor,
    box_iou,
    confirm_tracks,
    link_reappearances,
)
from .timeline import TIMELINE_COLUMNS, VideoTimeline, analyze_video, timeline_classes  # noqa: F401
from .study import analyze_study, collect_videos, merge_summaries, write_outputs  # noqa: F401
from .timeline_visualize import class_colours, plot_timeline, write_annotated_video  # noqa: F401
from .visualize import draw_prediction, write_video  # noqa: F401
