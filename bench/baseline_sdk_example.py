"""The baseline for bench/e2e.py: the line-bot-sdk's own Flask echo example (examples/flask-echo,
app_with_handler.py), pointed at the fake LINE API. The answer is sent inside the webhook request:
WebhookHandler parses and verifies, MessagingApi.reply_message_with_http_info replies, one ApiClient
per event, as the example does.

    gunicorn -w 2 'bench.baseline_sdk_example:create_app()'

Differences from the example: the LINE API host comes from LINE_API_BASE_URL, and the example's
`app.logger.info("Request body: " + body)` is left out (message text must not reach a log; at gunicorn's
default level the line printed nothing anyway).
"""
import os

from flask import Flask, abort, request
from linebot.v3 import WebhookHandler
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, ReplyMessageRequest, TextMessage
from linebot.v3.webhooks import MessageEvent, TextMessageContent


def create_app() -> Flask:
    app = Flask(__name__)
    configuration = Configuration(access_token=os.environ["LINE_CHANNEL_ACCESS_TOKEN"],
                                  host=os.environ.get("LINE_API_BASE_URL", "https://api.line.me"))
    handler = WebhookHandler(os.environ["LINE_CHANNEL_SECRET"])

    @app.route("/callback", methods=["POST"])
    def callback():
        signature = request.headers["X-Line-Signature"]
        body = request.get_data(as_text=True)
        try:
            handler.handle(body, signature)
        except InvalidSignatureError:
            abort(400)
        return "OK"

    @handler.add(MessageEvent, message=TextMessageContent)
    def handle_message(event):
        with ApiClient(configuration) as api_client:
            line_bot_api = MessagingApi(api_client)
            line_bot_api.reply_message_with_http_info(
                ReplyMessageRequest(reply_token=event.reply_token, messages=[TextMessage(text=event.message.text)]))

    return app
