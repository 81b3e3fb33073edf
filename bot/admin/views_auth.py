"""Log in, log out, change one's own password."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, url_for

from bot.admin import audit, auth
from bot.admin.blueprint import bp
from bot.admin.forms import LoginForm, PasswordForm
from bot.admin.policy import PUBLIC, SIGNED_IN, requires

# A locked account is answered exactly like an unknown address or a wrong password (same words, same
# status, the same argon2 work in auth.attempt_login): otherwise the lock-out tells which addresses have
# accounts. The owner learns of it at the next login (and admins in the audit log) instead.
NOT_SIGNED_IN = (f"メールアドレスかパスワードが違います。続けて{auth.MAX_FAILED_LOGINS}回間違えると、"
                 f"{int(auth.LOCK_FOR.total_seconds() // 60)}分間ログインできなくなります。")
MESSAGES = {
    auth.BAD: NOT_SIGNED_IN,
    auth.LOCKED: NOT_SIGNED_IN,
    auth.DISABLED: "このアカウントは利用停止中です。管理者にお問い合わせください。",
}
# Printable ASCII without backslash: %-escaped paths pass, CR/LF and spaces (header injection) do not.
_NEXT = re.compile(r"/admin/[\x21-\x5b\x5d-\x7e]*")


def _safe_next(target: str | None) -> str:
    """Only a path inside /admin: never an open redirect to another site, never a broken header."""
    if target and _NEXT.fullmatch(target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and not target.startswith("//"):
            return target
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
def login():
    """Rate-limited per client address in bot/admin/__init__.py; per account by the lock-out in auth."""
    if g.account is not None and request.method == "GET":
        return redirect(url_for("admin.dashboard"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        result = auth.attempt_login(g.db, form.email.data, form.password.data, g.now, testing=g.rt.config.testing)
        if result.status == auth.OK:
            account = result.account
            audit.record(g.db, "login", actor=account, obj=account)
            g.db.commit()
            auth.start_session(account, g.now)
            if (lock_outs := audit.lock_outs_since(g.db, account, result.previous_login_at)):
                flash(f"前回のログインのあと、ログインの失敗が続いて、このアカウントがロックされたことがあります"
                      f"（記録{lock_outs}件）。心当たりがなければ、パスワードを変更してください。", "warning")
            if account.must_change_password:
                flash("仮パスワードでログインしました。新しいパスワードを設定してください。", "warning")
                return redirect(url_for("admin.password"))
            return redirect(_safe_next(request.args.get("next")))
        if result.account is None:
            audit.record(g.db, "login.failed", summary="登録のないメールアドレス")
        elif result.status == auth.LOCKED and result.failures:
            audit.record(g.db, "login.locked", actor=result.account, obj=result.account,
                         summary=f"{auth.MAX_FAILED_LOGINS}回失敗したため{int(auth.LOCK_FOR.total_seconds() // 60)}分間ロック")
        elif result.status == auth.LOCKED:
            audit.record(g.db, "login.locked_attempt", actor=result.account, obj=result.account,
                         summary="ロック中のログイン試行")
        else:
            reason = {auth.BAD: f"パスワード誤り（{result.failures}回目）", auth.DISABLED: "利用停止中"}[result.status]
            audit.record(g.db, "login.failed", actor=result.account, obj=result.account, summary=reason)
        g.db.commit()
        error = MESSAGES[result.status]
        status = 200
    else:
        status = 422 if request.method == "POST" else 200
    return render_template("admin/login.html", form=form, error=error), status


@bp.post("/logout")
@requires(SIGNED_IN, with_temporary_password=True)
def logout():
    # Signed-cookie sessions live in the browser: bumping the version is what makes a copied cookie useless.
    # (It also ends this account's sessions on other devices, which is the safer surprise.)
    g.account.session_version += 1
    audit.record(g.db, "logout", actor=g.account, obj=g.account)
    g.db.commit()
    auth.end_session()
    flash("ログアウトしました。", "info")
    return redirect(url_for("admin.login"))


@bp.route("/password", methods=["GET", "POST"])
@requires(SIGNED_IN, with_temporary_password=True)
def password():
    account = g.account
    form = PasswordForm(email=account.email)
    if form.validate_on_submit():
        ok, _ = auth.check_password(account.password_hash, form.current.data, testing=g.rt.config.testing)
        if not ok:
            form.current.errors.append("現在のパスワードが違います。")
        else:
            auth.set_password(account, form.new.data, g.now, testing=g.rt.config.testing, temporary=False)
            audit.record(g.db, "password.change", actor=account, obj=account)
            g.db.commit()
            auth.start_session(account, g.now)  # this session continues; every other one has ended
            flash("パスワードを変更しました。", "success")
            return redirect(url_for("admin.dashboard"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/password.html", form=form), status
