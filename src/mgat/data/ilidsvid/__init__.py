"""iLIDS-VID (Wang et al., ECCV 2014): 300 persons, one tracklet in each of two cameras.

The facts mgat needs about it; its reader is :mod:`.reader`, its synthetic twin :mod:`.synthetic`.
"""

from mgat.data.info import DatasetInfo, SyntheticSpec

INFO = DatasetInfo(
    name="ilidsvid",
    label="iLIDS-VID",
    folder="ilids-vid",
    num_splits=10,
    source_page="http://www.eecs.qmul.ac.uk/~xiatian/downloading.html",
    package=__name__,
    reader="IlidsVid",
    placed_files={"archive": ("iLIDS-VID.tar", "i-LIDS-VID")},
    paper_tables=(1, 2),
    synthetic=SyntheticSpec(
        size=(128, 64),
        ext=".png",
        ids=16,
        ids_min=4,
        ids_max=900,
        even=True,
        frames=(8, 16),
        frames_max=9000,
    ),
)
