"""Placeholder views, replaced by the real ones."""

from django.http import HttpResponse


def home(request, **kwargs):
    return HttpResponse("todo")


def post_create(request, **kwargs):
    return HttpResponse("todo")


def post_detail(request, **kwargs):
    return HttpResponse("todo")


def post_edit(request, **kwargs):
    return HttpResponse("todo")


def post_delete(request, **kwargs):
    return HttpResponse("todo")


def comment_create(request, **kwargs):
    return HttpResponse("todo")


def comment_delete(request, **kwargs):
    return HttpResponse("todo")


def react(request, **kwargs):
    return HttpResponse("todo")


def attachment(request, **kwargs):
    return HttpResponse("todo")


def hashtag(request, **kwargs):
    return HttpResponse("todo")
