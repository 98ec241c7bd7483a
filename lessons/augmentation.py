"""Lesson: data augmentation — one photo, many plausible new photos.

Run it::

    python -m convsim.lesson augmentation
    python -m convsim.lesson augmentation --image my_cat.jpg --lang ko
    python -m convsim.lesson augmentation --data cats_and_dogs_small --save grid.png

The book (5.2.5): 2,000 training photos are too few; the convnet memorises
them. Data augmentation makes new training photos from the old ones with
random, believable changes: rotate, shift, shear, zoom, flip. The model then
never sees exactly the same picture twice. The notes' preview generator is
``ImageDataGenerator(rotation_range=30, width_shift_range=0.1,
height_shift_range=0.1, shear_range=0.2, zoom_range=0.5,
horizontal_flip=True, fill_mode='nearest')``; this lesson applies each change
alone at its largest value, then draws four random versions, as the notes do.
``--save grid.png`` writes the notes' 2x2 matplotlib figure instead.

The photo is ``--image PATH``, else the 8th cat of ``--data DIR`` (the
notes' ``fnames[7]``), else the same from a ``cats_and_dogs_small`` folder
convsim knows about, else a drawn picture, so the lesson always works.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageDraw
from rich.console import Console, Group
from rich.text import Text

from convsim.lesson.frames import Frame, Lesson
from convsim.lesson.layout import Fit
from convsim.lesson.layout import sides as smaller_sides
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.preprocessing.image import (
    ImageDataGenerator,
    img_to_array,
    load_img,
)
from convsim.preprocessing.preview import save_augmentation_grid
from convsim.viz.conv_view import side_by_side
from convsim.viz.image import Photo

NAME = "augmentation"
TITLE = {"en": "Data augmentation", "ko": "데이터 증식"}
SUMMARY = {
    "en": "rotate, shift, shear, zoom and flip one photo: the book's "
          "ImageDataGenerator, change by change",
    "ko": "사진 한 장을 회전·이동·전단·확대·뒤집기: 노트의 ImageDataGenerator를 "
          "하나씩",
}
FPS = 0.5
SIZE = (36, 16, 72)  # pixels per side of each picture drawn in the terminal
OPTIONS = {"image": ("PATH", "your own photo"),
           "data": ("DIR", "a cats_and_dogs_small folder")}
TARGET_SIZE = (150, 150)  # the photos are resized to this first, like the book
PHOTO_INDEX = 7  # the notes pick fnames[7] of the sorted train/cats folder
VARIANTS = 4  # the notes' 2x2 grid
#: The generator of the notes' preview block.
PREVIEW = {"rotation_range": 30, "width_shift_range": 0.1,
           "height_shift_range": 0.1, "shear_range": 0.2, "zoom_range": 0.5,
           "horizontal_flip": True, "fill_mode": "nearest"}
BIG_SHEAR = 20  # degrees: what a visible shear looks like, for contrast

TEXT = {
    "en": {
        "intro": "{source}, resized to {h}×{w} like every training photo. The "
                 "convnet saw only 2,000 such photos, so it learnt them by heart. "
                 "Augmentation turns each photo into endless believable variants. "
                 "First each change alone, at the largest value the notes allow.",
        "rotation": "rotation_range=30: turn by up to 30° either way. Here "
                    "theta = {theta}° (counter-clockwise). The corners had no "
                    "pixels, so fill_mode='nearest' repeats the nearest edge pixel.",
        "width": "width_shift_range=0.1: shift by up to 0.1 × {w} = {px} pixels "
                 "sideways. Here tx = {tx}: each output pixel takes the input "
                 "pixel {px} columns to its {side}, so the picture moves {px} "
                 "pixels to the {moves}.",
        "height": "height_shift_range=0.1: the same vertically. ty = {ty}: the "
                  "picture moves {px} pixels {moves}.",
        "shear": "shear_range=0.2 is in degrees in Keras: a slant of at most 0.2°, "
                 "less than one pixel over the whole photo (here {shear}°; the "
                 "largest pixel change is {moved} pixels): it looks like the "
                 "original. On the right, {big}° for comparison: that is what a "
                 "shear looks like.",
        "zoom_in": "zoom_range=0.5: scale factors from 0.5 to 1.5, drawn "
                   "separately for width and height. A factor below 1 samples a "
                   "smaller area, so the photo is enlarged: zx = zy = {z} shows the "
                   "middle half, twice as big.",
        "zoom_out": "zx = zy = {z}: a factor above 1 shrinks the photo to 1/{z} "
                    "of its size; the border is filled with repeated edge pixels.",
        "flip": "horizontal_flip=True: half of the photos are mirrored left to "
                "right. A cat facing left is still a cat. (No vertical_flip: "
                "upside-down cats are rare in photos.)",
        "random": "Random version {k} of {n}, all changes drawn at once: "
                  "rotation {theta}°, shift ({tx}, {ty}) px, shear {shear}°, "
                  "zoom ({zx}, {zy}), {flip}.",
        "flipped": "mirrored",
        "not_flipped": "not mirrored",
        "grid": "The four versions together, as the notes' 2×2 figure shows them "
                "(save it as a picture: --save grid.png). Each epoch the "
                "generator draws new ones, so the network never sees exactly the "
                "same photo twice. They are still the same cat, though: the "
                "variants are strongly correlated, which is why the notes also "
                "add Dropout(0.5) before the classifier.",
        "outro": "Train with augmentation + dropout: python -m convsim train "
                 "cats-vs-dogs --augment --dropout 0.5 (the notes' training "
                 "generator turns by 40° and shears by 0.4°). Validation and "
                 "test photos are never augmented: only rescale=1./255.",
        "original": "original",
        # the title over each changed picture
        "title_rotation": "rotation", "title_width": "width shift",
        "title_height": "height shift", "title_shear": "shear",
        "title_zoom_in": "zoom in", "title_zoom_out": "zoom out",
        "title_flip": "flip",
        "drawn": "a picture drawn by convsim (no photo found: use --image PATH or "
                 "--data DIR for a real one)",
        "photo": "The photo {name}",
    },
    "ko": {
        "intro": "{source}, 모든 훈련 사진처럼 {h}×{w}(으)로 크기를 바꿨습니다. "
                 "컨브넷은 이런 사진 2,000장만 보았기 때문에 사진을 외워 "
                 "버렸습니다(과대적합). 데이터 증식은 사진 한 장에서 그럴듯한 "
                 "변형을 끝없이 만듭니다. 먼저 노트의 설정 하나하나를 최댓값으로 "
                 "적용해 봅니다.",
        "rotation": "rotation_range=30: 양쪽으로 최대 30° 회전. 여기서는 "
                    "theta = {theta}° (반시계 방향). 모서리에는 픽셀이 없으므로 "
                    "fill_mode='nearest'가 가장 가까운 가장자리 픽셀로 채웁니다.",
        "width": "width_shift_range=0.1: 최대 0.1 × {w} = {px}픽셀 수평 이동. "
                 "tx = {tx}: 출력 픽셀마다 {px}열 {side_ko}쪽의 입력 픽셀을 가져오므로 "
                 "그림이 {moves_ko}쪽으로 {px}픽셀 움직입니다.",
        "height": "height_shift_range=0.1: 같은 이동을 수직으로. ty = {ty}: 그림이 "
                  "{moves_ko}쪽으로 {px}픽셀 움직입니다.",
        "shear": "케라스에서 shear_range=0.2의 단위는 도(°)입니다: 최대 0.2° 기울기, "
                 "사진 전체에서 1픽셀도 안 됩니다 (여기서는 {shear}°, 가장 크게 "
                 "움직인 픽셀도 {moved}픽셀) 원본과 거의 같습니다. "
                 "오른쪽은 비교용 {big}° 전단입니다.",
        "zoom_in": "zoom_range=0.5: 확대/축소 비율을 너비와 높이에 따로 0.5~1.5에서 "
                   "뽑습니다. 1보다 작으면 더 좁은 영역을 보므로 사진이 커집니다: "
                   "zx = zy = {z}(은)는 가운데 절반을 두 배로 보여 줍니다.",
        "zoom_out": "zx = zy = {z}: 1보다 크면 사진이 1/{z} 크기로 줄어들고, "
                    "가장자리는 가장 가까운 픽셀로 채워집니다.",
        "flip": "horizontal_flip=True: 사진의 절반을 좌우로 뒤집습니다. 왼쪽을 보는 "
                "고양이도 고양이입니다. (vertical_flip은 없음: 거꾸로 된 고양이 "
                "사진은 드뭅니다.)",
        "random": "무작위 변형 {n}개 중 {k}번째, 모든 변환을 한 번에 뽑았습니다: "
                  "회전 {theta}°, 이동 ({tx}, {ty})픽셀, 전단 {shear}°, "
                  "확대/축소 ({zx}, {zy}), {flip}.",
        "flipped": "좌우 뒤집음",
        "not_flipped": "뒤집지 않음",
        "grid": "네 가지 변형을 노트의 2×2 그림처럼 모았습니다 (그림 파일로 저장: "
                "--save grid.png). 에포크마다 생성기가 새 변형을 뽑으므로 네트워크는 "
                "똑같은 사진을 두 번 보지 않습니다. 하지만 여전히 같은 고양이라 "
                "변형끼리 상관관계가 강합니다. 그래서 노트는 분류기 앞에 "
                "Dropout(0.5)도 추가합니다.",
        "outro": "데이터 증식 + 드롭아웃으로 훈련하기: python -m convsim train "
                 "cats-vs-dogs --augment --dropout 0.5 (노트의 훈련용 생성기는 "
                 "40° 회전, 0.4° 전단). 검증·테스트 사진은 증식하지 않습니다: "
                 "rescale=1./255만 적용합니다.",
        "original": "원본",
        "title_rotation": "회전", "title_width": "수평 이동",
        "title_height": "수직 이동", "title_shear": "전단",
        "title_zoom_in": "확대", "title_zoom_out": "축소",
        "title_flip": "좌우 뒤집기",
        "drawn": "convsim이 그린 그림 (사진을 찾지 못했습니다: 실제 사진은 "
                 "--image PATH 또는 --data DIR)",
        "photo": "사진 {name}",
    },
}
_KO_SIDE = {"right": "오른", "left": "왼", "up": "위", "down": "아래"}


# ---------------------------------------------------------------- the photo
def drawn_picture(size: tuple[int, int] = TARGET_SIZE) -> np.ndarray:
    """A cartoon cat on a lawn, ``(height, width, 3)`` float32 in 0..255.

    Not symmetric on purpose (sun top-left, ball bottom-right, tail on one
    side) so that rotations, shifts and flips are easy to see.
    """
    h, w = size
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    for y in range(h):  # sky fading to the horizon
        t = y / max(h - 1, 1)
        draw.line([(0, y), (w, y)], fill=(int(90 + 110 * t), int(150 + 80 * t), 235))
    draw.rectangle([0, int(h * 0.72), w, h], fill=(70, 150, 60))

    def at(*fractions):  # (x, y, x, y, ...) as fractions of the picture
        return [f * (w if i % 2 == 0 else h) for i, f in enumerate(fractions)]

    fur = (230, 140, 50)
    draw.ellipse(at(0.05, 0.05, 0.25, 0.25), fill=(255, 215, 60))  # sun
    draw.ellipse(at(0.30, 0.45, 0.72, 0.92), fill=fur)  # body
    draw.line(at(0.68, 0.80, 0.90, 0.55), fill=(200, 110, 30),
              width=max(2, w // 25))  # tail
    draw.polygon(at(0.30, 0.28, 0.34, 0.08, 0.45, 0.22), fill=fur)  # ears
    draw.polygon(at(0.55, 0.22, 0.66, 0.08, 0.70, 0.28), fill=fur)
    draw.ellipse(at(0.27, 0.15, 0.73, 0.55), fill=(240, 155, 60))  # head
    for x in (0.40, 0.60):  # eyes
        draw.ellipse(at(x - 0.05, 0.27, x + 0.05, 0.37), fill=(250, 250, 240))
        draw.ellipse(at(x - 0.02, 0.29, x + 0.02, 0.36), fill=(20, 20, 20))
    draw.polygon(at(0.47, 0.41, 0.53, 0.41, 0.50, 0.45), fill=(200, 60, 80))  # nose
    draw.ellipse(at(0.78, 0.78, 0.94, 0.94), fill=(220, 40, 40))  # ball
    return np.asarray(img, dtype=np.float32)


def load_photo(image: str | None = None, data: str | None = None
               ) -> tuple[np.ndarray, str | None]:
    """The lesson's picture, ``(150, 150, 3)`` float32 in 0..255, and its file
    (None for the drawn picture).

    Raises:
        OSError: ``image`` cannot be read, or ``data`` is not a
            ``cats_and_dogs_small`` folder.
    """
    from convsim.datasets.cats_vs_dogs import find_small_dataset
    from convsim.datasets.errors import DatasetError

    path = None
    if image is not None:
        path = os.fspath(image)
    else:
        try:
            root = find_small_dataset(data)
        except DatasetError:
            if data is not None:
                raise
            root = None
        if root is not None:
            cats = root / "train" / "cats"
            names = sorted(n for n in os.listdir(cats) if not n.startswith("."))
            if names:
                path = os.fspath(cats / names[min(PHOTO_INDEX, len(names) - 1)])
    if path is None:
        return drawn_picture(), None
    return img_to_array(load_img(path, target_size=TARGET_SIZE)), path


# ---------------------------------------------------------------- drawing
def fitted(pictures, sides: list[int], per_row: tuple = (None,)) -> Fit:
    """``(photo, title)`` pairs side by side (``per_row`` to a row: two by
    two as your notes' grid, or all in one row), at the largest of ``sides``
    that fits the screen."""
    def layout(side: int, n: int | None):
        def draw() -> Group:
            tiles = [Photo(thumbnail(x, side), title) for x, title in pictures]
            step = n or len(tiles)
            return Group(*(side_by_side(*tiles[i:i + step])
                           for i in range(0, len(tiles), step)))
        return draw

    return Fit(*(layout(s, n) for s in sides for n in per_row))


def thumbnail(x: np.ndarray, side: int) -> np.ndarray:
    """``x`` (0..255 floats) shrunk to ``side x side`` uint8 pixels."""
    img = Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))
    return np.asarray(img.resize((side, side), Image.Resampling.BOX))


# ---------------------------------------------------------------- the lesson
def single_changes(width: int) -> list[tuple[str, dict]]:
    """Each setting of the notes' preview generator alone, at its limit."""
    px = round(PREVIEW["width_shift_range"] * width)
    return [("rotation", {"theta": float(PREVIEW["rotation_range"])}),
            ("width", {"tx": float(px)}), ("height", {"ty": float(px)}),
            ("shear", {"shear": float(PREVIEW["shear_range"])}),
            ("zoom_in", {"zx": 0.5, "zy": 0.5}), ("zoom_out", {"zx": 1.5, "zy": 1.5}),
            ("flip", {"flip_horizontal": True})]


def _caption(kind: str, params: dict, lang: str, width: int) -> str:
    t = TEXT[lang]
    tx, ty = params.get("tx", 0.0), params.get("ty", 0.0)
    px = round(abs(tx or ty))
    side = "right" if tx > 0 else "left"
    moves = {"width": "left" if tx > 0 else "right",
             "height": "up" if ty > 0 else "down"}.get(kind, "")
    moved = width * abs(np.sin(np.radians(params.get("shear", 0.0))))
    return say(t[kind], theta=f"{params.get('theta', 0):+g}", w=width, px=px,
               tx=f"{tx:+g}", ty=f"{ty:+g}", side=side, moves=moves,
               side_ko=_KO_SIDE[side], moves_ko=_KO_SIDE.get(moves, ""),
               shear=f"{params.get('shear', 0):g}", moved=f"{moved:.2f}", big=BIG_SHEAR,
               z=f"{params.get('zx', 1):g}")


def _random_caption(k: int, params: dict, lang: str) -> str:
    t = TEXT[lang]
    return say(t["random"], k=k, n=VARIANTS, theta=f"{params['theta']:+.1f}",
               tx=f"{params['tx']:+.1f}", ty=f"{params['ty']:+.1f}",
               shear=f"{params['shear']:+.2f}", zx=f"{params['zx']:.2f}",
               zy=f"{params['zy']:.2f}",
               flip=t["flipped" if params["flip_horizontal"] else "not_flipped"])


def random_versions(photo: np.ndarray, seed: int | None = None
                    ) -> tuple[list[dict], list[np.ndarray]]:
    """The notes' preview loop: :data:`VARIANTS` random draws of the preview
    generator's parameters and the photos they make (repeatable by ``seed``)."""
    datagen = ImageDataGenerator(**PREVIEW)
    rng = np.random.default_rng(0 if seed is None else seed)
    drawn = [datagen.get_random_transform(photo.shape, rng) for _ in range(VARIANTS)]
    return drawn, [datagen.apply_transform(photo, p) for p in drawn]


def build(lang: str = "en", seed: int | None = None, size: int | None = None,
          image: str | None = None, data: str | None = None) -> Lesson:
    side = size or SIZE[0]
    t = TEXT[lang]
    photo, path = load_photo(image, data)
    height, width = photo.shape[:2]
    datagen = ImageDataGenerator(**PREVIEW)
    source = t["drawn"] if path is None else say(
        t["photo"], name=os.path.basename(path))
    sides = smaller_sides(side, 12)  # smaller pictures where the screen is small

    def shown(*pictures: tuple[np.ndarray, str]) -> Fit:
        return fitted(pictures, sides)

    original = (photo, t["original"])
    frames = [Frame(shown(original), say(t["intro"], source=source, h=height,
                                         w=width),
                    key=True, hold=3,
                    data={"photo": photo, "path": path})]
    for kind, params in single_changes(width):
        changed = datagen.apply_transform(photo, params)
        title = t["title_" + kind]
        pictures = [original, (changed, title)]
        if kind == "shear":  # 0.2° looks like the original: compare with 20°
            big = datagen.apply_transform(photo, {"shear": float(BIG_SHEAR)})
            pictures = [(changed, f"{title} {params[kind]:g}°"),
                        (big, f"{title} {BIG_SHEAR}°")]
        frames.append(Frame(shown(*pictures),
                            _caption(kind, params, lang, width),
                            key=kind in ("rotation", "shear"), hold=2,
                            data={"kind": kind, "params": params,
                                  "image": changed}))
    drawn, versions = random_versions(photo, seed)
    for k, (params, version) in enumerate(zip(drawn, versions, strict=True), 1):
        frames.append(Frame(shown(original, (version, f"#{k}")),
                            _random_caption(k, params, lang), hold=2,
                            data={"random": k, "params": params, "image": version}))
    grid = fitted([(v, f"#{k}") for k, v in enumerate(versions, 1)], sides, (2, 4))
    frames.append(Frame(grid, t["grid"], key=True, hold=4,
                        data={"grid": versions, "params": drawn}))
    frames.append(Frame(Text(""), t["outro"], key=True, hold=3))
    return Lesson(NAME, TITLE[lang], frames, lang)


def save_figure(path, lang: str = "en", seed: int | None = None,
                size: int | None = None, image: str | None = None,
                data: str | None = None) -> str:
    """The notes' 2x2 matplotlib grid of four augmented versions, saved to
    ``path`` (PNG, SVG, PDF... by the extension); returns the path. The same
    four versions as the lesson's last frames for the same ``seed``."""
    photo, _ = load_photo(image, data)
    _, versions = random_versions(photo, seed)
    folder = os.path.dirname(os.fspath(path))
    if folder:
        os.makedirs(folder, exist_ok=True)
    return save_augmentation_grid(versions, path)


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, image: str | None = None, data: str | None = None,
        player: Player | None = None) -> PlayResult:
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size, image=image, data=data))
