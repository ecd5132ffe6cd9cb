from django.urls import path

from connexportal.embed import views

app_name = "embed"

urlpatterns = [
    path("launch/<str:token>", views.launch, name="launch"),
    path("navigation-tickets", views.navigation_ticket, name="navigation-ticket"),
]
