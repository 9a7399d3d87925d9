from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from clients import views as client_views
from clients.forms import AdminLoginForm, LoginForm

admin.site.site_header = _("電話代行 管理画面")
admin.site.site_title = _("電話代行 管理画面")
admin.site.index_title = _("管理メニュー")
admin.site.login_form = AdminLoginForm

handler403 = client_views.permission_denied

urlpatterns = [
    path("", client_views.home, name="home"),
    path(
        "login/",
        client_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", client_views.password_change, name="password_change"),
    path(
        "password/done/",
        client_views.password_change_done,
        name="password_change_done",
    ),
    # パスワードをお忘れの方: a link by e-mail (clients.password_reset).
    path(
        "password/reset/",
        client_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        client_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        client_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        client_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # set_language: the 日本語 / English switch at the foot of every page (a cookie).
    path("i18n/", include("django.conf.urls.i18n")),
    path("operator/", include("console.urls")),
    path("reports/", include("reporting.urls")),
    path("billing/", include("billing.urls")),
    path("portal/", include("portal.urls")),
    path("admin/", admin.site.urls),
    # Asked for by browsers on pages that name no icon (the admin site): a 404
    # logged on every page view otherwise.
    path(
        "favicon.ico",
        RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True),
        name="favicon",
    ),
]
