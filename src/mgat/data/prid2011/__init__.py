"""PRID2011 (Hirzer et al., SCIA 2011): two cameras; persons 1-200 appear in both.

The facts mgat needs about it; its reader is :mod:`.reader`, its synthetic twin :mod:`.synthetic`.
"""

from mgat.data.info import DatasetInfo, SyntheticSpec

#: The evaluation keeps the persons with at least this many frames in both cameras (torchreid's
#: rule; 178 persons on the real data).
MIN_FRAMES = 27
#: Persons 1..200 are the ones seen by both cameras; higher numbers differ between cameras.
SHARED_PERSONS = 200

INFO = DatasetInfo(
    name="prid2011",
    label="PRID2011",
    folder="prid2011",
    num_splits=10,
    source_page="https://www.tugraz.at/institute/icg/research/team-bischof/lrs/downloads/PRID11/",
    package=__name__,
    reader="Prid2011",
    placed_files={"archive": ("prid_2011.zip", "prid_2011")},
    paper_tables=(1, 3),
    synthetic=SyntheticSpec(
        size=(128, 64),
        ext=".png",
        ids=16,
        ids_min=4,
        ids_max=200,
        frames=(8, 40),
        frames_max=9999,
        split_files=("json", "mat"),
        split_min_frames=MIN_FRAMES,
    ),
)
