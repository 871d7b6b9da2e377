"""Mounted at `accounts/` before django-allauth's URLs, so these win for the same paths."""

from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.sign_out, name="logout"),
]
