from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from connexportal.accounts.models import ConnexAccount, Merchant, User


class ConnexAccountForm(forms.ModelForm):
    """The password is write-only: it is encrypted on save and never rendered back."""

    password = forms.CharField(
        label=_("Connex password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Stored encrypted. Leave blank to keep the current password."),
    )

    class Meta:
        model = ConnexAccount
        fields = ("environment", "username")

    def clean(self):
        cleaned = super().clean()
        if not self.instance.password_encrypted and not cleaned.get("password"):
            self.add_error("password", _("A password is required for a new Connex account."))
        return cleaned

    def save(self, commit=True):
        account = super().save(commit=False)
        if self.cleaned_data.get("password"):
            account.set_password(self.cleaned_data["password"])
        if commit:
            account.save()
        return account


class ConnexAccountInline(admin.StackedInline):
    model = ConnexAccount
    form = ConnexAccountForm
    can_delete = False
    extra = 1
    max_num = 1


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
    list_display = ("name", "environment", "connex_username", "timezone", "is_active", "created_at")
    list_filter = ("is_active", "connex_account__environment")
    search_fields = ("name", "connex_account__username", "users__email")
    inlines = [ConnexAccountInline, MerchantUserInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("connex_account")

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
    list_display = ("email", "merchant", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "merchant")
    search_fields = ("email", "first_name", "last_name")
    list_select_related = ("merchant",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Merchant"), {"fields": ("merchant",)}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "merchant", "password1", "password2")}),)
