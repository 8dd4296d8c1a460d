// One submit per form, for every form on the site: from the moment a form is sent until its answer
// arrives, its submit buttons are disabled (and say so with aria-disabled), so a double click, a second
// Enter or an impatient second press sends nothing more. A plain form stays so until the next page
// shows; an htmx form until its answer is swapped in, or, when the answer leads to another page, until
// that page shows. Back to a page kept by the browser (pageshow) makes its buttons work again.
// The server stops a repeated create as well (each form's idempotency key); this keeps the person's
// view honest: one request, one "Credit added" message.
(function () {
  "use strict";

  function submitButtons(form) {
    return Array.prototype.filter.call(form.elements, function (element) {
      return (element.tagName === "BUTTON" && element.type === "submit") ||
        (element.tagName === "INPUT" && (element.type === "submit" || element.type === "image"));
    });
  }

  function hold(form) {
    form.setAttribute("data-submitting", "");
    submitButtons(form).forEach(function (button) {
      if (button.disabled) return;
      button.disabled = true;
      button.setAttribute("aria-disabled", "true");
      button.setAttribute("data-held", "");
    });
  }

  function release(form) {
    form.removeAttribute("data-submitting");
    form.querySelectorAll("input[data-submitter]").forEach(function (copy) { copy.remove(); });
    submitButtons(form).forEach(function (button) {
      if (!button.hasAttribute("data-held")) return;
      button.disabled = false;
      button.removeAttribute("aria-disabled");
      button.removeAttribute("data-held");
    });
  }

  // On window, so it runs after every other submit listener: a submit that htmx (or a page's script)
  // took over has been cancelled by then, and is held by the htmx events below instead.
  window.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented) return;
    if (form.hasAttribute("data-submitting")) {
      event.preventDefault(); // already on its way
      return;
    }
    // The pressed button's own name and value (e.g. "Yes, credit 401 customers") must still be sent,
    // and a disabled button is not: a hidden copy carries them.
    var submitter = event.submitter;
    if (submitter && submitter.name) {
      var copy = document.createElement("input");
      copy.type = "hidden";
      copy.name = submitter.name;
      copy.value = submitter.value;
      copy.setAttribute("data-submitter", "");
      form.appendChild(copy);
    }
    hold(form);
  });

  function sentByForm(event) {
    var form = event.detail.elt;
    var verb = event.detail.requestConfig && event.detail.requestConfig.verb;
    return form && form.tagName === "FORM" && verb && verb.toLowerCase() !== "get" ? form : null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = sentByForm(event);
    if (form) hold(form);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = sentByForm(event);
    if (!form) return;
    // An answer that leads to another page (HX-Redirect, HX-Refresh: htmx "keeps its indicators" then) leaves
    // the buttons off until that page shows; any other answer, or none, lets the form be sent again.
    var xhr = event.detail.xhr;
    var leaving = event.detail.keepIndicators === true ||
      (xhr && xhr.status < 400 && (xhr.getResponseHeader("HX-Redirect") || xhr.getResponseHeader("HX-Refresh") === "true"));
    if (!leaving) release(form);
  });

  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitting]").forEach(release);
  });
})();
