"""A person's login from a browser: a page that takes a token and answers with a signed
cookie, the authentication that reads it back, and logging out.

The cookie holds a keyed digest of the token, never the token, signed with SECRET_KEY
and stamped with its time: it is refused once LOGIN_MAX_AGE_SECONDS have passed, when
SECRET_KEY changes, and when the token it was made from is no longer configured (a
rotated token logs out every browser that used it). What it may do is the token's scope,
read again from the settings on each request. A change made with it (any method but
GET, HEAD, OPTIONS) needs the page's CSRF token, as Django's session logins do, and
what it opens is marked private (`PrivatePages`): no shared cache may keep it.
"""

from collections.abc import Callable
from urllib.parse import quote

from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import rotate_token
from django.shortcuts import render
from django.urls import path
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import APIException, PermissionDenied, Throttled
from rest_framework.request import Request

from eventsproject.web.access import TOKEN_SETTINGS, Scope, any_tokens, tokens
from eventsproject.web.authentication import (
    BEARER_CHALLENGE,
    ApiClient,
    refuse,
    refuse_if_blocked,
    scopes_of,
)

LOGIN_COOKIE = "events_login"
#: A login lasts a working day; then the page asks for the token again.
LOGIN_MAX_AGE_SECONDS = 12 * 60 * 60
#: Where a login without a page to return to lands: the notifications, as they are sent.
LANDING_PAGE = "/v1/notifications"
_SALT = "eventsproject.web.login"
#: Set on a request the login cookie authenticated (a name no HTTP header can map to).
OPENED_BY_LOGIN = "events.opened_by_login"


def _fingerprint(token: str) -> str:
    return salted_hmac(_SALT, token, algorithm="sha256").hexdigest()


def _token_with(fingerprint: str) -> str | None:
    known = (token for scope in Scope for token in tokens(scope))
    return next((t for t in known if constant_time_compare(_fingerprint(t), fingerprint)), None)


class LoginCookieAuthentication(BaseAuthentication):
    """The browser's login cookie; a missing, forged, stale or withdrawn one is no login
    (the page then sends the browser to log in), never an error."""

    def authenticate(self, request: Request) -> tuple[ApiClient, None] | None:
        signed = request.COOKIES.get(LOGIN_COOKIE)
        if not signed:
            return None
        try:
            fingerprint = signing.loads(signed, salt=_SALT, max_age=LOGIN_MAX_AGE_SECONDS)
        except signing.BadSignature:  # forged, or expired (SignatureExpired is one)
            return None
        token = _token_with(str(fingerprint))
        if token is None:
            return None
        SessionAuthentication().enforce_csrf(request)
        request._request.META[OPENED_BY_LOGIN] = True  # PrivatePages marks the answer private
        return ApiClient(scopes_of(token.encode())), None


class PrivatePages:
    """Middleware: an answer the login cookie opened is the operator's alone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if OPENED_BY_LOGIN in request.META:
            patch_vary_headers(response, ("Cookie",))
            patch_cache_control(response, private=True, no_store=True)
        return response


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    next_page = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    if request.method != "POST" or not any_tokens():
        return _form(request, next_page)
    token = request.POST.get("token", "")
    try:
        _admit(request, token)
    except APIException as refused:
        return _refused(request, next_page, refused)
    rotate_token(request)  # a token an attacker planted before the login is worth nothing after
    answer = HttpResponseRedirect(next_page)
    answer.set_cookie(
        LOGIN_COOKIE,
        signing.dumps(_fingerprint(token), salt=_SALT),
        max_age=LOGIN_MAX_AGE_SECONDS,
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return answer


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def logout_page(request: HttpRequest) -> HttpResponse:
    """A GET shows a button: logging out changes something, so it takes a POST."""
    if request.method != "POST":
        return render(request, "eventsproject/logout.html")
    answer = HttpResponseRedirect("/login?logged_out=1")
    answer.delete_cookie(LOGIN_COOKIE, samesite="Lax")
    return answer


def _admit(request: HttpRequest, token: str) -> None:
    """Raises what the form then says: a wrong token, too many, or one that opens no page."""
    refuse_if_blocked(request)
    scopes = scopes_of(token.encode())
    if not scopes:
        refuse(request, "Invalid token.")
    if Scope.ADMIN not in scopes:
        raise PermissionDenied(
            "This token may only post events: the pages need a token listed in "
            f"{TOKEN_SETTINGS[Scope.ADMIN]}."
        )


def _refused(request: HttpRequest, next_page: str, refused: APIException) -> HttpResponse:
    answer = _form(request, next_page, error=str(refused.detail), status=refused.status_code)
    wait = getattr(refused, "wait", None) if isinstance(refused, Throttled) else None
    if wait:
        answer["Retry-After"] = str(max(1, round(wait)))
    return answer


def _form(request: HttpRequest, next_page: str, error: str = "", status: int = 200) -> HttpResponse:
    context = {
        "next": next_page,
        "error": error,
        "logged_out": "logged_out" in request.GET,
        "needs_no_login": not any_tokens(),
    }
    answer = render(request, "eventsproject/login.html", context, status=status)
    if status == 401:
        answer["WWW-Authenticate"] = BEARER_CHALLENGE
    return answer


def login_context(request: HttpRequest) -> dict[str, bool]:
    """A context processor: the navbar offers to log in only where a token could."""
    return {"login_possible": any_tokens()}


def csrf_refused(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's CSRF_FAILURE_VIEW: a form refused says why, and what usually causes it."""
    context = {"reason": reason, "origin": request.headers.get("Origin", "")}
    return render(request, "eventsproject/csrf_refused.html", context, status=403)


def _safe_next(request: HttpRequest, offered: str) -> str:
    """A page of this site, or the landing page: never a redirect to elsewhere."""
    is_path = offered.startswith("/") and not offered.startswith(("//", "/\\"))
    same_site = url_has_allowed_host_and_scheme(
        offered, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return offered if is_path and same_site else LANDING_PAGE


def login_url(next_page: str) -> str:
    return f"/login?next={quote(next_page, safe='')}"


#: DRF's navbar links to these by name ("Log in", and the logged-in client's "Log out").
urlpatterns = [
    path("login", login_page, name="login"),
    path("logout", logout_page, name="logout"),
]
