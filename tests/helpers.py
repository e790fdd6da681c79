"""Helpers the tests share, imported from one module (``from tests.helpers import ...``).

Tiny hand-built datasets in each dataset's real on-disk layout (``build_*``), written
independently of the synthetic generator, so the readers are tested against the layout as
documented, not against our own writer: files are created out of name order and each folder
gets a stray non-image file. Also: Markdown parsed as a reader sees it (``md_tables``,
``md_text``), a local HTTP server, real full and read-only filesystems, a copy of the workflow.
The fixtures built on them live in conftest.py.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from markdown_it import MarkdownIt

#: The repository's root folder.
REPO = Path(__file__).resolve().parents[1]


def workflow_copy(folder: Path) -> Path:
    """The repository's workflow (Snakefile, rules, scripts, package source, configs) copied
    into ``folder``, for tests that change a piece of it."""
    folder.mkdir()
    for part in ("Snakefile", "workflow", "src", "config", "envs"):
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, folder / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, folder / part)
    return folder


def md_tables(md: str, code: str = "") -> list[list[list[str]]]:
    """Every table of a Markdown text as a user's renderer sees it: rows of cell texts (header
    first), parsed by markdown-it with GitHub's table extension, escapes resolved. ``code``
    (e.g. a backtick) is put around each code span, for tests where code and prose differ."""
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    tables: list[list[list[str]]] = []
    inside = False
    for token in tokens:
        if token.type in ("table_open", "table_close"):
            inside = token.type == "table_open"
            tables += [[]] if inside else []
        elif inside and token.type == "tr_open":
            tables[-1].append([])
        elif inside and token.type == "inline":
            tables[-1][-1].append(
                "".join(
                    f"{code}{child.content}{code}" if child.type == "code_inline" else child.content
                    for child in token.children or []
                )
            )
    return tables


def md_text(md: str) -> str:
    """The paragraphs and headings of a Markdown text as a reader sees them (escapes resolved)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    inside = False
    texts = []
    for token in tokens:
        if token.type in ("table_open", "table_close"):
            inside = token.type == "table_open"
        elif token.type == "inline" and not inside:
            texts.append("".join(child.content for child in token.children or []))
    return "\n".join(texts)


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8 tiny image stand-in")


def write_frames(folder: Path, names: list[str]) -> None:
    """Create ``names`` in reverse order, plus a stray non-image file."""
    for name in reversed(names):
        touch(folder / name)
    (folder / "Thumbs.db").write_bytes(b"not an image")


def build_market(root: Path) -> Path:
    base = root / "market1501" / "Market-1501-v15.09.15"
    train = ["0002_c1s1_000451_03.jpg", "0002_c2s1_000301_01.jpg", "0007_c3s3_077419_03.jpg"]
    train += ["0007_c1s1_000100_01.jpg", "0010_c6s4_002427_02.jpg"]
    query = ["0001_c1s1_001051_00.jpg", "0003_c2s1_000151_00.jpg"]
    gallery = ["0001_c2s1_000301_02.jpg", "0001_c1s1_001052_01.jpg", "0003_c1s1_000100_01.jpg"]
    gallery += ["0000_c1s1_000001_01.jpg", "0000_c4s2_000002_03.jpg"]  # distractors
    gallery += ["-1_c1s1_000401_03.jpg", "-1_c5s2_000402_01.jpg"]  # junk
    write_frames(base / "bounding_box_train", train)
    write_frames(base / "query", query)
    write_frames(base / "bounding_box_test", gallery)
    (base / "bounding_box_test" / "readme.txt").write_text("stray")
    return root


def _mars_frames(pid: str, cam: int, track: int, n: int) -> list[str]:
    return [f"{pid}C{cam}T{track:04d}F{f:03d}.jpg" for f in range(1, n + 1)]


def build_mars(root: Path) -> Path:
    """Train: persons 1, 5. Test: persons 2, 3, distractor 0, junk -1."""
    base = root / "mars"
    train_tracks = [("0001", 1, 1, 3), ("0001", 2, 2, 1), ("0005", 3, 1, 2), ("0005", 1, 2, 4)]
    test_tracks = [
        ("0002", 1, 1, 3),
        ("0002", 2, 2, 2),
        ("0002", 2, 3, 1),
        ("0003", 4, 1, 2),
        ("0003", 5, 2, 3),
        ("0000", 1, 1, 2),
        ("00-1", 3, 1, 2),
    ]
    query_rows = [1, 4]  # 1-based: person 2 cam 1, person 3 cam 4
    info = base / "info"
    info.mkdir(parents=True)
    for which, tracks in (("train", train_tracks), ("test", test_tracks)):
        names: list[str] = []
        rows = []
        for pid, cam, track, n in tracks:
            frames = _mars_frames(pid, cam, track, n)
            write_frames(base / f"bbox_{which}" / pid, frames)
            rows.append([len(names) + 1, len(names) + n, -1 if pid == "00-1" else int(pid), cam])
            names.extend(reversed(frames))  # the reader must sort a tracklet's frames
        (info / f"{which}_name.txt").write_text("\n".join(names) + "\n")
        scipy.io.savemat(
            info / f"tracks_{which}_info.mat", {f"track_{which}_info": np.array(rows, float)}
        )
    scipy.io.savemat(info / "query_IDX.mat", {"query_IDX": np.array([query_rows], float)})
    return root


def build_ilidsvid(root: Path, persons: list[int] | None = None, splits: int = 10) -> Path:
    """Persons with gaps in their numbers; short and long tracklets; the official split file."""
    persons = persons or [1, 2, 4, 7, 8, 12]
    base = root / "ilids-vid"
    for cam in (1, 2):
        for k, person in enumerate(persons):
            n = 1 + (k + cam) % 4
            names = [f"cam{cam}_person{person:03d}_{100 + 7 * f:05d}.png" for f in range(n)]
            write_frames(
                base / "i-LIDS-VID" / "sequences" / f"cam{cam}" / f"person{person:03d}", names
            )
    rng = np.random.default_rng(1)
    ls_set = np.stack([rng.permutation(len(persons)) + 1 for _ in range(splits)]).astype(float)
    split_dir = base / "train-test people splits"
    split_dir.mkdir(parents=True)
    scipy.io.savemat(split_dir / "train_test_splits_ilidsvid.mat", {"ls_set": ls_set})
    return root


def build_prid(root: Path, split_file: str | None = None) -> Path:
    """Persons 1-6 in both cameras (person 3 too short in cam_b), 201+ in one camera only."""
    base = root / "prid2011" / "prid_2011" / "multi_shot"
    frames = {"cam_a": {1: 30, 2: 27, 3: 40, 4: 28, 5: 31, 6: 29, 201: 30, 202: 5}}
    frames["cam_b"] = {1: 29, 2: 35, 3: 10, 4: 27, 5: 50, 6: 33, 201: 40}
    for cam, persons in frames.items():
        for person, n in persons.items():
            names = [f"{f:04d}.png" for f in range(1, n + 1)]
            write_frames(base / cam / f"person_{person:04d}", names)
    qualifying = ["person_0001", "person_0002", "person_0004", "person_0005", "person_0006"]
    if split_file == "json":
        splits = [{"train": qualifying[:2], "test": qualifying[2:4]} for _ in range(10)]
        (root / "prid2011" / "splits_prid2011.json").write_text(json.dumps(splits))
    elif split_file == "mat":
        ls_set = np.array([[2, 4, 1, 3], [1, 2, 3, 4]], float)  # indices into ``qualifying``
        scipy.io.savemat(root / "prid2011" / "train_test_splits_prid.mat", {"ls_set": ls_set})
    return root


class HttpServer:
    """Serves the files of ``root`` on a free localhost port and records each request."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        handler = functools.partial(Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def closed_port_url(name: str) -> str:
    """A localhost URL on a port nobody listens on: a download from it fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{name}"


def serve_as_torchvision_file(
    server: HttpServer, backbone: str, content: bytes, prefix: str | None = None
) -> str:
    """Serve ``content`` under a name like torchvision's, ``<backbone>-<sha256 prefix>.pth``
    (or ``prefix`` instead of the content's), and return the name."""
    prefix = prefix or hashlib.sha256(content).hexdigest()[:8]
    name = f"{backbone}-{prefix}.pth"
    (server.root / name).write_bytes(content)
    return name


# --- real full and read-only filesystems -----------------------------------------------------


@functools.cache
def _tmpfs_refusal() -> str | None:
    """Why a tmpfs cannot be mounted in a private namespace here (None: it can)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "no unshare command"
    with tempfile.TemporaryDirectory() as folder:
        probe = [unshare, "-rm", "mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", folder]
        result = subprocess.run(probe, capture_output=True, text=True, check=False)
    return (result.stderr.strip() or f"exit {result.returncode}") if result.returncode else None


def run_on_tmpfs(mount: Path, options: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with a tmpfs (``options``: ``size=256k``, ``ro``) mounted at ``mount`` in a
    private mount namespace (``unshare -rm``): a real full or read-only filesystem, which the
    tests' root user cannot get from file permissions. Skips where that is not permitted."""
    refusal = _tmpfs_refusal()
    if refusal is not None:
        pytest.skip(f"unshare -rm cannot mount a tmpfs here ({refusal.splitlines()[0]})")
    mount.mkdir(parents=True, exist_ok=True)
    script = 'mount -t tmpfs -o "$1" tmpfs "$2" && shift 2 && exec "$@"'
    command = ["unshare", "-rm", "sh", "-c", script, "sh", options, str(mount), *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single ``mgat: error:`` line a failed command printed (no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mgat: error: "), result.stderr
    return lines[0]
