// Site-wide behaviour: sidebar menus and the modal dialog (one submit per form: forms.js).
(function () {
  "use strict";

  // Sidebar: each "<" toggles its menu; the open ones are kept in a cookie the server reads.
  function saveMenus() {
    var open = Array.prototype.map.call(
      document.querySelectorAll(".menu-toggle[aria-expanded='true']"),
      function (button) { return button.dataset.menu; }
    );
    document.cookie = "menus=" + open.join(",") + "; path=/; max-age=31536000; SameSite=Lax";
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".menu-toggle");
    if (!toggle) return;
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    var expanded = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", expanded ? "false" : "true");
    menu.hidden = expanded;
    saveMenus();
  });

  // A field's error answers what was in it when the form was sent: once the person changes the field, the message
  // (the "..._error" element its aria-describedby names), the wrapper's has-error and aria-invalid go.
  function clearFieldError(event) {
    var field = event.target;
    if (!(field instanceof Element) || field.getAttribute("aria-invalid") !== "true") return;
    var described = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    var errorIds = described.filter(function (id) { return /_error$/.test(id); });
    if (field.id && errorIds.indexOf(field.id + "_error") === -1) errorIds.push(field.id + "_error");
    errorIds.forEach(function (id) {
      var message;
      // A field with two messages has two elements with the one id.
      while ((message = document.getElementById(id)) && message.classList.contains("error")) message.remove();
    });
    var kept = described.filter(function (id) { return errorIds.indexOf(id) === -1; });
    if (kept.length) field.setAttribute("aria-describedby", kept.join(" "));
    else field.removeAttribute("aria-describedby");
    field.removeAttribute("aria-invalid");
    var wrapper = field.closest(".has-error");
    if (wrapper && !wrapper.querySelector("[aria-invalid='true']")) wrapper.classList.remove("has-error");
  }
  document.addEventListener("input", clearFieldError);
  document.addEventListener("change", clearFieldError);

  // The modal: whatever htmx swaps into #modal-body is shown; an "closeModal" event closes it.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "modal-body") {
      var dialog = document.getElementById("modal");
      if (!dialog.open) dialog.showModal();
      var first = dialog.querySelector("input:not([type='hidden']), select, textarea, button");
      if (first) first.focus();
    }
  });
  document.addEventListener("closeModal", function () {
    var dialog = document.getElementById("modal");
    if (dialog.open) dialog.close();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-modal]")) {
      document.getElementById("modal").close();
    }
  });
})();
