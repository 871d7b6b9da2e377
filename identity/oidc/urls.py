from django.urls import path

from . import views

urlpatterns = [
    path("oidc/<str:provider_id>/login/", views.login, name="agency_oidc_login"),
    path("oidc/<str:provider_id>/login/callback/", views.callback, name="agency_oidc_callback"),
]
