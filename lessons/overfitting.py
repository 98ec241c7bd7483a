"""Lesson: overfitting — the gap between training and validation accuracy.

Run it::

    python -m convsim.lesson overfitting                      # a short run here
    python -m convsim.lesson overfitting --history plain.history.json
    python -m convsim.lesson overfitting --history aug.history.json --lang ko

The book (5.2.4): the plain cats-vs-dogs convnet reaches almost 100%
training accuracy, while validation accuracy stalls around 70% after a few
epochs, and validation loss reaches its minimum early and then climbs. The
network learnt details of its 2,000 training photos that do not hold for
new photos. This lesson walks through a saved history epoch by epoch
(``python -m convsim train cats-vs-dogs`` writes ``NAME.history.json``, and a
Keras ``json.dump(history.history, f)`` works too) or, without one, trains a
small network on 200 digits of the bundled MNIST sample for a few seconds:
the same story, faster.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from rich.console import Console, Group
from rich.text import Text

from convsim.errors import ArgumentError
from convsim.lesson.frames import Frame, Lesson, Question, number_check
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.training.progbar import format_value
from convsim.viz.conv_view import side_by_side
from convsim.viz.plots import accuracy_key

NAME = "overfitting"
TITLE = {"en": "Overfitting", "ko": "과대적합"}
SUMMARY = {
    "en": "training vs validation curves, epoch by epoch: where the gap opens and "
          "what to do about it",
    "ko": "훈련·검증 곡선을 에포크별로: 격차가 벌어지는 곳과 대처법",
}
FPS = 2.0
SIZE = None
OPTIONS = {"history": ("JSON", "a history written by "
                               "`convsim train cats-vs-dogs`")}
CHART_WIDTH = 30  # columns of each chart (two side by side fit 80 columns)
CHART_HEIGHT = 10
MAX_REVEALS = 20  # epoch-by-epoch frames; long runs are revealed in chunks
# The built-in run: few examples, many epochs, a network with room to memorise.
SHORT_RUN = {"per_class": 20, "validation": 500, "epochs": 20, "batch_size": 20}
CLEAR_GAP, SOME_GAP = 0.10, 0.03

TEXT = {
    "en": {
        "intro_file": "The history in {name}: {what}, {details}. Blue o: "
                      "training, red *: validation, as in the notes' figure.",
        "done": "{done} epoch(s)",
        "intro_short": "No history given (--history FILE), so convsim just trained "
                       "a small dense network on {n} handwritten digits ({k} per "
                       "class, the bundled MNIST sample) for {epochs} epochs, "
                       "checking {v} other digits after each epoch. Few examples, "
                       "many epochs: the recipe for overfitting. Blue o: training, "
                       "red *: validation.",
        "epoch": "Epoch {e}: training accuracy {acc}, validation {val_acc} (gap "
                 "{gap} points). Loss: training {loss}, validation {val_loss}.",
        "best": "Validation loss was lowest at epoch {k} ({best}). Since then "
                "training loss fell from {tl_then} to {tl_now} but validation loss "
                "rose to {now}: the network keeps fitting its training examples, "
                "details that do not hold for new ones. That is overfitting.",
        "still": "Validation loss is lowest at the last epoch ({best}): no sign of "
                 "overfitting yet; more epochs could still help.",
        "ask_best": "At which epoch was the validation loss lowest?",
        "gap_clear": "At the end: training accuracy {acc}, validation {val_acc}. "
                     "A gap of {gap} points: clear overfitting. The network "
                     "memorised its training examples instead of learning what "
                     "holds for new ones.",
        "gap_some": "At the end: training accuracy {acc}, validation {val_acc}. A "
                    "gap of {gap} points: some overfitting.",
        "gap_small": "At the end: training accuracy {acc}, validation {val_acc}. A "
                     "gap of only {gap} points: the network generalises about as "
                     "well as it fits.",
        "test": " On the test photos, never used in training: {test}.",
        "remedies": "What helps (book 5.2.5): more data, which augmentation fakes "
                    "(--augment); Dropout(0.5) before the classifier (--dropout "
                    "0.5); a smaller network; and stopping at the best epoch "
                    "(callbacks.EarlyStopping(monitor='val_loss')). Try: python -m "
                    "convsim train cats-vs-dogs --augment --dropout 0.5, then "
                    "python -m convsim.lesson overfitting --history "
                    "cats-vs-dogs-curves.history.json",
        "training": "training", "validation": "validation",
        "accuracy": "accuracy", "loss": "loss",
        "plain": "the plain convnet", "augmented": "the convnet with {extras}",
        "augmentation": "augmentation", "dropout": "dropout {rate}",
        "planned": " of {n} planned", "steps": "{steps} steps of {batch} photos each",
        "speed": "{s:.0f} s per epoch", "interrupted": " (stopped early)",
        "unknown": "a training run",
        "training_now": "Training a small network on {n} digits (a few seconds)...",
    },
    "ko": {
        "intro_file": "{name}의 기록: {what}, {details}. 파란 o: 훈련, 빨간 *: "
                      "검증 (노트의 그림과 같은 색).",
        "done": "{done}에포크",
        "intro_short": "--history 파일이 없어서 convsim이 방금 작은 완전 연결 "
                       "네트워크를 손글씨 숫자 {n}개(클래스마다 {k}개, 함께 제공되는 "
                       "MNIST 샘플)로 {epochs}에포크 훈련하고, 에포크마다 다른 숫자 "
                       "{v}개로 검증했습니다. 적은 데이터, 많은 에포크: 과대적합의 "
                       "조건입니다. 파란 o: 훈련, 빨간 *: 검증.",
        "epoch": "{e}번째 에포크: 훈련 정확도 {acc}, 검증 정확도 {val_acc} (격차 "
                 "{gap}%p). 손실: 훈련 {loss}, 검증 {val_loss}.",
        "best": "검증 손실은 {k}번째 에포크에서 가장 낮았습니다({best}). 그 뒤로 훈련 "
                "손실은 {tl_then}에서 {tl_now}(으)로 줄었지만 검증 손실은 {now}(으)로 "
                "올랐습니다. 네트워크가 훈련 샘플에만 맞는 세부 사항까지 학습하고 "
                "있습니다. 이것이 과대적합입니다.",
        "still": "검증 손실이 마지막 에포크에서 가장 낮습니다({best}). 아직 과대적합의 "
                 "징후가 없고, 더 훈련해도 좋아질 수 있습니다.",
        "ask_best": "검증 손실이 가장 낮았던 에포크는 몇 번째일까요?",
        "gap_clear": "마지막 에포크: 훈련 정확도 {acc}, 검증 정확도 {val_acc}. 격차 "
                     "{gap}%p: 뚜렷한 과대적합입니다. 네트워크가 새 데이터에도 "
                     "통하는 특징을 배우는 대신 훈련 샘플을 외웠습니다.",
        "gap_some": "마지막 에포크: 훈련 정확도 {acc}, 검증 정확도 {val_acc}. 격차 "
                    "{gap}%p: 약간의 과대적합입니다.",
        "gap_small": "마지막 에포크: 훈련 정확도 {acc}, 검증 정확도 {val_acc}. 격차가 "
                     "{gap}%p뿐: 훈련한 만큼 일반화도 잘 됩니다.",
        "test": " 훈련에 한 번도 쓰지 않은 테스트 사진의 정확도: {test}.",
        "remedies": "대처법 (책 5.2.5): 데이터를 늘리기, 데이터 증식이 이를 흉내 "
                    "냅니다 (--augment); 분류기 앞에 Dropout(0.5) (--dropout 0.5); "
                    "더 작은 네트워크; 가장 좋은 에포크에서 멈추기 "
                    "(callbacks.EarlyStopping(monitor='val_loss')). 해 보기: "
                    "python -m convsim train cats-vs-dogs --augment --dropout 0.5, "
                    "그다음 python -m convsim.lesson overfitting --history "
                    "cats-vs-dogs-curves.history.json",
        "training": "훈련", "validation": "검증", "accuracy": "정확도", "loss": "손실",
        "plain": "기본 컨브넷", "augmented": "{extras}(을)를 쓴 컨브넷",
        "augmentation": "데이터 증식", "dropout": "드롭아웃 {rate}",
        "planned": " (계획 {n}에포크)", "steps": "에포크마다 {batch}장씩 {steps}스텝",
        "speed": "에포크당 {s:.0f}초", "interrupted": " (중간에 멈춤)",
        "unknown": "어떤 훈련",
        "training_now": "작은 네트워크를 숫자 {n}개로 훈련하는 중 (몇 초)...",
    },
}
BLUE, RED = "bold #3a7bff", "bold #ff4d4d"


# ---------------------------------------------------------------- the history
def short_run(seed: int | None = None) -> dict:
    """Train a small dense network on 200 MNIST digits (the bundled sample) for
    :data:`SHORT_RUN` epochs; returns ``history.history``. Takes seconds.

    It calls :func:`convsim.utils.set_random_seed` (``seed``, default 0), so
    the curve is the same on every run.
    """
    from convsim import layers, models, utils
    from convsim.datasets import mnist

    (x, y), (x_val, y_val) = mnist.load_data(path=mnist.BUNDLED_DIR, verbose=False)
    utils.set_random_seed(0 if seed is None else seed)
    k, n_val = SHORT_RUN["per_class"], SHORT_RUN["validation"]
    pick = np.concatenate([np.flatnonzero(y == d)[:k] for d in range(10)])
    x_train = x[pick].reshape(-1, 28, 28, 1).astype("float32") / 255
    x_val = x_val[:n_val].reshape(-1, 28, 28, 1).astype("float32") / 255
    model = models.Sequential()
    model.add(layers.Flatten(input_shape=(28, 28, 1)))
    model.add(layers.Dense(128, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy",
                  metrics=["acc"])
    history = model.fit(x_train, utils.to_categorical(y[pick], 10),
                        epochs=SHORT_RUN["epochs"],
                        batch_size=SHORT_RUN["batch_size"],
                        validation_data=(x_val, utils.to_categorical(
                            y_val[:n_val], 10)),
                        validation_batch_size=n_val, verbose=0)
    return history.history


def _describe(document: dict, path, lang: str) -> str:
    t = TEXT[lang]
    if document.get("experiment") == "cats-vs-dogs":
        extras = ([t["augmentation"]] if document.get("augment") else []) + (
            [say(t["dropout"], rate=f"{document['dropout']:g}")]
            if document.get("dropout") else [])
        what = say(t["augmented"], extras=" + ".join(extras)) if extras \
            else t["plain"]
    else:
        what = t["unknown"]
    done = len(document["history"]["loss"])
    details = [t["done"].format(done=done)]
    planned = document.get("epochs_planned")
    if planned and planned != done:
        details[0] += t["planned"].format(n=planned)
    if document.get("interrupted"):
        details[0] += t["interrupted"]
    if "steps_per_epoch" in document:
        details.append(t["steps"].format(steps=document["steps_per_epoch"],
                                         batch=document.get("batch_size", "?")))
    seconds = document.get("seconds_per_epoch") or []
    if seconds:
        details.append(t["speed"].format(s=float(np.mean(seconds))))
    return say(t["intro_file"], name=os.path.basename(os.fspath(path)), what=what,
               details=", ".join(details))


# ---------------------------------------------------------------- the chart
class Chart:
    """Training (``o``) and validation (``*``) values of the first ``upto``
    epochs, in a text grid: epochs left to right, values bottom to top."""

    def __init__(self, train, val, upto: int, title: str, low: float, high: float,
                 lang: str):
        self.train, self.val, self.upto = list(train), list(val), upto
        self.title, self.low, self.high, self.lang = title, low, high, lang

    @property
    def width(self) -> int:
        """One column per epoch (or more, evenly); long runs share columns."""
        return self._column(len(self.train) - 1) + 1

    def _column(self, i: int) -> int:
        n = len(self.train)
        if n == 1:
            return 0
        if n <= CHART_WIDTH:
            return i * ((CHART_WIDTH - 1) // (n - 1))
        return round(i * (CHART_WIDTH - 1) / (n - 1))

    def _row(self, value: float) -> int:
        span = (self.high - self.low) or 1.0
        level = (self.high - value) / span * (CHART_HEIGHT - 1)
        return int(np.clip(round(level), 0, CHART_HEIGHT - 1))

    def __rich__(self):
        width = self.width
        cells = [[(" ", "")] * width for _ in range(CHART_HEIGHT)]
        for values, mark, style in ((self.val, "*", RED), (self.train, "o", BLUE)):
            for i, value in enumerate(values[:self.upto]):
                cells[self._row(value)][self._column(i)] = (mark, style)
        text = Text(self.title.center(width + 6) + "\n", style="bold")
        for r, row in enumerate(cells):
            value = self.high - r * (self.high - self.low) / (CHART_HEIGHT - 1)
            label = f"{value:5.2f}" if r in (0, CHART_HEIGHT // 2,
                                             CHART_HEIGHT - 1) else ""
            text.append(f"{label:>5}│", style="grey50")
            for mark, style in row:
                text.append(mark, style=style)
            text.append("\n")
        n = str(len(self.train))
        text.append("     └" + "─" * width + "\n", style="grey50")
        last = self._column(len(self.train) - 1)
        text.append("      1" + n.rjust(last) if last >= len(n) else "      " + n,
                    style="grey50")
        return text


def _bounds(values) -> tuple[float, float]:
    """The chart's value range, widened to multiples of 0.05 (like matplotlib's
    automatic limits, so small differences stay visible)."""
    low = np.floor(min(values) * 20) / 20
    high = np.ceil(max(values) * 20) / 20
    return float(low), float(high if high > low else low + 0.05)


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


# ---------------------------------------------------------------- the lesson
def build(lang: str = "en", seed: int | None = None, size: int | None = None,
          history: str | None = None, logs: dict | None = None) -> Lesson:
    """The lesson's frames for ``history`` (a JSON file), ``logs`` (a
    ``history.history`` dict) or, with neither, a short run of its own.

    The story: empty charts and where the history comes from; the epochs
    revealed one by one; the epoch where validation loss was lowest (a quiz
    question); the final gap and what it means; what helps.
    """
    document, logs, intro = _read_history(history, logs, seed, lang)
    curves = Curves.from_logs(logs, lang)
    frames = [Frame(curves.view(0), intro, key=True, hold=4,
                    data={"epochs": curves.epochs})]
    frames += _epoch_frames(curves, lang)
    frames.append(_best_epoch_frame(curves, lang))
    frames.append(_gap_frame(curves, document, lang))
    frames.append(Frame(Text(""), TEXT[lang]["remedies"], key=True, hold=5))
    return Lesson(NAME, TITLE[lang], frames, lang)


def _read_history(history: str | None, logs: dict | None, seed: int | None,
                  lang: str) -> tuple[dict, dict, str]:
    """``(document, logs, intro)``: the history file's whole document (empty
    without a file), its ``history.history`` dict, and the first caption."""
    from convsim.training.history_file import load_history

    if history is not None:
        document = load_history(history)
        return document, document["history"], _describe(document, history, lang)
    logs = logs if logs is not None else short_run(seed)
    intro = say(TEXT[lang]["intro_short"], n=10 * SHORT_RUN["per_class"],
                k=SHORT_RUN["per_class"], epochs=len(logs["loss"]),
                v=SHORT_RUN["validation"])
    return {}, logs, intro


@dataclass(frozen=True)
class Curves:
    """The four curves of a history and the two charts that draw them."""

    acc: list  # training accuracy, one value per epoch
    val_acc: list
    loss: list
    val_loss: list
    lang: str

    @classmethod
    def from_logs(cls, logs: dict, lang: str) -> Curves:
        """Raises ValueError when a curve is missing (trained without validation)."""
        acc = accuracy_key(logs)
        missing = [k for k in (acc, f"val_{acc}", "val_loss")
                   if not k or k not in logs]
        if missing:
            raise ArgumentError("The history needs training and validation accuracy "
                                "and loss for every epoch; it has only "
                                f"{sorted(logs)}. Train with validation data.")
        return cls(logs[acc], logs[f"val_{acc}"], logs["loss"], logs["val_loss"],
                   lang)

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def view(self, upto: int) -> Group:
        """Accuracy and loss charts of the first ``upto`` epochs, and a legend."""
        t = TEXT[self.lang]
        charts = side_by_side(
            Chart(self.acc, self.val_acc, upto, t["accuracy"],
                  *_bounds(self.acc + self.val_acc), self.lang),
            Chart(self.loss, self.val_loss, upto, t["loss"],
                  *_bounds(self.loss + self.val_loss), self.lang))
        legend = Text.assemble(("o", BLUE), f" {t['training']}   ", ("*", RED),
                               f" {t['validation']}")
        return Group(charts, legend)


def _epoch_frames(curves: Curves, lang: str) -> list[Frame]:
    """One frame per epoch, or :data:`MAX_REVEALS` evenly spread for long runs."""
    n, frames = curves.epochs, []
    for e in sorted({round(x) for x in np.linspace(1, n, min(n, MAX_REVEALS))}):
        i = e - 1
        acc, val_acc = curves.acc[i], curves.val_acc[i]
        loss, val_loss = curves.loss[i], curves.val_loss[i]
        caption = say(TEXT[lang]["epoch"], e=e, acc=_pct(acc), val_acc=_pct(val_acc),
                      gap=f"{100 * (acc - val_acc):.1f}", loss=format_value(loss),
                      val_loss=format_value(val_loss))
        frames.append(Frame(curves.view(e), caption, hold=1,
                            data={"epoch": e, "acc": acc, "val_acc": val_acc,
                                  "loss": loss, "val_loss": val_loss}))
    return frames


def _best_epoch_frame(curves: Curves, lang: str) -> Frame:
    """Where validation loss was lowest: the point where overfitting begins."""
    t, loss, val_loss = TEXT[lang], curves.loss, curves.val_loss
    best = int(np.argmin(val_loss))
    if best < curves.epochs - 1:
        caption = say(t["best"], k=best + 1, best=format_value(val_loss[best]),
                      now=format_value(val_loss[-1]), tl_then=format_value(loss[best]),
                      tl_now=format_value(loss[-1]))
    else:
        caption = say(t["still"], best=format_value(val_loss[best]))
    question = Question(t["ask_best"], number_check(best + 1, 0.5), str(best + 1),
                        caption)
    return Frame(curves.view(curves.epochs), caption, key=True, hold=5,
                 question=question,
                 data={"best_epoch": best + 1, "min_val_loss": val_loss[best]})


def _gap_frame(curves: Curves, document: dict, lang: str) -> Frame:
    """The final gap between training and validation accuracy, and its verdict."""
    t, acc, val_acc = TEXT[lang], curves.acc[-1], curves.val_acc[-1]
    gap = acc - val_acc
    kind = ("gap_clear" if gap >= CLEAR_GAP else "gap_some" if gap >= SOME_GAP
            else "gap_small")
    caption = say(t[kind], acc=_pct(acc), val_acc=_pct(val_acc),
                  gap=f"{100 * gap:.1f}")
    if "test" in document:
        caption += say(t["test"], test=_pct(document["test"]["acc"]))
    return Frame(curves.view(curves.epochs), caption, key=True, hold=5,
                 data={"gap": gap, "final_acc": acc, "final_val_acc": val_acc,
                       "verdict": kind})


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, history: str | None = None,
        player: Player | None = None) -> PlayResult:
    player = player or Player(console)
    if history is None:
        player.console.print(TEXT[lang]["training_now"].format(
            n=10 * SHORT_RUN["per_class"]), style="grey50")
    return player.play(build(lang=lang, seed=seed, size=size, history=history))
