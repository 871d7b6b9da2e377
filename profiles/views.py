"""Placeholder views, replaced by the real ones."""

from django.http import HttpResponse


def directory(request, **kwargs):
    return HttpResponse("todo")


def profile_edit(request, **kwargs):
    return HttpResponse("todo")


def profile_detail(request, **kwargs):
    return HttpResponse("todo")


def avatar(request, **kwargs):
    return HttpResponse("todo")


def follow_toggle(request, **kwargs):
    return HttpResponse("todo")


def followers(request, **kwargs):
    return HttpResponse("todo")


def following(request, **kwargs):
    return HttpResponse("todo")
