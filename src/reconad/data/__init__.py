"""Data sources (synthetic series, tables, benchmarks) and the window view of a series."""

from reconad.data.synthetic import SineData, make_sine
from reconad.data.windows import WindowFolder, fold_windows, sliding_windows, window_starts

__all__ = ["SineData", "make_sine", "WindowFolder", "fold_windows", "sliding_windows", "window_starts"]

from reconad.data.images import ImageData, load_digits_images, load_mnist, read_idx  # noqa: E402

__all__ += ["ImageData", "load_digits_images", "load_mnist", "read_idx"]

from reconad.data.tables import Table, read_table  # noqa: E402

__all__ += ["Table", "read_table"]

from reconad.data.nab import NabSeries, load_nab, load_nab_series  # noqa: E402
from reconad.data.skab import SkabFile, load_skab, load_skab_anomaly_free, load_skab_file  # noqa: E402

__all__ += [
    "NabSeries",
    "load_nab",
    "load_nab_series",
    "SkabFile",
    "load_skab",
    "load_skab_anomaly_free",
    "load_skab_file",
]
