"""Lesson: pooling — 2x2 max pooling with stride 2, then average pooling.

Run it::

    python -m convsim.lesson pooling
    python -m convsim.lesson pooling --quiz        # guess which cell wins
    python -m convsim.lesson pooling --size 6 --lang ko

The book (5.1.2): max pooling downsamples a feature map. A 2x2 window moves
with stride 2 (so windows do not overlap) and keeps only the largest value of
each patch, channel by channel: 4x4 becomes 2x2, 148x148x32 becomes 74x74x32.
It has no weights. Average pooling keeps the mean instead; max pooling
usually works better because it keeps the strongest evidence of a feature.

An odd size (``--size 5``) shows what the output-size formula's floor does:
the last row and column fit no whole window and are never read, as in the
book's cats-vs-dogs model, whose last pooling turns 15×15 into 7×7.
"""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.text import Text

from convsim import shapes, trace
from convsim.lesson.frames import Frame, Lesson
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.story import cropped_row, pool_frames
from convsim.lesson.words import say
from convsim.trace.reach import reach
from convsim.viz.conv_view import input_grid, output_grid, side_by_side
from convsim.viz.grid import Grid, PlainLegend
from convsim.viz.words import label

NAME = "pooling"
TITLE = {"en": "Max pooling", "ko": "최대 풀링"}
SUMMARY = {
    "en": "2x2 max pooling with stride 2: the max of each window is kept; average "
          "pooling for contrast",
    "ko": "2×2 최대 풀링, 스트라이드 2: 윈도우마다 최댓값만 남김; 평균 풀링과 비교",
}
FPS = 1.5
SIZE = (4, 2, 12)
POOL = 2

TEXT = {
    "en": {
        "intro": "A {n}×{n} feature map (say, the output of a Conv2D + relu). Max "
                 "pooling with a {p}×{p} window and stride {p} looks at each {p}×{p} "
                 "patch and keeps only its largest value. No weights, nothing to "
                 "learn.",
        "odd": " Watch the last row and column: {n} is not a multiple of {p}.",
        "dropped": "Row {r} and column {c} were never read (· in the picture): a "
                   "{p}×{p} window starting there would stick out of the map, and "
                   "pooling takes whole windows only (padding='valid', Keras's "
                   "default). So {n}×{n} gives {o}×{o}, rounded down: {working}. "
                   "The book's model does the same in its last pooling: 15×15×128 "
                   "→ 7×7×128, dropping the 15th row and column.",
        "avg": "Now average pooling: the same windows, but each keeps the mean of its "
               "patch.",
        "outro": "{n}×{n} → {o}×{o}: {working}. Max pooling keeps the strongest "
                 "response of each region and drops 3 of every 4 values, so the next "
                 "layers see a smaller map and a wider part of the image per cell. "
                 "In the book's model: 148×148×32 → 74×74×32.",
    },
    "ko": {
        "intro": "{n}×{n} 특성 맵이 있습니다 (예: Conv2D + 렐루의 출력). {p}×{p} "
                 "윈도우와 스트라이드 {p}의 최대 풀링은 {p}×{p} 패치마다 가장 큰 값만 "
                 "남깁니다. 가중치가 없어 학습할 것도 없습니다.",
        "odd": " 마지막 행과 열을 눈여겨보세요: {n}(은)는 {p}의 배수가 아닙니다.",
        "dropped": "행 {r}(과)와 열 {c}(은)는 한 번도 읽히지 않았습니다 (그림의 ·). "
                   "거기서 시작하는 {p}×{p} 윈도우는 맵 밖으로 삐져나가고, 풀링은 "
                   "온전한 윈도우만 씁니다 (케라스 기본값 padding='valid'). 그래서 "
                   "{n}×{n}에서 내림한 {o}×{o}(이)가 나옵니다: {working}. 책의 "
                   "모델도 마지막 풀링에서 똑같이 15×15×128을 7×7×128로 만들며 "
                   "15번째 행과 열을 버립니다.",
        "avg": "이번에는 평균 풀링: 윈도우는 같지만 패치의 평균을 남깁니다.",
        "outro": "{n}×{n} → {o}×{o}: {working}. 최대 풀링은 영역마다 가장 강한 응답만 "
                 "남기고 4개 중 3개를 버립니다. 그래서 다음 층은 더 작은 맵을 보고, "
                 "한 칸이 이미지의 더 넓은 부분을 봅니다. 책의 모델에서는 148×148×32 → "
                 "74×74×32.",
    },
}


def make_map(size: int = SIZE[0], seed: int | None = None) -> np.ndarray:
    """Distinct small integers, so every window has exactly one maximum."""
    rng = np.random.default_rng(0 if seed is None else seed)
    values = rng.choice(max(size * size, 20), size=(size, size), replace=False)
    return values.astype(np.float32)


def build(lang: str = "en", seed: int | None = None, size: int | None = None
          ) -> Lesson:
    n = size or SIZE[0]
    words = TEXT[lang]
    fmap = make_map(n, seed)
    maxp = trace.trace_pool(fmap, POOL)
    avgp = trace.trace_pool(fmap, POOL, kind="average")
    per_map = maxp.out_h * maxp.out_w
    working = shapes.output_size_working(n, POOL, POOL)
    cover = reach(maxp)  # the rows and columns after the last window: unread
    rows, cols = cover.after_last(0), cover.after_last(1)
    intro = say(words["intro"], n=n, p=POOL)
    if rows or cols:
        intro += say(words["odd"], n=n, p=POOL)
    frames = [Frame(cropped_row((input_grid(maxp, None, lang=lang),
                                 output_grid(maxp, 0, 0, lang=lang)),
                                PlainLegend(lang), lang=lang), intro, key=True, hold=4)]
    frames += pool_frames(maxp, lang, keys={0, per_map - 1},
                          quiz={1, per_map - 1} if per_map > 2 else {per_map - 1})
    if rows or cols:
        frames.append(_dropped_frame(fmap, maxp, rows, cols, working, lang))
    frames.append(Frame(cropped_row((input_grid(avgp, None, lang=lang),
                                     output_grid(avgp, 0, 0, lang=lang)), lang=lang),
                        words["avg"], hold=3))
    frames += pool_frames(avgp, lang, keys={per_map - 1}, hold=0.8)
    maps = (input_grid(maxp, None, lang=lang),
            output_grid(maxp, 0, per_map, title="MaxPooling2D", lang=lang),
            output_grid(avgp, 0, per_map, title="AveragePooling2D", lang=lang))
    frames.append(Frame(cropped_row(maps, Text("  " + working, style="bold"),
                                    lang=lang),
                        say(words["outro"], n=n, o=maxp.out_h, working=working),
                        key=True, hold=6,
                        data={"max": maxp.outputs[:, :, 0],
                              "average": avgp.outputs[:, :, 0]}))
    return Lesson(NAME, TITLE[lang], frames, lang)


def _dropped_frame(fmap, maxp, rows: tuple, cols: tuple, working: str,
                   lang: str) -> Frame:
    """The rows and columns no window read, shown as · and said aloud."""
    unread = np.zeros(fmap.shape, dtype=bool)
    unread[list(rows), :] = True
    unread[:, list(cols)] = True
    n = fmap.shape[0]
    seen = Grid(fmap, title=f"{label('input', lang)} {n}×{n}", hidden=unread)
    per_map = maxp.out_h * maxp.out_w
    caption = say(TEXT[lang]["dropped"], r=", ".join(map(str, rows)),
                  c=", ".join(map(str, cols)), p=POOL, n=n, o=maxp.out_h,
                  working=working)
    return Frame(side_by_side(seen, output_grid(maxp, 0, per_map, lang=lang)),
                 caption, key=True, hold=5,
                 data={"unread_rows": tuple(rows), "unread_cols": tuple(cols)})


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, player: Player | None = None) -> PlayResult:
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size))
