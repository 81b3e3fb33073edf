"""The baseline for bench/webhook.py: Flask that only verifies the signature and answers 200."""
import base64
import hashlib
import hmac
import os

from flask import Flask, request


def create_app() -> Flask:
    app = Flask(__name__)
    secret = os.environ["LINE_CHANNEL_SECRET"].encode()

    @app.post("/callback")
    def callback():
        body = request.get_data()
        expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
        if not hmac.compare_digest(expected, (request.headers.get("X-Line-Signature") or "").encode()):
            return "bad signature", 400
        return {"status": "ok"}

    return app
