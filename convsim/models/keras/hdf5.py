"""HDF5 read safely: every object checked before its data is read (h5py, lazily).

Keras keeps weights in HDF5: a whole legacy ``.h5`` model, or the
``model.weights.h5`` inside a ``.keras`` archive. An HDF5 file is a tree of
groups and datasets whose headers, like a ZIP archive's, are claims. Keras
3.15's own reader refuses external and soft links, external and virtual
datasets and datasets declaring 1,000 times more than they store
(``safe_get_h5_group`` / ``safe_get_h5_dataset`` in
keras/src/saving/saving_lib.py, after CVE-2025-9905); :class:`H5Reader` does
all of that and more, before reading any values:

* a path is followed one link at a time and every link must be a hard link
  (external links name other files, soft links may loop); a group lists at
  most :data:`~convsim.files.limits.MAX_MEMBERS` members;
* a dataset must be stored in the file (contiguous, chunked or compact: no
  external storage, no virtual dataset), filtered by nothing but gzip and
  shuffle (the decoders of others may allocate without bound, or are
  plugins, that is code), hold plain real numbers of the kinds its caller
  allows, have the shape its caller expects from the architecture, and
  chunks no larger than :data:`~convsim.files.limits.MAX_HDF5_CHUNK_BYTES`
  or the dataset itself;
* its values count against the load's :class:`~convsim.files.bounded_zip.Budget`
  before anything is allocated;
* attributes (Keras's JSON ``model_config``, its ``layer_names`` and
  ``weight_names`` lists) are read only when their size and type fit.

Anything h5py or the HDF5 library raises becomes a
:class:`~convsim.errors.ModelFileError` saying the file is damaged.
h5py is imported on first use only: convsim needs it for Keras files alone
(``pip install 'convsim[keras]'``), and without it a Keras file gets one line
saying so.
"""

from __future__ import annotations

import contextlib
import io
import math
import os

import numpy as np

from convsim.errors import ConvsimError, MissingPackageError, ModelFileError
from convsim.files.bounded_json import short
from convsim.files.bounded_zip import Budget
from convsim.files.limits import (
    MAX_ARRAY_NDIM,
    MAX_HDF5_CHUNK_BYTES,
    MAX_JSON_BYTES,
    MAX_MEMBERS,
)
from convsim.models.keras.global_heap import check_global_heaps

__all__ = ["INSTALL", "H5Reader", "h5py_module", "write_h5"]

#: How to get h5py, said whenever it is missing.
INSTALL = "pip install 'convsim[keras]'"
_GZIP, _SHUFFLE = 1, 2  # HDF5's filter codes (H5Z_FILTER_DEFLATE, _SHUFFLE)
_FLOATS = "f"
_INTEGERS = "iu"


def h5py_module(error=MissingPackageError, doing: str = "Reading Keras files",
                doing_ko: str = "케라스 파일을 읽으려면"):
    """h5py, imported now; if it is not installed, ``error`` saying that
    ``doing`` needs it and how to install it (one line; ``doing_ko`` is the
    same in Korean, ending in -려면: "to do this")."""
    try:
        import h5py
    except ImportError:
        raise error(f"{doing} needs h5py, which is not installed: {INSTALL}",
                    ko=f"{doing_ko} h5py가 필요한데 설치되어 있지 않습니다: "
                    f"{INSTALL}") from None
    return h5py


def write_h5(fill) -> bytes:
    """The bytes of a new HDF5 file that ``fill(h5py.File)`` fills, made in
    memory (so that the file on disk is written atomically, whole)."""
    h5py = h5py_module(doing="Writing a Keras file", doing_ko="케라스 파일을 쓰려면")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as file:
        fill(file)
    return buffer.getvalue()


def _whole(file):
    """The whole file as a bytes-like object, without copying it: the
    memory of an in-memory file, else a read-only memory map."""
    import mmap

    view = getattr(file, "_view", None)
    if view is not None:
        return view.obj if isinstance(view.obj, (bytes, bytearray)) else bytes(view)
    size = os.fstat(file.fileno()).st_size
    return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) if size else b""


class H5Reader:
    """An HDF5 file opened for reading within ``budget``.

    Args:
        file: a binary, seekable file object (h5py reads it through Python).
        where: names the file in messages, e.g. ``"'m.keras': model.weights.h5"``.
        budget: the load's budget, shared with the archive around it.
    """

    def __init__(self, file, where: str, budget: Budget):
        self.h5py = h5py_module(ModelFileError, f"{where} is an HDF5 file (probably "
                                "saved by Keras); reading it",
                                f"{where}: HDF5 파일(아마 케라스가 저장한 파일)입니다. "
                                "이 파일을 읽으려면")
        self.where, self.budget = where, budget
        check_global_heaps(_whole(file), where)
        try:
            self.file = self.h5py.File(file, "r")
        except Exception as err:  # OSError mostly: HDF5 cannot open it
            raise ModelFileError(
                f"{where} is an HDF5 file (probably saved by Keras), but HDF5 cannot "
                f"open it: it is damaged ({type(err).__name__}: {short(err, 200)})."
            ) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.file.close()

    def __enter__(self) -> H5Reader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def reading(self, what: str):
        """Turn whatever h5py or HDF5 raise while reading ``what`` into a
        :class:`ModelFileError` (convsim's own errors pass through)."""
        try:
            yield
        except (ConvsimError, MemoryError):
            raise
        except Exception as err:  # OSError, KeyError, RuntimeError, ValueError...
            raise ModelFileError(f"{self.where} is damaged: reading {what} failed "
                                 f"({type(err).__name__}: {short(err, 200)})."
                                 ) from None

    # ------------------------------------------------------------ tree
    def get(self, parent, path: str, kind: str = "group"):
        """The group (or dataset, ``kind="dataset"``) at ``path`` under
        ``parent`` (the file when ``None``), or ``None`` if nothing is there.
        Each step must be a hard link to a group; the last to ``kind``."""
        node = self.file if parent is None else parent
        parts = path.split("/")
        for i, part in enumerate(parts):
            with self.reading(f"{short(path)}"):
                if not part or part not in node:
                    return None
                link = node.get(part, getlink=True)
                if not isinstance(link, self.h5py.HardLink):
                    full = f"{node.name.rstrip('/')}/{part}"
                    raise ModelFileError(
                        f"{self.where} is hostile or unusual: {short(full)} is "
                        f"{'an' if 'External' in type(link).__name__ else 'a'} "
                        f"{type(link).__name__}; convsim follows only hard links "
                        "(an external link opens another file, a soft link may "
                        "loop).")
                node = node[part]
            last = i == len(parts) - 1
            wanted = self.h5py.Dataset if last and kind == "dataset" \
                else self.h5py.Group
            if not isinstance(node, wanted):
                raise ModelFileError(
                    f"{self.where} is damaged: {short(path)} should be a "
                    f"{'dataset' if wanted is self.h5py.Dataset else 'group'}, "
                    f"found a {type(node).__name__}.")
        return node

    def names(self, group) -> list[str]:
        """The member names of ``group`` (at most MAX_MEMBERS)."""
        with self.reading("a group's members"):
            count = len(group)
            if count > MAX_MEMBERS:
                raise ModelFileError(f"{self.where} is damaged or hostile: group "
                                     f"{short(group.name)} holds {count:,} members; "
                                     f"convsim reads at most {MAX_MEMBERS:,}.")
            return list(group)

    # ------------------------------------------------------------ datasets
    def declared(self, dataset, kinds: str = _FLOATS) -> tuple[tuple, np.dtype]:
        """``(shape, dtype)`` of ``dataset`` after checking how it is stored
        and that it holds plain real numbers of ``kinds`` ('f', 'iu')."""
        name = short(dataset.name)
        with self.reading(f"the header of {name}"):
            shape, dtype = dataset.shape, dataset.dtype
            plist = dataset.id.get_create_plist()
            layout = plist.get_layout()
            external = plist.get_external_count()
            filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
            chunks = dataset.chunks
        h5d = self.h5py.h5d
        self._refuse_storage(name, layout, external, filters, h5d)
        if (dtype.kind not in kinds or dtype.names is not None or dtype.shape != ()
                or dtype.itemsize not in (1, 2, 4, 8) or dtype.hasobject):
            wanted = "floats" if kinds == _FLOATS else "integers"
            raise ModelFileError(f"{self.where}: {name} holds values of dtype "
                                 f"{short(str(dtype))}; convsim reads {wanted} of "
                                 "1 to 8 bytes here.")
        if shape is None or len(shape) > MAX_ARRAY_NDIM:
            raise ModelFileError(f"{self.where} is damaged or hostile: {name} has "
                                 f"the shape {short(shape)}; convsim reads arrays of "
                                 f"at most {MAX_ARRAY_NDIM} axes.")
        nbytes = math.prod(shape) * dtype.itemsize
        chunk = math.prod(chunks) * dtype.itemsize if chunks else 0
        if chunk > max(nbytes, MAX_HDF5_CHUNK_BYTES):
            raise ModelFileError(
                f"{self.where} is damaged or hostile: {name} ({nbytes:,} bytes) is "
                f"stored in chunks of {chunk:,} bytes; convsim reads chunks of at "
                f"most the dataset's size or {MAX_HDF5_CHUNK_BYTES:,} bytes.")
        return tuple(int(n) for n in shape), dtype

    def _refuse_storage(self, name, layout, external, filters, h5d) -> None:
        problem = ("is a virtual dataset (its values live in other files)"
                   if layout == h5d.VIRTUAL
                   else "keeps its values in external files" if external
                   else f"uses the storage layout {layout}"
                   if layout not in (h5d.CONTIGUOUS, h5d.CHUNKED, h5d.COMPACT)
                   else f"is filtered by HDF5 filter {sorted(set(filters))}"
                   if set(filters) - {_GZIP, _SHUFFLE} else None)
        if problem:
            raise ModelFileError(
                f"{self.where} is hostile or unusual: {name} {problem}; convsim "
                "reads datasets stored in the file itself, uncompressed or with "
                "gzip and shuffle only (filter codes 1 and 2).")

    def read(self, dataset, shape: tuple, what: str, kinds: str = _FLOATS
             ) -> np.ndarray:
        """The values of ``dataset``, after checking its storage, dtype and
        that its shape is ``shape`` (what the architecture needs), and taking
        its size from the budget."""
        declared, dtype = self.declared(dataset, kinds)
        if declared != tuple(shape):
            raise ModelFileError(f"{self.where}: {what} ({short(dataset.name)}) has "
                                 f"shape {declared}, but the architecture needs "
                                 f"{tuple(shape)}.")
        out = np.empty(declared, dtype.newbyteorder("="))
        self.budget.take(out.nbytes, f"{short(dataset.name)} (shape {declared} of "
                         f"{dtype})")
        with self.reading(short(dataset.name)):
            if out.size:
                dataset.read_direct(out)
        return out

    # ------------------------------------------------------------ attributes
    def text(self, obj, name: str, limit: int = MAX_JSON_BYTES) -> str | None:
        """The string attribute ``name`` of ``obj`` (at most ``limit`` bytes of
        UTF-8), or ``None`` if there is none."""
        with self.reading(f"the attribute {short(name)}"):
            if name not in obj.attrs:
                return None
            info = obj.attrs.get_id(name)
            string = self.h5py.check_string_dtype(info.dtype)
            if string is None or info.shape != ():
                raise ModelFileError(f"{self.where} is damaged: its attribute "
                                     f"{short(name)} is not a string.")
            if string.length is not None and info.get_storage_size() > limit:
                raise ModelFileError(self._too_long(name, info.get_storage_size(),
                                                    limit))
            value = obj.attrs[name]
        data = value if isinstance(value, bytes) else str(value).encode(
            "utf-8", "surrogateescape")  # h5py keeps undecodable bytes so
        if len(data) > limit:
            raise ModelFileError(self._too_long(name, len(data), limit))
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ModelFileError(f"{self.where} is damaged: its attribute "
                                 f"{short(name)} is not UTF-8 ({err}).") from None

    def _too_long(self, name: str, size: int, limit: int) -> str:
        return (f"{self.where} is damaged or hostile: its attribute {short(name)} "
                f"holds {size:,} bytes; convsim reads at most {limit:,}.")

    def strings(self, obj, name: str) -> list[str] | None:
        """The list-of-strings attribute ``name`` of ``obj``, also when Keras
        split it into ``name0``, ``name1``, ... (``save_attributes_to_hdf5_group``
        in keras/src/legacy/saving/legacy_h5_format.py), or ``None``."""
        with self.reading(f"the attribute {short(name)}"):
            keys = [name] if name in obj.attrs else self._chunk_keys(obj, name)
            if not keys:
                return None
            values = []
            for key in keys:
                values += self._string_list(obj, key, MAX_MEMBERS - len(values))
        return values

    def _chunk_keys(self, obj, name: str) -> list[str]:
        keys = []
        while f"{name}{len(keys)}" in obj.attrs and len(keys) < MAX_MEMBERS:
            keys.append(f"{name}{len(keys)}")
        return keys

    def _string_list(self, obj, key: str, room: int) -> list[str]:
        info = obj.attrs.get_id(key)
        string = self.h5py.check_string_dtype(info.dtype)
        empty = info.dtype.kind == "f" and info.shape == (0,)  # Keras: np.array([])
        if not empty and (string is None or len(info.shape) != 1):
            raise ModelFileError(f"{self.where} is damaged: its attribute "
                                 f"{short(key)} is not a list of strings.")
        if info.shape[0] > room:
            raise ModelFileError(f"{self.where} is damaged or hostile: its attribute "
                                 f"{short(key)} lists {info.shape[0]:,} names; convsim "
                                 f"reads at most {MAX_MEMBERS:,}.")
        if string is not None and string.length is not None \
                and info.get_storage_size() > MAX_JSON_BYTES:
            raise ModelFileError(self._too_long(key, info.get_storage_size(),
                                                MAX_JSON_BYTES))
        values = [] if empty else list(obj.attrs[key])
        try:
            return [(v if isinstance(v, bytes) else str(v).encode(
                "utf-8", "surrogateescape")).decode("utf-8") for v in values]
        except UnicodeDecodeError as err:
            raise ModelFileError(f"{self.where} is damaged: its attribute "
                                 f"{short(key)} is not UTF-8 ({err}).") from None
