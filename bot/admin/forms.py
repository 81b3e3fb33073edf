"""WTForms for the admin pages. Errors are Japanese and shown beside their field; a failed submit
re-renders the form with what was typed (except passwords, which are never echoed back)."""
from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from wtforms import DateField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.meta import DefaultMeta
from wtforms.validators import EqualTo, InputRequired, Length, Optional, ValidationError

from bot.admin.auth import MAX_PASSWORD, email_problem, password_problem
from models.accounts import ROLE_LABELS, ROLES

REQUIRED = "入力してください。"

try:  # WTForms 3.3 wants SelectChoice objects (tuples are deprecated); older versions take tuples.
    from wtforms.fields.choices import SelectChoice

    def choices(pairs) -> list:
        return [SelectChoice(value=v, label=label) for v, label in pairs]
except ImportError:  # pragma: no cover - older WTForms
    def choices(pairs) -> list:
        return list(pairs)


def max_len(n: int) -> Length:
    return Length(max=n, message=f"{n}文字以内で入力してください。")


class JaForm(FlaskForm):
    class Meta:
        locales = ("ja",)

        def get_translations(self, form):
            # WTForms' own Japanese catalogue for built-in messages (Flask-WTF's would need Flask-Babel).
            return DefaultMeta.get_translations(self, form)


class LoginForm(JaForm):
    email = StringField("メールアドレス", [InputRequired(REQUIRED), max_len(254)],
                        render_kw={"autocomplete": "username", "inputmode": "email"})
    password = PasswordField("パスワード", [InputRequired(REQUIRED), max_len(MAX_PASSWORD)],
                             render_kw={"autocomplete": "current-password"})


class PasswordForm(JaForm):
    current = PasswordField("現在のパスワード", [InputRequired(REQUIRED)],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField("新しいパスワード", [InputRequired(REQUIRED)], render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("新しいパスワード（確認）",
                            [InputRequired(REQUIRED), EqualTo("new", "新しいパスワードが一致しません。")],
                            render_kw={"autocomplete": "new-password"})

    def __init__(self, *a, email: str = "", **kw) -> None:
        super().__init__(*a, **kw)
        self._email = email

    def validate_new(self, field) -> None:
        if (problem := password_problem(field.data or "", self._email)) is not None:
            raise ValidationError(problem)
        if field.data == self.current.data:
            raise ValidationError("今のパスワードとは別のものにしてください。")


class MembershipForm(JaForm):
    display_name = StringField("表示名", [Optional(), max_len(100)])
    role = SelectField("役割", choices=choices((r, ROLE_LABELS[r]) for r in ROLES))
    organisation_id = SelectField("所属する団体", coerce=int, choices=choices([(0, "（なし）")]))
    survey_team_id = SelectField("所属する調査チーム", coerce=int, choices=choices([(0, "（なし）")]))

    def set_groups(self, organisations, survey_teams) -> None:
        self.organisation_id.choices = choices([(0, "（なし）")] + [(g.id, g.name) for g in organisations])
        self.survey_team_id.choices = choices([(0, "（なし）")] + [(g.id, g.name) for g in survey_teams])

    def validate(self, extra_validators=None) -> bool:
        from bot.admin.accounts import membership_problem

        ok = super().validate(extra_validators)
        if ok and (problem := membership_problem(self.role.data, self.organisation_id.data, self.survey_team_id.data)):
            field, message = problem
            getattr(self, field).errors.append(message)
            return False
        return ok


class AccountCreateForm(MembershipForm):
    email = StringField("メールアドレス", [InputRequired(REQUIRED), max_len(254)], render_kw={"inputmode": "email"})

    def validate_email(self, field) -> None:
        if (problem := email_problem(field.data or "")) is not None:
            raise ValidationError(problem)


class GroupForm(JaForm):
    name = StringField("名前", [InputRequired(REQUIRED), max_len(100)])


class NoticeForm(JaForm):
    organisation_id = SelectField("団体", coerce=int)
    title = StringField("題名", [InputRequired(REQUIRED), max_len(100)])
    body = TextAreaField("本文", [Optional(), max_len(2000)], render_kw={"rows": 6})

    def validate_organisation_id(self, field) -> None:
        if not field.data:
            raise ValidationError("団体を選んでください。")


class JaDateField(DateField):
    """A date within a sane window: year 9999 or 0001 would overflow the day arithmetic and the databases'
    timestamp ranges, and no date the admin handles is outside it."""

    EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as e:
            raise ValueError("日付は 2026-04-01 のように入力してください。") from e
        if self.data is not None and not (self.EARLIEST <= self.data <= self.LATEST):
            self.data = None
            raise ValueError(f"日付は{self.EARLIEST.year}年から{self.LATEST.year}年までの間で入力してください。")


class AuditFilterForm(JaForm):
    """A GET form (bookmarkable filters): no CSRF token, it changes nothing."""

    class Meta:
        csrf = False

    actor = SelectField("操作した人", coerce=int, default=0)
    action = SelectField("操作", default="")
    since = JaDateField("開始日", [Optional()])
    until = JaDateField("終了日", [Optional()])
