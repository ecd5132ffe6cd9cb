from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _

from connexportal.accounts.branding import sniff_logo
from connexportal.accounts.models import ConnexAccount, Merchant, Partner, PartnerApiKey, User
from connexportal.activity.services import Actor, activity_record, api_key_label
from connexportal.portal.credentials import (
    Credentials,
    CredentialsCheck,
    CredentialsRefused,
    connex_credentials_check,
    connex_credentials_save,
)
from connexportal.webhooks.admin import WebhookEndpointInline, endpoint_formset_record
from connexportal.webhooks.models import WebhookEndpoint


class ConnexAccountForm(forms.ModelForm):
    """The password is write-only: it is encrypted on save and never rendered back.

    Changed credentials are tried against Connex before they are saved (portal.credentials):
    refused ones are a form error; when Connex cannot be asked they are saved unverified.
    """

    password = forms.CharField(
        label=_("Connex password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Stored encrypted. Leave blank to keep the current password."),
    )
    # Set per request by ConnexAccountInline.get_formset: who is saving, for the activity trail.
    actor: Actor | None = None

    class Meta:
        model = ConnexAccount
        fields = ("environment", "username")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        configured = set(settings.CONNEX_ENVIRONMENTS)
        self.fields["environment"].choices = [
            (value, label) for value, label in self.fields["environment"].choices if not value or value in configured
        ]
        self.credentials: Credentials | None = None
        self.check: CredentialsCheck | None = None

    def clean(self):
        cleaned = super().clean()
        if not self.instance.password_encrypted and not cleaned.get("password"):
            self.add_error("password", _("A password is required for a new Connex account."))
        if self.errors or not self.has_changed():
            return cleaned
        credentials = Credentials(
            environment=cleaned["environment"],
            username=cleaned["username"],
            password=cleaned.get("password") or self.instance.get_password(),
        )
        try:
            self.check = connex_credentials_check(credentials)
        except CredentialsRefused as exc:
            raise forms.ValidationError(str(exc), code="connex_refused") from None
        self.credentials = credentials
        return cleaned

    def save(self, commit=True):
        if self.credentials is None or self.check is None:
            return super().save(commit=commit)
        merchant = self.instance.merchant
        if not commit:
            raise ValueError("Connex credentials are saved with commit=True only: they are checked and recorded.")
        return connex_credentials_save(
            merchant=merchant, credentials=self.credentials, check=self.check, actor=self.actor or Actor.system()
        )


class ConnexAccountInline(admin.StackedInline):
    model = ConnexAccount
    form = ConnexAccountForm
    can_delete = False
    extra = 1
    max_num = 1
    readonly_fields = ("verified_at",)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = type(formset.form.__name__, (formset.form,), {"actor": Actor.from_request(request)})
        return formset


class MerchantUserInline(admin.TabularInline):
    model = User
    fields = ("email", "is_active", "last_login")
    readonly_fields = ("email", "last_login")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("name", "partner", "external_id", "environment", "connex_username", "is_active", "created_at")
    list_filter = ("is_active", "partner", "connex_account__environment")
    search_fields = ("name", "external_id", "connex_account__username", "users__email")
    inlines = [ConnexAccountInline, MerchantUserInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("connex_account", "partner")

    def save_model(self, request, obj, form, change):
        before = Merchant.objects.select_related("partner").get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        changes = {name: (getattr(before, name, None), getattr(obj, name)) for name in form.changed_data}
        if change and not changes:
            return
        if not change:
            action = "merchant.created"
        elif changes.get("is_active") == (True, False):
            action = "merchant.deactivated"
        else:
            action = "merchant.changed"
        activity_record(
            action=action, actor=Actor.from_request(request), merchant=obj, target=obj.external_id, changes=changes
        )

    @admin.display(description=_("environment"))
    def environment(self, merchant):
        account = getattr(merchant, "connex_account", None)
        return account.get_environment_display() if account else "—"

    @admin.display(description=_("Connex username"))
    def connex_username(self, merchant):
        account = getattr(merchant, "connex_account", None)
        return account.username if account else "—"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "merchant", "partner", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "merchant", "partner")
    search_fields = ("email", "first_name", "last_name")
    list_select_related = ("merchant", "partner")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Merchant"), {"fields": ("merchant",)}),
        (_("Partner console"), {"fields": ("partner", "is_partner_admin")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "merchant", "partner", "is_partner_admin", "password1", "password2"),
            },
        ),
    )


class PartnerForm(forms.ModelForm):
    logo_file = forms.FileField(
        label=_("Logo"), required=False, help_text=_("PNG, JPEG, GIF or WebP, at most 256 KB. SVG is not accepted.")
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    class Meta:
        model = Partner
        fields = (
            "name",
            "primary_color",
            "accent_color",
            "theme",
            "default_language",
            "service_name",
            "embed_chrome",
            "embed_origins",
            "hide_products",
            "hide_orders",
            "allow_run_now",
            "allow_credential_editing",
            "is_active",
        )
        widgets = {
            "primary_color": forms.TextInput(attrs={"type": "color"}),
            "accent_color": forms.TextInput(attrs={"type": "color"}),
            "embed_origins": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_logo_file(self):
        upload = self.cleaned_data.get("logo_file")
        if upload is None:
            return None
        content = upload.read(256 * 1024 + 1)
        return content, sniff_logo(content)

    def save(self, commit=True):
        partner = super().save(commit=False)
        if self.cleaned_data.get("remove_logo"):
            partner.set_logo(b"", "")
        elif self.cleaned_data.get("logo_file"):
            partner.set_logo(*self.cleaned_data["logo_file"])
        if commit:
            partner.save()
        return partner


class PartnerApiKeyInline(admin.TabularInline):
    model = PartnerApiKey
    fields = ("name", "prefix", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("name", "prefix", "created_at", "last_used_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    form = PartnerForm
    list_display = ("name", "theme", "default_language", "is_active", "created_at")
    list_filter = ("is_active", "theme", "default_language")
    search_fields = ("name",)
    inlines = [PartnerApiKeyInline, WebhookEndpointInline]
    actions = ["issue_api_key"]

    def save_model(self, request, obj, form, change):
        before = Partner.objects.get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        changes = {}
        for name in form.changed_data:
            if name == "logo_file":
                changes["logo"] = ("", "changed")
            elif name == "remove_logo":
                changes["logo"] = ("", "removed")
            else:
                changes[name] = (getattr(before, name, None), getattr(obj, name))
        if change and not changes:
            return
        activity_record(
            action="partner.changed" if change else "partner.created",
            actor=Actor.from_request(request),
            partner=obj,
            target=obj.name,
            changes=changes,
        )

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        if formset.model is WebhookEndpoint:
            endpoint_formset_record(request, formset)
            return
        if formset.model is not PartnerApiKey:
            return
        for key_form in formset.forms:
            if "revoked_at" not in key_form.changed_data:
                continue
            key, revoked_before = key_form.instance, key_form.initial.get("revoked_at")
            if (revoked_before is None) == (key.revoked_at is None):
                continue
            activity_record(
                action="api_key.revoked" if key.revoked_at else "api_key.restored",
                actor=Actor.from_request(request),
                partner=key.partner,
                target=api_key_label(key),
                changes={"revoked_at": (revoked_before, key.revoked_at)},
            )

    @admin.action(description=_("Issue a new API key (shown once)"))
    def issue_api_key(self, request, queryset):
        """The new keys on a page of their own, the action's response: never in a message, which
        the cookie (or session) message storage would keep and send back to the browser."""
        issued = []
        for partner in queryset:
            key, plaintext = PartnerApiKey.issue(partner, name=f"admin {request.user.email}")
            activity_record(
                action="api_key.issued", actor=Actor.from_request(request), partner=partner, target=api_key_label(key)
            )
            issued.append((partner, plaintext))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("New API keys"),
            "issued": issued,
        }
        response = TemplateResponse(request, "admin/accounts/partner/api_keys_issued.html", context)
        add_never_cache_headers(response)
        return response
