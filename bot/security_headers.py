"""One set of security headers on every response Flask serves: pages, error pages, static files.

The policy allows scripts and styles only from this site's own files (no inline <script>, style attribute
or onclick: templates put them in bot/static/), images from the site and data: URIs (Pico CSS draws its
icons that way), and no framing at all. HSTS only when the request arrived over https (request.is_secure,
which ProxyFix sets from X-Forwarded-Proto when KYODO_TRUSTED_PROXIES allows it): a browser told over plain
http would pin a site that may not have https yet. POST /callback is answered before Flask (bot/webhook.py)
and carries JSON only, so it is left out of this on purpose.
"""
from __future__ import annotations

from flask import Flask, request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def add_headers(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response


def install(app: Flask) -> None:
    app.after_request(add_headers)
