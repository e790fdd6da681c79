"""Market1501 (Zheng et al., ICCV 2015): 1,501 identities, 6 cameras, one image per sample.

The facts mgat needs about it; its reader is :mod:`.reader`, its synthetic twin :mod:`.synthetic`.
"""

from mgat.data.info import DatasetInfo, SyntheticSpec

#: The release folder inside the dataset's folder (the archive's own name).
RELEASE = "Market-1501-v15.09.15"

INFO = DatasetInfo(
    name="market1501",
    label="Market1501",
    folder="market1501",
    num_splits=1,
    source_page="http://www.liangzheng.org/Project/project_reid.html",
    package=__name__,
    reader="Market1501",
    placed_files={"archive": (f"{RELEASE}.zip", RELEASE)},
    paper_tables=(5,),
    kit_protocol=True,
    synthetic=SyntheticSpec(
        size=(128, 64),
        ext=".jpg",
        ids=12,
        ids_min=4,
        ids_max=700,
    ),
)
