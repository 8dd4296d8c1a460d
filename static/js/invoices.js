// Invoices and payments: the as-you-type pickers and the New invoice lines.
(function () {
  "use strict";

  // Enter in a picker's search box searches (htmx listens for "search"); it must not submit the form.
  document.addEventListener("keydown", function (event) {
    var input = event.target.closest && event.target.closest("[data-picker-search]");
    if (!input || event.key !== "Enter") return;
    event.preventDefault();
    if (window.htmx) window.htmx.trigger(input, "search");
  });

  // Choosing an invoice to pay fills in its outstanding amount when the amount is still empty.
  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (radio.name !== "invoice" || !radio.dataset.outstanding) return;
    var amount = radio.form && radio.form.querySelector("input[name='amount']");
    if (amount && !amount.value) amount.value = radio.dataset.outstanding;
  });

  // After "Add line" redraws the form, put the cursor in the new line's description.
  document.addEventListener("htmx:afterSwap", function (event) {
    var form = event.detail.target;
    if (!form || form.id !== "invoice-form") return;
    var submitter = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent && event.detail.requestConfig.triggeringEvent.submitter;
    if (!submitter || submitter.name !== "add_line") return;
    var descriptions = document.querySelectorAll("#invoice-form input[name$='-description']");
    if (descriptions.length) descriptions[descriptions.length - 1].focus();
  });
})();
