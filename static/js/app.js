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
