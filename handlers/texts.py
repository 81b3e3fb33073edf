"""Resident-facing wording shared by the core handlers, and the one way a feature reads its own wording file
(handlers/<feature>_vocab.yaml: vocab)."""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def read_yaml(path: Path) -> dict:
    """A wording file as a dict ({} when empty), through libyaml's parser when PyYAML has it."""
    import yaml

    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}


def vocab(feature: str) -> dict:
    """handlers/<feature>_vocab.yaml: a feature's texts, labels and words."""
    return read_yaml(HERE / f"{feature}_vocab.yaml")


GREETING = (
    "友だち追加ありがとうございます。\n"
    "{city}の「協働プロジェクト」をご案内するLINEです。\n\n"
    "・まちづくりのプロジェクトと今年度の予定\n"
    "・こどもの居場所や地域のイベント\n"
    "・ボランティアの申し込み\n"
    "・市のアンケートへの回答\n\n"
    "下のボタンから選んでください。"
)
WELCOME_BACK = "おかえりなさい。またご利用いただきありがとうございます。\n下のボタンから選んでください。"
LEAVE_BUTTON = "退会・データ削除"
HELP = (
    "使い方のご案内です。\n"
    "画面下のメニューかボタンを押すと、知りたい情報が表示されます。\n"
    "「プロジェクト」のように言葉を送っていただいても大丈夫です。\n\n"
    f"登録を削除したいときは、下の「{LEAVE_BUTTON}」を押してください。"
)
NOT_UNDERSTOOD = "すみません、うまく読み取れませんでした。\nお手数ですが、下のボタンから選んでください。"
NOT_UNDERSTOOD_SUGGEST = "すみません、うまく読み取れませんでした。\nもしかして、こちらでしょうか。"
SORRY = "申し訳ありません。ただいま処理できませんでした。\n少し時間をおいて、もう一度お試しください。"
STALE_BUTTON = "このボタンは古くなっています。\nお手数ですが、メニューからもう一度お選びください。"
UNSUPPORTED_MESSAGE = "ありがとうございます。\nこのLINEでは、文字やボタンでお答えしています。下のボタンから選んでください。"
TOO_LONG = "メッセージが長すぎるため、読み取れませんでした。\n短い言葉で送るか、下のボタンから選んでください。"

LEAVE_DONE = (
    "あなたのデータを削除しました。ご利用ありがとうございました。\n"
    "LINEの友だちのままでも、こちらからお知らせは届きません。\n"
    "またご利用になるときは、いつでもメッセージを送るか、下の「メニュー」を押してください。"
)
LEAVE_CANCELLED = "退会を取りやめました。引き続きよろしくお願いいたします。"
LEAVE_NOT_PENDING = "退会の確認は終わっています。\nご登録はそのままですので、引き続きご利用いただけます。"
LEAVE_EXPIRED = "確認の時間が過ぎました。退会をご希望の場合は、もう一度「退会」と送ってください。"
LEAVE_ALREADY_DONE = (
    "あなたのデータは、すでに削除されています。\n"
    "このLINEにお知らせの設定などは残っていません。\n"
    "またご利用になるときは、いつでもメッセージを送るか、下の「メニュー」を押してください。"
)
