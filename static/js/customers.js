// Customers › View All: row selection, "select all on page", "select all N matching",
// and the Group Actions menu. The state lives in the DOM, so it survives nothing but also
// needs no re-initialising when htmx swaps the table.
(function () {
  "use strict";

  function rowBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#table .select-row"));
  }

  function groupForm() {
    return document.getElementById("group-form");
  }

  function matchingButton() {
    return document.querySelector("#table [data-select-matching]");
  }

  // "All matching" mode sends the filter (all_matching=1&q=..&tag=..&outstanding=..) instead of ticked rows.
  function setAllMatching(on) {
    var form = groupForm();
    if (!form) return;
    form.dataset.allMatching = on ? "1" : "";
    form.querySelectorAll("[data-all-matching]").forEach(function (input) { input.disabled = !on; });
    var clear = document.querySelector("#table [data-clear-selection]");
    var button = matchingButton();
    var message = document.getElementById("selection-message");
    if (clear) clear.hidden = !on;
    if (button) button.hidden = on;
    if (on && message && button) {
      message.textContent = "All " + button.dataset.count + " matching customers are selected.";
      var status = document.getElementById("selection-status");
      if (status) status.textContent = button.dataset.count + " customers selected";
    }
  }

  function update() {
    var boxes = rowBoxes();
    var ticked = boxes.filter(function (box) { return box.checked; });
    var allOnPage = boxes.length > 0 && ticked.length === boxes.length;
    boxes.forEach(function (box) { box.closest("tr").classList.toggle("selected", box.checked); });

    var pageBox = document.getElementById("select-page");
    if (pageBox) {
      pageBox.checked = allOnPage;
      pageBox.indeterminate = ticked.length > 0 && !allOnPage;
    }
    var status = document.getElementById("selection-status");
    var form = groupForm();
    if (status && !(form && form.dataset.allMatching && allOnPage)) {
      status.textContent = ticked.length ? ticked.length + (ticked.length === 1 ? " customer" : " customers") + " selected" : "";
    }
    var bar = document.getElementById("selection-bar");
    if (!bar) return;
    if (!allOnPage) setAllMatching(false);
    bar.hidden = !allOnPage;
    if (allOnPage && !(form && form.dataset.allMatching)) {
      document.getElementById("selection-message").textContent =
        "All " + boxes.length + " customers on this page are selected.";
      // Count the matching customers only now that someone may want them all.
      var matching = document.getElementById("matching");
      if (matching && matching.hasAttribute("hx-get") && !matching.dataset.asked && window.htmx) {
        matching.dataset.asked = "1";
        window.htmx.trigger(matching, "allOnPage");
      }
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "select-page") {
      rowBoxes().forEach(function (box) { box.checked = target.checked; });
      update();
    } else if (target.classList && target.classList.contains("select-row")) {
      update();
    }
  });

  document.addEventListener("click", function (event) {
    var selectMatching = event.target.closest("[data-select-matching]");
    if (selectMatching) {
      setAllMatching(true);
      var clear = document.querySelector("#table [data-clear-selection]");
      if (clear) clear.focus();
      return;
    }
    if (event.target.closest("[data-clear-selection]")) {
      rowBoxes().forEach(function (box) { box.checked = false; });
      setAllMatching(false);
      update();
      var pageBox = document.getElementById("select-page");
      if (pageBox) pageBox.focus();
      return;
    }
    // A Cancel link in the dialog only closes it (app.js closes; the link must not navigate).
    if (event.target.closest("#modal a[data-close-modal]")) {
      event.preventDefault();
      return;
    }
    // Clicking outside an open Group Actions menu closes it.
    document.querySelectorAll("details.group-actions[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.group-actions[open]").forEach(function (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    });
  });

  // In "all matching" mode only the filter is sent, not the ticked rows of this page.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "group-form" || !form.dataset.allMatching) return;
    event.preventDefault();
    var params = new URLSearchParams();
    form.querySelectorAll("input[type='hidden']:not([disabled])").forEach(function (input) {
      params.append(input.name, input.value);
    });
    window.location.assign(form.action + "?" + params.toString());
  });

  // Back from the bulk screen: the page comes from the back/forward cache with its button disabled.
  window.addEventListener("pageshow", function () {
    var form = groupForm();
    if (form) form.querySelectorAll("button").forEach(function (button) { button.disabled = false; });
    update();
  });

  document.addEventListener("htmx:afterSettle", update);
})();
