"""Customers, their contacts, the direct-update templates and the social accounts, in the admin.

Customers can be imported from CSV (the customer list's "Import from CSV" button), through
the same service as the API. A social account's apprise URL is write-only: typed once,
kept encrypted on its comms channel, never shown again.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from comms import apprise_urls
from customers import services
from customers.forms import CsvImportForm
from customers.models import Contact, Customer, SocialAccount, UpdateTemplate
from customers.services import CustomerError
from customers.services.records import CSV_MAX_BYTES


class ContactInline(admin.TabularInline):
    model = Contact
    fields = ("name", "email", "alternate_email", "phone", "preferred_channel")
    extra = 1


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("name", "contact_count", "service_names")
    search_fields = ("name", "contacts__name", "contacts__email", "contacts__alternate_email")
    filter_horizontal = ("services", "components")
    inlines = [ContactInline]
    change_list_template = "admin/customers/customer/change_list.html"

    def get_queryset(self, request: HttpRequest):
        return (
            super().get_queryset(request).annotate(n_contacts=Count("contacts")).prefetch_related("services")
        )

    @admin.display(description="Contacts", ordering="n_contacts")
    def contact_count(self, customer: Customer) -> int:
        return customer.n_contacts

    @admin.display(description="Services")
    def service_names(self, customer: Customer) -> str:
        return ", ".join(s.name for s in customer.services.all()) or "—"

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_csv), name="customers_customer_import"),
            *super().get_urls(),
        ]

    def import_csv(self, request: HttpRequest) -> HttpResponse:
        """Add or update customers and contacts from a CSV file: all of it, or nothing with the reasons."""
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = CsvImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > CSV_MAX_BYTES:
                form.add_error(
                    "file", f"The file is larger than {CSV_MAX_BYTES:,} bytes: import it in parts."
                )
            else:
                try:
                    text = upload.read().decode("utf-8-sig")
                except UnicodeDecodeError:
                    form.add_error("file", "The file is not UTF-8 text: save it as “CSV UTF-8”.")
                else:
                    try:
                        result = services.customers_import_csv(text=text)
                    except CustomerError as error:
                        form.add_error("file", str(error))
                    else:
                        self.message_user(request, f"Imported: {result}", messages.SUCCESS)
                        return redirect(reverse("admin:customers_customer_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import customers from CSV",
            "form": form,
        }
        return TemplateResponse(request, "admin/customers/customer/import.html", context)


@admin.register(UpdateTemplate)
class UpdateTemplateAdmin(admin.ModelAdmin):
    list_display = ("status", "subject")


class SocialAccountForm(forms.ModelForm):
    apprise_url = forms.CharField(
        label="apprise URL",
        required=False,
        max_length=2000,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Mastodon: mastodons://TOKEN@SERVER; Bluesky: bsky://HANDLE@APP-PASSWORD; "
        "X: x://CONSUMER-KEY/CONSUMER-SECRET/ACCESS-TOKEN/ACCESS-SECRET?mode=tweet. Never shown "
        "again once saved; leave empty to keep the current one.",
    )

    class Meta:
        model = SocialAccount
        fields = ("name", "apprise_url", "is_active")

    def clean_apprise_url(self) -> str:
        url = self.cleaned_data.get("apprise_url") or ""
        if url:
            try:
                apprise_urls.describe(url, schemes=settings.COMMS_APPRISE_CHANNEL_SCHEMES, what="account")
            except apprise_urls.AppriseUrlRefused as error:
                raise forms.ValidationError(str(error)) from None
        elif self.instance.pk is None:
            raise forms.ValidationError("A new account needs its apprise URL.")
        return url


@admin.register(SocialAccount)
class SocialAccountAdmin(admin.ModelAdmin):
    form = SocialAccountForm
    list_display = ("name", "service", "posts_up_to", "is_active")
    readonly_fields = ("service", "posts_up_to")

    @admin.display(description="Service")
    def service(self, account: SocialAccount) -> str:
        channel = account.channel
        return f"{channel.apprise_service} · {channel.apprise_hint}" if channel.apprise_hint else "—"

    @admin.display(description="Longest post")
    def posts_up_to(self, account: SocialAccount) -> str:
        limit = account.channel.apprise_body_limit
        return f"{limit} characters" if limit else "not known (280 are used)"

    def save_model(self, request: HttpRequest, obj: SocialAccount, form, change: bool) -> None:
        # The URL was checked by the form; the service keeps it encrypted on the account's channel.
        account = services.social_account_save(
            name=form.cleaned_data["name"],
            url=form.cleaned_data.get("apprise_url") or "",
            account=SocialAccount.objects.get(pk=obj.pk) if change else None,
        )
        account.is_active = form.cleaned_data["is_active"]
        account.save(update_fields=["is_active"])
        obj.pk, obj.channel = account.pk, account.channel
