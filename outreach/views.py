"""Outreach pages (admins only): campaigns, audiences, scraping, warm-up. Function views; htmx fragments
are partials of the page templates."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_htmx.middleware import HtmxDetails

from crm.parsing import parse_page
from crm.permissions import admin_required
from outreach import explain, imports, scraping, selectors, services, spintax, warmup
from outreach.forms import (
    AudienceForm,
    CampaignEditForm,
    CampaignForm,
    CsvImportForm,
    ScrapeForm,
    WarmupForm,
)
from outreach.models import Audience, Campaign, ScrapeJob, WarmupPlan


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _page(request: HttpRequest, items, per_page: int) -> Page:
    return Paginator(items, per_page).get_page(parse_page(request.GET.get("page")))


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    campaigns = _page(request, selectors.campaign_list(archived=archived), 25)
    steps = selectors.campaigns_steps(campaign_ids=[c.pk for c in campaigns])
    context = {
        "campaigns": campaigns,
        "rows": [(c, steps[c.pk]) for c in campaigns],
        "archived": archived,
    }
    return render(request, "outreach/index.html", context)


@admin_required
def campaign_new(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if not k.startswith("follow_up")}
        name, template, audience, senders = (data.pop(k) for k in ("name", "template", "audience", "senders"))
        media = data.pop("media", None)
        try:
            campaign = services.campaign_create(
                name=name,
                template=template,
                audience=audience,
                senders=list(senders),
                follow_ups=form.follow_ups(),
                **data,
            )
        except services.CampaignError as error:
            form.add_error(None, str(error))
        else:
            if media:
                campaign.media = media
                campaign.save(update_fields=["media"])
            messages.success(request, f"Campaign “{campaign.name}” saved as a draft.")
            return redirect("outreach:campaign", pk=campaign.pk)
    return render(request, "outreach/campaign_new.html", {"form": form})


@admin_required
def spintax_preview(request: HttpRequest) -> HttpResponse:
    """The template's variants, samples, or the position of its syntax error (for the form, via htmx)."""
    source = request.POST.get("template", "") if request.method == "POST" else request.GET.get("template", "")
    try:
        preview = spintax.preview(source, context={"first_name": "Ada"}, samples=5)
    except spintax.SpintaxError as error:
        if len(source) > spintax.MAX_LENGTH:  # no point echoing a megabyte back with a caret at its end
            return render(request, "outreach/_preview.html", {"error": error})
        caret = " " * error.position + "^"
        return render(request, "outreach/_preview.html", {"error": error, "source": source, "caret": caret})
    return render(request, "outreach/_preview.html", {"preview": preview})


@admin_required
def campaign_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("audience"), pk=pk)
    template_name = "outreach/campaign.html"
    if request.htmx:
        template_name += "#stats"
    context = {
        "campaign": campaign,
        "stats": selectors.campaign_stats(campaign=campaign),
        "steps": selectors.campaign_steps(campaign=campaign),
        "why": explain.campaign_explain(campaign=campaign),
        "sent_steps": selectors.campaign_sent_steps(campaign=campaign),
        "follow_ups": campaign.follow_ups.all(),
        "senders": campaign.senders.all(),
    }
    return render(request, template_name, context)


@admin_required
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("audience"), pk=pk)
    if campaign.state in (Campaign.State.FINISHED, Campaign.State.ARCHIVED):
        messages.error(request, f"A {campaign.get_state_display().lower()} campaign cannot be changed.")
        return redirect("outreach:campaign", pk=pk)
    sent_steps = selectors.campaign_sent_steps(campaign=campaign)
    # The form works on its own copy: validation writes into its instance, which must not be the shown one.
    form = CampaignEditForm(request.POST or None, instance=Campaign.objects.get(pk=pk), sent_steps=sent_steps)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if not k.startswith("follow_up")}
        template, audience, senders = (data.pop(k) for k in ("template", "audience", "senders"))
        # The form shows two follow-ups; steps after them (made through the API) stay as they are.
        extra = [(f.after, f.template) for f in campaign.follow_ups.filter(position__gt=2)]
        try:
            services.campaign_update(
                campaign=campaign,
                template=template,
                audience=audience,
                senders=list(senders),
                follow_ups=form.follow_ups() + extra,
                by=request.user,
                **data,
            )
        except services.CampaignError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Changes saved.")
            return redirect("outreach:campaign", pk=pk)
    context = {"campaign": campaign, "form": form, "sent_steps": sent_steps}
    return render(request, "outreach/campaign_edit.html", context)


@admin_required
@require_POST
def campaign_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        if action == "start":
            added = services.campaign_start(campaign=campaign, by=request.user)
            messages.success(request, f"Started: {added} recipients.")
        elif action == "pause":
            services.campaign_pause(campaign=campaign, by=request.user)
        elif action == "resume":
            services.campaign_resume(campaign=campaign, by=request.user)
        elif action == "archive":
            services.campaign_archive(campaign=campaign, by=request.user)
            messages.success(request, f"“{campaign.name}” is archived; its history is kept.")
        elif action == "delete":
            confirm = request.POST.get("confirm") == "yes"
            services.campaign_delete(campaign=campaign, confirm=confirm, by=request.user)
            messages.success(request, f"“{campaign.name}” is deleted.")
            return redirect("outreach:index")
        else:
            return HttpResponse(status=404)
    except services.CampaignError as error:
        messages.error(request, str(error))
    return redirect("outreach:campaign", pk=pk)


@admin_required
def audiences(request: HttpRequest) -> HttpResponse:
    form = AudienceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        audience = form.save()
        return redirect("outreach:audience", pk=audience.pk)
    audiences = _page(request, selectors.audience_list(), 50)
    return render(request, "outreach/audiences.html", {"audiences": audiences, "form": form})


@admin_required
def audience_detail(request: HttpRequest, pk: int) -> HttpResponse:
    audience = get_object_or_404(Audience, pk=pk)
    form = AudienceForm(request.POST or None, instance=audience)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Filters saved.")
        return redirect("outreach:audience", pk=pk)
    context = {
        "audience": audience,
        "form": form,
        "csv_form": CsvImportForm(),
        "size": audience.members.count(),
        "usable": selectors.audience_contacts(audience=audience).count(),
        "people": _page(request, selectors.audience_contacts(audience=audience).order_by("id"), 50),
    }
    return render(request, "outreach/audience.html", context)


@admin_required
@require_POST
def audience_import(request: HttpRequest, pk: int, source: str) -> HttpResponse:
    audience = get_object_or_404(Audience, pk=pk)
    if source == "csv":
        form = CsvImportForm(request.POST, request.FILES)
        if not form.is_valid():
            messages.error(request, " ".join(str(e) for e in form.errors.get("file", ["Choose a CSV file."])))
            return redirect("outreach:audience", pk=pk)
        report = imports.audience_import_csv(audience=audience, data=form.cleaned_data["file"].read())
    elif source == "conversations":
        report = imports.audience_import_conversations(audience=audience)
    else:
        return HttpResponse(status=404)
    messages.success(request, f"Added {report.added} people ({report.known} were already in the list).")
    for line, error in report.errors[:20]:
        messages.warning(request, f"Line {line}: {error}")
    if len(report.errors) > 20:
        messages.warning(request, f"…and {len(report.errors) - 20} more rows with errors.")
    return redirect("outreach:audience", pk=pk)


@admin_required
def scrapes(request: HttpRequest) -> HttpResponse:
    form = ScrapeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = scraping.job_create(by=request.user, **form.cleaned_data)
        except scraping.ScrapeError as error:
            form.add_error(None, str(error))
        else:
            return redirect("outreach:scrape", pk=job.pk)
    page = _page(request, selectors.scrape_job_list(), 25)
    jobs = [(job, scraping.job_progress(job)) for job in page]
    return render(request, "outreach/scrapes.html", {"form": form, "jobs": jobs, "page": page})


@admin_required
def scrape_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ScrapeJob.objects.select_related("account", "audience"), pk=pk)
    template_name = "outreach/scrape.html"
    if request.htmx:
        template_name = "outreach/_scrape_row.html" if request.GET.get("row") else template_name + "#progress"
    return render(request, template_name, {"job": job, "progress": scraping.job_progress(job)})


@admin_required
@require_POST
def scrape_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    job = get_object_or_404(ScrapeJob, pk=pk)
    actions = {"pause": scraping.job_pause, "resume": scraping.job_resume, "cancel": scraping.job_cancel}
    if action not in actions:
        return HttpResponse(status=404)
    actions[action](job=job)
    return redirect("outreach:scrape", pk=pk)


@admin_required
def warmups(request: HttpRequest) -> HttpResponse:
    form = WarmupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        warmup.plan_create(
            account=data["account"],
            days=data["days"],
            start_limits={"new_dm": data["start_new_dm"], "join": data["start_join"]},
            target_limits={"new_dm": data["target_new_dm"], "join": data["target_join"]},
            actions_per_day=data["actions_per_day"],
            channels=data["channels"].splitlines(),
            active_from=data["active_from"],
            active_to=data["active_to"],
            timezone_name=data["timezone"],
        )
        messages.success(request, f"Warm-up started for {data['account'].display_name}.")
        return redirect("outreach:warmups")
    return render(request, "outreach/warmups.html", {"form": form, "stages": warmup.stages()})


@admin_required
@require_POST
def warmup_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    plan = get_object_or_404(WarmupPlan, pk=pk)
    if action in ("pause", "resume"):
        warmup.plan_pause(plan=plan, paused=action == "pause")
    elif action == "delete":
        warmup.plan_delete(plan=plan)
    else:
        return HttpResponse(status=404)
    return redirect("outreach:warmups")
