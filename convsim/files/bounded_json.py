"""Reading JSON that a stranger wrote: bounded in size and depth, then checked.

:func:`parse_json` refuses JSON over :data:`~convsim.files.limits.MAX_JSON_BYTES`
or nested deeper than :data:`~convsim.files.limits.MAX_JSON_DEPTH` *before*
parsing it (the depth is counted with C-speed string operations, so neither
parsing nor anything walking the result can recurse too deep), and turns every
failure (not UTF-8, not JSON, an integer of 5,000 digits) into one
:class:`~convsim.errors.ModelFileError`. :func:`expect` then checks that a
value has the type the format needs, naming where it was found.

Used for the convsim model file's ``config.json`` and ``metadata.json``; made to
serve Keras's ``config.json`` the same way.
"""

from __future__ import annotations

import json
import re

import numpy as np

from convsim.errors import ModelFileError, ModelFileTooLargeError
from convsim.files.limits import MAX_JSON_BYTES, MAX_JSON_DEPTH

__all__ = ["expect", "json_depth", "parse_json", "short"]

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", int: "an integer",
               float: "a number", bool: "true or false", type(None): "null"}


def json_depth(data: bytes) -> int:
    """How deeply lists and objects nest in the JSON text ``data`` (brackets
    inside strings do not count).

    >>> json_depth(b'{"a": [1, {"b": "]]]"}]}')
    3
    """
    skeleton = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if not skeleton:
        return 0
    codes = np.frombuffer(skeleton, np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return int(np.cumsum(steps).max())


def parse_json(data: bytes, where: str, limit: int = MAX_JSON_BYTES,
               max_depth: int = MAX_JSON_DEPTH):
    """The JSON document ``data``, checked for size and depth first.

    Args:
        data: the raw bytes (UTF-8).
        where: names the document in messages, e.g. ``"'m.convsim': config.json"``.

    Raises:
        ModelFileTooLargeError: more than ``limit`` bytes.
        ModelFileError: nested deeper than ``max_depth``, not UTF-8, not JSON.
    """
    if len(data) > limit:
        raise ModelFileTooLargeError(f"{where} holds {len(data):,} bytes of JSON; "
                                     f"convsim reads at most {limit:,}.")
    depth = json_depth(data)
    if depth > max_depth:
        raise ModelFileError(f"{where} is damaged or hostile: its JSON nests "
                             f"{depth:,} levels deep; convsim reads at most "
                             f"{max_depth}.")
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        raise ModelFileError(f"{where} is damaged: it is not valid JSON "
                             f"({type(err).__name__}: {short(err, 200)}).") from None


def expect(value, kinds, where: str, what: str):
    """``value`` if it is one of the types ``kinds``, else a ModelFileError
    saying that ``what`` (e.g. ``"config.json's 'class_name'"``) in ``where``
    is the wrong kind of JSON value. ``int`` never accepts ``true``/``false``.

    >>> expect([1], list, "'m.convsim'", "'layers'")
    [1]
    """
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    wrong_bool = isinstance(value, bool) and bool not in kinds
    if isinstance(value, kinds) and not wrong_bool:
        return value
    wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
    got = _TYPE_NAMES.get(type(value), type(value).__name__)
    raise ModelFileError(f"{where} is damaged or is not a convsim model file: "
                         f"{what} is {got} ({short(value)}); expected {wanted}.")


def short(value, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for messages."""
    text = str(value) if isinstance(value, BaseException) else repr(value)
    return text if len(text) <= limit else text[:limit - 4] + " ..."
