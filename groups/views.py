"""Placeholder views, replaced by the real ones."""

from django.http import HttpResponse


def group_list(request, **kwargs):
    return HttpResponse("todo")


def group_create(request, **kwargs):
    return HttpResponse("todo")


def invitation_answer(request, **kwargs):
    return HttpResponse("todo")


def group_detail(request, **kwargs):
    return HttpResponse("todo")


def group_edit(request, **kwargs):
    return HttpResponse("todo")


def group_members(request, **kwargs):
    return HttpResponse("todo")


def group_join(request, **kwargs):
    return HttpResponse("todo")


def group_leave(request, **kwargs):
    return HttpResponse("todo")


def group_request(request, **kwargs):
    return HttpResponse("todo")


def request_decide(request, **kwargs):
    return HttpResponse("todo")


def group_invite(request, **kwargs):
    return HttpResponse("todo")


def member_manage(request, **kwargs):
    return HttpResponse("todo")
