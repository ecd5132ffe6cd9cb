from django.urls import path

from connexportal.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.order_import_new, name="new"),
    path("template.csv", views.order_import_template, name="template"),
    path("<uuid:import_id>/", views.order_import_detail, name="detail"),
    path("<uuid:import_id>/start/", views.order_import_start, name="start"),
    path("<uuid:import_id>/cancel/", views.order_import_cancel, name="cancel"),
    path("<uuid:import_id>/result.csv", views.order_import_result, name="result"),
]
