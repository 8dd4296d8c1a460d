from django.urls import path

from credits import views

app_name = "credits"
urlpatterns = [
    path("add-credit/", views.credit_add, name="add"),
    path("add-credit/customers/", views.customer_search, name="customer_search"),
    path("credits/", views.credit_list, name="list"),
    path("credits/export/", views.credit_export, name="export"),
    path("credits/bulk/", views.credit_bulk, name="bulk"),
    path("credits/batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("credits/batches/<int:pk>/undo/", views.batch_undo, name="batch_undo"),
    path("credits/<int:pk>/", views.credit_detail, name="detail"),
    path("credits/<int:pk>/modify/", views.credit_edit, name="edit"),
    path("credits/<int:pk>/delete/", views.credit_delete, name="delete"),
    path("credits/<int:pk>/assignments/", views.credit_assignments, name="assignments"),
    path("credits/<int:pk>/assignments/add/", views.credit_assign, name="assign"),
    path("credits/<int:pk>/assignments/<int:assignment_pk>/remove/", views.credit_unassign, name="unassign"),
    path("credits/<int:pk>/history/", views.credit_history, name="history"),
    path("credits/<int:pk>/refund/", views.credit_refund, name="refund"),
    path("credits/<int:pk>/refunds/<int:refund_pk>/reverse/", views.refund_reverse, name="refund_reverse"),
    path("refunds/", views.refund_list, name="refund_list"),
    path("refunds/export/", views.refund_export, name="refund_export"),
]
