"""The folders ``flow_from_directory`` reads: ``directory/<class>/<images>``.

Which sub-folders are classes (sorted names, as Keras), which files in them
are images (by their ending, recursively, hidden files left out), and what to
say about files that are not readable images: ``flow_from_directory`` checks
every file's header when it lists the folder
(:func:`~convsim.preprocessing.image_utils.image_file_problem`), so a
truncated photo is reported before the first batch, not in the middle of
epoch 3, and then either refuses the folder with the full list of bad files
(``on_error='raise'``) or leaves them out and says how many
(``on_error='skip'``).
"""

from __future__ import annotations

import os

from convsim.errors import ArgumentError, MissingFileError
from convsim.preprocessing.image_utils import IMAGE_EXTENSIONS

__all__ = ["ON_ERROR", "class_names", "list_class_files", "skipped_message",
           "unreadable_message"]

#: What ``flow_from_directory`` does with files that are not readable images:
#: ``'raise'``, the default, refuses the folder and lists them all (Keras never
#: leaves a file out either; it fails when a batch meets one), or ``'skip'``
#: leaves them out, says how many, and keeps them in the iterator's
#: ``skipped``.
ON_ERROR = ("raise", "skip")
_SUFFIXES = tuple("." + ext for ext in IMAGE_EXTENSIONS)


def class_names(directory: str, classes, class_mode) -> list[str]:
    """The class folders, sorted unless ``classes`` names them; checked."""
    if not classes:
        classes = sorted(d for d in os.listdir(directory)
                         if os.path.isdir(os.path.join(directory, d)))
    elif (isinstance(classes, str) or not all(isinstance(c, str) for c in classes)
          or len(set(classes)) != len(classes)):
        raise ArgumentError("`classes` must be a list of distinct sub-folder names, "
                            f"e.g. ['cats', 'dogs']. Received: classes={classes!r}")
    classes = list(classes)
    if class_mode == "binary" and len(classes) != 2:
        raise ArgumentError(
            "class_mode='binary' needs exactly 2 classes (one sub-folder each), "
            "whose labels are 0 and 1; found "
            f"{len(classes)} in {directory!r}: {classes}. Use "
            "class_mode='categorical' or 'sparse' for more classes, or pass "
            "classes=[two names].")
    return classes


def list_class_files(directory, class_name, split, follow_links) -> list[str]:
    """Image files under ``directory/class_name`` (recursively, sorted like
    Keras), relative to ``directory``; other files are skipped. Each folder
    is listed once, even when a followed link leads back to one already seen."""
    class_dir = os.path.join(directory, class_name)
    if not os.path.isdir(class_dir):
        raise MissingFileError(f"Class folder {class_name!r} not found in "
                               f"{directory!r}.")
    found, seen = [], set()
    walk = sorted(os.walk(class_dir, followlinks=follow_links),
                  key=lambda entry: entry[0])
    for root, _, files in walk:
        folder = os.stat(root)
        if (folder.st_dev, folder.st_ino) in seen:
            continue
        seen.add((folder.st_dev, folder.st_ino))
        for fname in sorted(files):
            # Hidden files are skipped too: macOS "._photo.jpg" copies are not
            # images although their names end like one.
            if fname.lower().endswith(_SUFFIXES) and not fname.startswith("."):
                rel = os.path.relpath(os.path.join(root, fname), class_dir)
                found.append(os.path.join(class_name, rel))
    if split is not None:
        start, stop = int(split[0] * len(found)), int(split[1] * len(found))
        found = found[start:stop]
    return found


def unreadable_message(directory: str, bad, total: int) -> str:
    lines = "\n".join(f"  {name}: {why}" for name, why in bad)
    return (f"{len(bad)} of the {total} image files in {directory!r} cannot be "
            f"used:\n{lines}\nDelete or replace them, or pass on_error='skip' "
            "to flow_from_directory to leave them out.")


def skipped_message(skipped) -> str:
    shown = ", ".join(name for name, _ in skipped[:5])
    more = f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    return (f"Skipped {len(skipped)} unreadable image file(s) (on_error='skip'): "
            f"{shown}{more}. The iterator's .skipped lists them with the reasons.")
