"""Signing in (password, then the second factor, enrolling it the first time), signing out,
changing a password, and the one-time links for invitations and password resets."""
from __future__ import annotations

import logging

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from incidents import clock
from incidents.services import sealed
from incidents.services.accounts import login, passwords, second_factor, users
from incidents.services.accounts import mail as letters
from incidents.services.errors import ServiceError
from incidents.web import limits
from incidents.web.console import bp, forms, guard
from incidents.web.session import db_session

log = logging.getLogger(__name__)
PENDING_SECONDS = 300  # between the password and the second factor


def _attempt(email: str) -> login.Attempt:
    return login.Attempt(email=login.normal_email(email), ip=request.remote_addr or "",
                         user_agent=request.user_agent.string or "", now=clock.now())


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute or protocol-relative URL (open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("console.now")


@bp.route("/login", methods=["GET", "POST"], endpoint="login")
@limits.sign_in
def login_():
    if current_user.is_authenticated:
        return redirect(url_for("console.now"))
    form = forms.SignInForm()
    error = None
    if form.validate_on_submit():
        s = db_session()
        result = login.password_step(s, _attempt(form.email.data), form.password.data)
        s.commit()
        if result.user is not None:
            session.clear()
            session["pending"] = {"uid": result.user.id, "epoch": result.user.session_epoch,
                                  "at": clock.now().timestamp(), "next": _safe_next(request.args.get("next"))}
            return redirect(url_for("console.second_factor" if result.user.totp_enrolled_at else "console.enrol"))
        error = result.error
    elif form.is_submitted():
        error = "Enter your e-mail and password."
    return render_template("console/signin/login.html", form=form, error=error), 200 if not error else 401



def _pending_user():
    pending = session.get("pending")
    if not pending or clock.now().timestamp() - pending["at"] > PENDING_SECONDS:
        return None
    user = db_session().get(users.User, pending["uid"])
    if user is None or not user.active or user.session_epoch != pending["epoch"]:
        return None
    return user


def _restart(message: str):
    session.clear()
    flash(message, "info")
    return redirect(url_for("console.login"))


@bp.route("/login/second-factor", methods=["GET", "POST"], endpoint="second_factor")
def second_factor_():
    user = _pending_user()
    if user is None or not user.totp_enrolled_at:
        return _restart("Sign in again.")
    form = forms.CodeForm()
    error = None
    if form.validate_on_submit():
        s = db_session()
        attempt = _attempt(user.email)
        error = login.throttled(s, attempt)
        if error is None:
            code = form.code.data
            used_recovery = False
            ok = second_factor.verify_code(user, code, now=attempt.now, keys=_keys())
            if not ok and not code.strip().isdigit():
                ok = used_recovery = second_factor.use_recovery_code(s, user, code, now=attempt.now)
            if ok:
                login.record(s, attempt, login.Outcome.SUCCESS, user)
                left = second_factor.recovery_codes_left(s, user) if used_recovery else None
                s.commit()
                target = session["pending"]["next"]
                guard.start_session(user)
                if used_recovery:
                    flash(f"You signed in with a recovery code; {left} left. Make new ones on your account page "
                          "if you are running low.", "warning")
                return redirect(target)
            login.record(s, attempt, login.Outcome.BAD_SECOND_FACTOR, user)
            error = "That code is not right, or it was already used. Wait for the next code and try again."
        s.commit()
    return render_template("console/signin/second_factor.html", form=form, error=error), 200 if not error else 401



@bp.route("/login/enrol", methods=["GET", "POST"], endpoint="enrol")
def enrol_():
    user = _pending_user()
    if user is None or user.totp_enrolled_at:
        return _restart("Sign in again.")
    s = db_session()
    secret = second_factor.pending_secret(user, _keys())  # kept, sealed: a reload shows the same code
    s.commit()
    form = forms.CodeForm()
    error = None
    if form.validate_on_submit():
        now = clock.now()
        if second_factor.confirm_enrolment(user, secret=secret, code=form.code.data, now=now, keys=_keys()):
            codes = second_factor.new_recovery_codes(s, user)
            login.record(s, _attempt(user.email), login.Outcome.SUCCESS, user)
            s.commit()
            guard.start_session(user)
            return render_template("console/signin/recovery_codes.html", codes=codes, first=True)
        error = "That code does not match. Check the time on your phone and enter the newest code."
    uri = second_factor.provisioning_uri(secret, user.email)
    return render_template("console/signin/enrol.html", form=form, error=error, qr=second_factor.qr_svg(uri),
                           secret=secret), 200 if not error else 400



@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("console.login"))


@bp.post("/account/sign-out-everywhere")
def sign_out_everywhere():
    s = db_session()
    users.sign_out_everywhere(s, user=current_user.user, where=guard.where(), now=clock.now())
    s.commit()
    logout_user()
    session.clear()
    flash("You are signed out on every device.", "info")
    return redirect(url_for("console.login"))


@bp.get("/account")
def account():
    s = db_session()
    return render_template("console/signin/account.html", form=forms.ConfirmForm(),
                           codes_left=second_factor.recovery_codes_left(s, current_user.user))


@bp.post("/account/recovery-codes")
def new_recovery_codes():
    form = forms.CodeForm()
    s = db_session()
    user = current_user.user
    if form.validate_on_submit() and second_factor.verify_code(user, form.code.data, now=clock.now(), keys=_keys()):
        codes = second_factor.new_recovery_codes(s, user)
        s.commit()
        return render_template("console/signin/recovery_codes.html", codes=codes, first=False)
    flash("Enter a current code from your authenticator app to make new recovery codes.", "error")
    return redirect(url_for("console.account"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = forms.ChangePasswordForm()
    error = None
    if form.validate_on_submit():
        s = db_session()
        user = current_user.user
        if not passwords.verify(user, form.current.data):
            error = "Your current password is not right."
        else:
            try:
                passwords.set_password(user, form.password.data, now=clock.now())
            except ServiceError as exc:
                error = exc.message
            else:
                s.commit()
                guard.start_session(user)  # the epoch moved on: this session continues, the others end
                flash("Password changed. You stay signed in here; other sessions were signed out.", "success")
                return redirect(url_for("console.now"))
    return render_template("console/signin/password.html", form=form, error=error, errors=form.errors), \
        200 if not (error or form.errors) else 400


@bp.route("/invite/<token>", methods=["GET", "POST"])
def invite(token: str):
    return _set_password_with_link(token, "invite")


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    return _set_password_with_link(token, "reset")


def _set_password_with_link(token: str, purpose: str):
    from incidents.services.accounts import tokens

    s = db_session()
    now = clock.now()
    try:
        user = tokens.peek(s, token=token, purpose=purpose, now=now)
    except ServiceError as exc:
        return render_template("console/error.html", status=410, message=exc.message), 410
    form = forms.NewPasswordForm()
    error = None
    if form.validate_on_submit():
        try:
            verb = users.accept_invite if purpose == "invite" else users.complete_reset
            verb(s, token=token, password=form.password.data, now=now)
        except ServiceError as exc:
            s.rollback()
            error = exc.message
        else:
            s.commit()
            flash("Your password is set. Sign in with it now.", "success")
            return redirect(url_for("console.login"))
    return render_template("console/signin/set_password.html", form=form, error=error, user=user,
                           purpose=purpose), 200 if not (error or form.errors) else 400


@bp.route("/reset", methods=["GET", "POST"])
def reset_request():
    form = forms.ResetRequestForm()
    if form.validate_on_submit():
        s = db_session()
        found = users.request_reset(s, email=form.email.data, now=clock.now())
        s.commit()
        if found is not None:
            user, token = found
            send_letter(letters.password_reset(user, public_link("console.reset", token=token)))
        # The same words either way: this form must not tell who has an account.
        flash("If that e-mail belongs to an account, a reset link is on its way. It works once, for an hour.", "info")
        return redirect(url_for("console.login"))
    return render_template("console/signin/reset_request.html", form=form)


def public_link(endpoint: str, **values) -> str:
    """A link for an e-mail, on PUBLIC_URL: never built from the request's Host header, which a
    client controls (reset-link poisoning)."""
    return current_app.config["VIGIL"].public_url + url_for(endpoint, **values)


def send_letter(letter: letters.Letter) -> bool:
    """Send an account e-mail now; False (logged without the link) when it cannot be sent."""
    mailer = current_app.extensions.get("vigil.mailer")
    if mailer is None:
        log.warning("cannot e-mail %r to a user: SMTP_URL is not set", letter.subject)
        return False
    from incidents.providers.email import Mail, MailError
    try:
        mailer.send(Mail(to=letter.to, subject=letter.subject, text=letter.text))
    except MailError as exc:
        log.warning("cannot e-mail %r: %s", letter.subject, exc)
        return False
    return True


def _keys() -> sealed.Keyring:
    """The keys TOTP secrets are sealed with (VIGIL_ENCRYPTION_KEYS, else derived from SECRET_KEY)."""
    return sealed.keyring(current_app.config["VIGIL"])
