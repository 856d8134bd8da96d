"""Photo bytes to MNIST-like 28x28 digit images, in stages: decode, ink (light evened out, threshold),
lines (rulings removed), segmentation (the digits found) and normalisation (as MNIST was made)."""

# The chain, each step a function on NumPy arrays (its stage module in brackets):
#
# 1. decode_image (decode) - bytes to a grayscale uint8 photo, EXIF orientation applied,
#    transparency composited over white or black (flatten_alpha), with size limits checked
#    from the header before any pixel is decoded.
# 2. to_working_size (decode) - scale so the long side is between 320 and 1024 px.
# 3. ink_map (ink) - detect polarity, estimate the paper's background (a grey-level
#    closing on a small copy), divide it out, so shadows and uneven light vanish:
#    float32 ink strength in [0, 1].
# 4. binarize (ink) - hysteresis threshold on the ink map (Otsu with a floor).
# 5. remove_lines (lines) - ruled and grid lines (long thin horizontal/vertical runs).
# 6. sharpen_thick_marks (ink) - marks too thick for a pen cut to their ink's core, so a
#    blurred photo's strokes get back their width and their holes.
# 7. find_digit_boxes (segmentation) - connected components, minus specks, filled blobs,
#    border-touching paper edges and table regions; strokes grouped into digits; touching
#    digits split; ordered left to right.
# 8. normalize_digit (normalisation) - stroke width evened out, fitted into 20x20 keeping
#    the aspect ratio with anti-aliasing, placed on 28x28 with its center of mass at the
#    center, as MNIST was made (LeCun, Bottou, Bengio, Haffner 1998; the MNIST page).
#
# segment_photo (segmentation) runs steps 2-8; preprocess_bytes runs 1-8; photo_ink runs 2-4
# (shared by segment_photo's runs on one photo, and the region the number reader reads when
# segment_photo finds no digit).

from core.preprocessing.decode import (
    ALPHA_MODES,
    MAX_BYTES,
    MAX_PIXELS,
    MIN_SIDE,
    OPAQUE_PAPER,
    PILLOW_FORMATS,
    SUPPORTED_FORMATS,
    WORKING_MAX,
    WORKING_MIN,
    decode_image,
    flatten_alpha,
    probe_image,
    to_working_size,
)
from core.preprocessing.ink import (
    BLUR_CORE_LEVEL,
    CORE_WHOLE,
    FAINT_FLOOR_GRAIN_RATIO,
    FAINT_FLOOR_MIN,
    MAX_SHARPENED_MARKS,
    STRONG_FLOOR,
    THICK_RADIUS_RATIO,
    binarize,
    faint_floor,
    ink_map,
    is_light_on_dark,
    sharpen_thick_marks,
)
from core.preprocessing.lines import MAX_FAINT_COVERAGE, PEN_OVER_PRINT, remove_border_regions, remove_lines
from core.preprocessing.normalisation import (
    TARGET_STROKE,
    center_of_mass,
    crop_to_bounding_box,
    enclosing_box,
    fit_in_box,
    normalize_digit,
    normalize_stroke_width,
    pad_to_canvas,
    remove_hairlines,
    shift_to_center_of_mass,
    to_model_input,
)
from core.preprocessing.segmentation import (
    FILLED_HOLE_RATIO,
    MAX_BOLD_SOLIDITY,
    MAX_DIGITS,
    MIN_DIGIT_HEIGHT,
    MAX_PEN_WIDEST_RATIO,
    MAX_TILT,
    MIN_PEN_WIDTH,
    MIN_TILT,
    SHADOW_STRENGTH,
    Segmentation,
    find_digit_boxes,
    looks_like_pen_strokes,
    preprocess_bytes,
    rotate_mask,
    segment_photo,
    text_line_tilt,
    PhotoInk,
    faint_photo_ink,
    photo_ink,
)

# Private helpers that tests/core/test_preprocessing.py reaches for as ``pp._Blob`` and
# ``pp._longest_span``.
from core.preprocessing.lines import _longest_span as _longest_span
from core.preprocessing.segmentation import _Blob as _Blob

__all__ = [
    # decode
    "ALPHA_MODES", "MAX_BYTES", "MAX_PIXELS", "MIN_SIDE", "OPAQUE_PAPER", "PILLOW_FORMATS",
    "SUPPORTED_FORMATS", "WORKING_MAX", "WORKING_MIN",
    "decode_image", "flatten_alpha", "probe_image", "to_working_size",
    # ink
    "BLUR_CORE_LEVEL", "CORE_WHOLE", "FAINT_FLOOR_GRAIN_RATIO", "FAINT_FLOOR_MIN", "MAX_SHARPENED_MARKS",
    "STRONG_FLOOR", "THICK_RADIUS_RATIO",
    "binarize", "faint_floor", "ink_map", "is_light_on_dark", "sharpen_thick_marks",
    # lines
    "MAX_FAINT_COVERAGE", "PEN_OVER_PRINT", "remove_border_regions", "remove_lines",
    # normalisation
    "TARGET_STROKE", "center_of_mass", "crop_to_bounding_box", "enclosing_box", "fit_in_box", "normalize_digit",
    "normalize_stroke_width", "pad_to_canvas", "remove_hairlines", "shift_to_center_of_mass",
    "to_model_input",
    # segmentation
    "FILLED_HOLE_RATIO", "MAX_BOLD_SOLIDITY", "MAX_DIGITS", "MAX_PEN_WIDEST_RATIO", "MAX_TILT",
    "MIN_DIGIT_HEIGHT", "MIN_PEN_WIDTH", "MIN_TILT", "SHADOW_STRENGTH", "Segmentation", "find_digit_boxes",
    "looks_like_pen_strokes", "preprocess_bytes", "rotate_mask", "segment_photo", "text_line_tilt",
    "PhotoInk", "photo_ink", "faint_photo_ink",
]
