// Site-wide behaviour: sidebar menus, the modal dialog, and one submit per form.
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

  // A plain (non-htmx) form submits once: its buttons are disabled while the page loads.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
    window.setTimeout(function () {
      form.querySelectorAll("button[type='submit'], input[type='submit']").forEach(function (button) {
        button.disabled = true;
      });
    }, 0);
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
