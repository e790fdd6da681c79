"""MARS (Zheng et al., ECCV 2016): 1,261 identities, 6 cameras, automatically detected tracklets.

The facts mgat needs about it; its reader is :mod:`.reader`, its synthetic twin :mod:`.synthetic`.
"""

from mgat.data.info import DatasetInfo, SyntheticSpec

INFO = DatasetInfo(
    name="mars",
    label="MARS",
    folder="mars",
    num_splits=1,
    source_page=(
        "http://www.liangzheng.org/Project/project_mars.html (frames) and "
        "https://github.com/liangzheng06/MARS-evaluation (info/)"
    ),
    package=__name__,
    reader="Mars",
    placed_files={
        "bbox_train": ("bbox_train.zip", "bbox_train"),
        "bbox_test": ("bbox_test.zip", "bbox_test"),
        "info": ("info", "info"),
    },
    paper_tables=(1, 4),
    kit_protocol=True,
    query_in_kit_gallery=True,
    synthetic=SyntheticSpec(
        size=(256, 128),
        ext=".jpg",
        ids=8,
        ids_min=4,
        ids_max=700,
        frames=(2, 8),
        frames_max=999,
    ),
)
