from django.urls import path

from credits import views

app_name = "credits"
urlpatterns = [
    path("credits/", views.credit_list, name="list"),
    path("add-credit/", views.credit_add, name="add"),
]
