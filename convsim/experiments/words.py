"""What the ``train`` commands say, in English and Korean (``--lang ko``).

Every line the trainer prints around ``fit`` (the data it used, Ctrl+C and
``--resume``, the scores, the files saved) is a template here, filled in with
:func:`convsim.lesson.words.say`, which escapes the values for rich and
chooses a Korean particle after a value written in both forms
(``{what}(을)를``). The progress bar's own words (``Epoch``, ``step``) are in
:mod:`convsim.training.progbar`, and an error's Korean wording travels with the
error (:func:`convsim.errors.message`).

Korean follows the Korean edition of the book: 에포크, 배치, 검증, 정확도,
손실, 체크포인트, 데이터 증식, 드롭아웃.
"""

from __future__ import annotations

from convsim.lesson.words import say

__all__ = ["TEXT", "line", "progress_words"]

TEXT = {
    "en": {
        # runs.py: before, during and after training
        "ctrl_c_help": "Ctrl+C stops after the current batch and saves a "
                       "checkpoint; the same command with --resume continues "
                       "exactly.",
        "cannot_write": "[red]Cannot write the outputs:[/] {err}",
        "no_checkpoint_yet": "No checkpoint in {folder} yet: training starts at the "
                             "beginning.",
        "stopped_run": "[red]{path} holds a stopped run[/] (at {progress}). Add "
                       "--resume to continue it, or choose another --backup-dir (or "
                       "delete that folder) to start afresh.",
        "afresh": "Starting afresh: the checkpoint of the finished run in {folder} "
                  "will be replaced.",
        "resume_mismatch": "[red]Cannot resume:[/] the run used {then}, this "
                           "command {now}. Pass the same options.",
        "resume_past": "[red]Cannot resume:[/] the run is at {progress}, past "
                       "--epochs {epochs}; pass --epochs N with N >= {at}.",
        "finished": "The run in {path} has finished its {done} epoch(s): nothing "
                    "to train; its outputs are written again (pass --epochs N with "
                    "N > {done} to train more).",
        "resuming": "Resuming from {path} at {progress}.",
        "cannot_resume": "[red]Cannot resume:[/] {err}",
        "unreadable": "The checkpoint {path} cannot be read ({err}); it will be "
                      "replaced.",
        "intact": "The checkpoint {path} is intact: the same command with --resume "
                  "continues from it.",
        "none_written": "No checkpoint had been written yet.",
        "stopped": "[yellow]Ctrl+C:[/] stopped {where}.",
        "stopped_now": "[yellow]Ctrl+C:[/] stopped.",
        "intact_exactly": "The checkpoint {path} is intact; the same command with "
                          "--resume continues exactly.",
        "nothing_saved": "Nothing could be saved.",
        "test_skipped": "[yellow]Test evaluation skipped (Ctrl+C).[/]",
        # outputs.py: the score and the files
        "test_accuracy": "[bold]Test accuracy: {acc}[/] (test loss {loss}) on "
                         "{count} test {items}.",
        "images": "images", "photos": "photos",
        "no_epoch_history": "No complete epoch: no history to save.",
        "saved_history": "Saved the history to {path}",
        "history_failed": "[red]Could not save the history:[/] {err}",
        "saved_model": "Saved the model to {path}",
        "model_failed": "[red]Could not save the model:[/] {err}",
        "no_epoch_figure": "No complete epoch: no figure to draw.",
        "saved_figure": "Saved the accuracy/loss curves to {path}",
        "figure_failed": "[red]Could not save the figure:[/] {err}",
        # mnist.py
        "load_failed": "[red]Could not load the data:[/] {err}",
        "limit": "--limit {limit}: using the first {train} training and {test} "
                 "test images.",
        "trained": "Trained on {n} images for {epochs} epoch(s) in {seconds} s "
                   "({per_epoch} s/epoch, {rate} images/s incl. validation).",
        # cats_vs_dogs.py
        "no_photos": "[red]No cats-vs-dogs photos:[/] {err} (path= is --data DIR "
                     "for this command.)",
        "read_failed": "[red]Could not read the photos:[/] {err}",
        "photos_at": "Photos: {root}",
        "training": "Training the {what} for {epochs} epoch(s) of {steps} x {batch} "
                    "photos, validating on {val_steps} x {batch} photos from "
                    "{folder}/. {ctrl_c}",
        "plain": "plain convnet", "with": "convnet with {extras}",
        "augmentation": "augmentation", "dropout": "dropout {rate}",
        "epochs_took": "{n} epoch(s) in {minutes} min ({per_epoch} s/epoch incl. "
                       "validation).",
        "final": "[bold]Final validation accuracy: {acc}[/] (training accuracy "
                 "{train_acc}; best validation {best} at epoch {at}).",
        # pretrained.py: the lessons' trained MNIST convnet, made on first use
        "pretraining": "Training the book's MNIST convnet once on convsim's {n} "
                       "bundled digits ({epochs} epochs, about 15 seconds); it is "
                       "kept in {path} for next time.",
        "pretrained": "Trained in {seconds} s: {accuracy} right on the {n} test "
                      "digits.",
        "pretrained_unreadable": "The kept model {path} cannot be read ({err}); "
                                 "training it again.",
    },
    "ko": {
        "ctrl_c_help": "Ctrl+C를 누르면 지금 배치를 마치고 멈춘 뒤 체크포인트를 "
                       "저장합니다. 같은 명령에 --resume을 붙이면 멈춘 곳에서 그대로 "
                       "이어집니다.",
        "cannot_write": "[red]결과 파일을 쓸 수 없습니다:[/] {err}",
        "no_checkpoint_yet": "아직 체크포인트가 없습니다: {folder}. 처음부터 "
                             "훈련합니다.",
        "stopped_run": "[red]멈춘 훈련이 있습니다: {path}[/] ({progress}). 이어서 "
                       "하려면 --resume을 붙이고, 처음부터 하려면 다른 --backup-dir를 "
                       "고르세요(또는 그 폴더를 지우세요).",
        "afresh": "처음부터 시작합니다: 끝난 훈련의 체크포인트를 새것으로 바꿉니다 "
                  "({folder}).",
        "resume_mismatch": "[red]이어서 할 수 없습니다:[/] 그 훈련의 설정은 {then}, "
                           "이 명령의 설정은 {now}. 같은 옵션을 주세요.",
        "resume_past": "[red]이어서 할 수 없습니다:[/] 훈련이 이미 {progress}까지 "
                       "가서 --epochs {epochs}(을)를 넘었습니다. N이 {at} 이상인 "
                       "--epochs N을 주세요.",
        "finished": "이 훈련은 {done}에포크를 모두 마쳤습니다: {path}. 더 훈련할 "
                    "것이 없어 결과 파일만 다시 씁니다(더 훈련하려면 N이 {done}보다 "
                    "큰 --epochs N을 주세요).",
        "resuming": "이어서 훈련합니다: {path}, {progress}부터.",
        "cannot_resume": "[red]이어서 할 수 없습니다:[/] {err}",
        "unreadable": "체크포인트를 읽을 수 없어 새로 씁니다: {path} ({err})",
        "intact": "체크포인트는 온전합니다: {path}. 같은 명령에 --resume을 붙이면 "
                  "여기서 이어집니다.",
        "none_written": "아직 저장한 체크포인트가 없습니다.",
        "stopped": "[yellow]Ctrl+C:[/] 멈췄습니다({where}).",
        "stopped_now": "[yellow]Ctrl+C:[/] 멈췄습니다.",
        "intact_exactly": "체크포인트는 온전합니다: {path}. 같은 명령에 --resume을 "
                          "붙이면 그대로 이어집니다.",
        "nothing_saved": "아무것도 저장하지 못했습니다.",
        "test_skipped": "[yellow]테스트 평가를 건너뛰었습니다(Ctrl+C).[/]",
        "test_accuracy": "[bold]테스트 정확도: {acc}[/] (테스트 손실 {loss}), 테스트 "
                         "{items} {count}개.",
        "images": "이미지", "photos": "사진",
        "no_epoch_history": "끝난 에포크가 없어 저장할 히스토리가 없습니다.",
        "saved_history": "히스토리를 저장했습니다: {path}",
        "history_failed": "[red]히스토리를 저장하지 못했습니다:[/] {err}",
        "saved_model": "모델을 저장했습니다: {path}",
        "model_failed": "[red]모델을 저장하지 못했습니다:[/] {err}",
        "no_epoch_figure": "끝난 에포크가 없어 그릴 그림이 없습니다.",
        "saved_figure": "정확도/손실 곡선을 저장했습니다: {path}",
        "figure_failed": "[red]그림을 저장하지 못했습니다:[/] {err}",
        "load_failed": "[red]데이터를 불러오지 못했습니다:[/] {err}",
        "limit": "--limit {limit}: 훈련 이미지는 앞의 {train}개, 테스트 이미지는 "
                 "앞의 {test}개만 씁니다.",
        "trained": "이미지 {n}개로 {epochs}에포크를 {seconds}초 동안 훈련했습니다 "
                   "(에포크마다 {per_epoch}초, 검증 포함 초당 이미지 {rate}개).",
        "no_photos": "[red]개 vs 고양이 사진이 없습니다:[/] {err} (이 명령에서 "
                     "path=는 --data DIR입니다.)",
        "read_failed": "[red]사진을 읽지 못했습니다:[/] {err}",
        "photos_at": "사진: {root}",
        "training": "{what}(을)를 훈련합니다: {epochs}에포크, 에포크마다 사진 "
                    "{steps} x {batch}장, 검증은 {folder}/ 폴더의 사진 "
                    "{val_steps} x {batch}장. {ctrl_c}",
        "plain": "기본 컨브넷", "with": "{extras}(을)를 쓴 컨브넷",
        "augmentation": "데이터 증식", "dropout": "드롭아웃 {rate}",
        "epochs_took": "{n}에포크, {minutes}분 (검증 포함 에포크마다 "
                       "{per_epoch}초).",
        "final": "[bold]마지막 검증 정확도: {acc}[/] (훈련 정확도 {train_acc}, "
                 "가장 좋은 검증 정확도 {best}: 에포크 {at}).",
        "pretraining": "책의 MNIST 컨브넷을 convsim에 들어 있는 숫자 {n}개로 한 번 "
                       "훈련합니다({epochs}에포크, 15초쯤). 다음에 쓰도록 여기 "
                       "보관합니다: {path}",
        "pretrained": "{seconds}초 동안 훈련했습니다: 테스트 숫자 {n}개 중 "
                      "{accuracy}(을)를 맞혔습니다.",
        "pretrained_unreadable": "보관한 모델을 읽을 수 없어 다시 훈련합니다: "
                                 "{path} ({err})",
    },
}

#: Where the data came from (a Source's kind), in Korean; the English is the
#: source's own description.
SOURCES_KO = {
    "path": "{location} (path=)",
    "env": "{location} ($CONVSIM_DATA)",
    "cache": "convsim 캐시 {location}",
    "keras": "케라스 캐시 {location}",
    "download": "내려받아 {location}에 저장",
    "bundled": "convsim에 들어 있는 샘플",
}
DATA_KO = "{title} 데이터: {where} (훈련 이미지 {train}개 / 테스트 이미지 {test}개)"
DOWNLOAD_FAILED_KO = (" (내려받기 실패: {reason}. CONVSIM_OFFLINE=1로 설정하면 "
                      "내려받기를 시도하지 않습니다)")
#: The bundled MNIST sample holds fewer digits than the book's 60,000.
BUNDLED_HINT_KO = (". 60,000개를 가정한 코드, 예를 들어 reshape((60000, 28, 28, 1))은 "
                   "여기서 reshape((-1, 28, 28, 1))이어야 합니다.")


def line(lang: str, key: str, **values) -> str:
    """The trainer's line ``key`` in ``lang`` (English for an unknown
    language), filled in with ``values`` (rich markup; values escaped)."""
    return say(TEXT.get(lang, TEXT["en"])[key], **values)


def progress_words(progress: dict, lang: str) -> str:
    """Where a checkpoint's ``progress`` is, in ``lang``: "the end of epoch
    3/5", "에포크 4/5의 배치 20/100" ..."""
    if lang != "ko":
        from convsim.training.checkpoint import describe_progress

        return describe_progress(progress)
    epoch, step = progress["epoch"], progress["step"]
    epochs, steps = progress.get("epochs", "?"), progress.get("steps") or "?"
    if step == 0:
        return f"에포크 {epoch}/{epochs}의 끝" if epoch else "훈련의 시작"
    return f"에포크 {epoch + 1}/{epochs}의 배치 {step}/{steps}"


def data_line(loaded, title: str, lang: str) -> str | None:
    """The Korean line saying which data a run uses (None in English: the
    loader says it itself)."""
    if lang != "ko":
        return None
    source = loaded.source
    where = SOURCES_KO.get(source.kind, "{location}").format(
        location=source.location)
    text = DATA_KO.format(title=title, where=where,
                          train=f"{len(loaded.train[1]):,}",
                          test=f"{len(loaded.test[1]):,}")
    if loaded.note:
        text += DOWNLOAD_FAILED_KO.format(reason=loaded.note)
    if source.kind == "bundled" and title == "MNIST":
        text += BUNDLED_HINT_KO
    return text
