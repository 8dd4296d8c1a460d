// Customers › View All: row selection, "select all on page", "select all N matching",
// and the Group Actions menu.
//
// The chosen customers are kept here, in `chosen`, not in the rows: a search, a sort or a page
// swaps #table (the group form and the status with it), and the ticks must survive that, including
// the ones made while the new rows are on their way. After every swap the rows shown are ticked
// from `chosen`, and the chosen customers not shown are carried by hidden `customer` inputs in
// #group-form, so that Group Actions › Create Credit sends every one of them.
(function () {
  "use strict";

  var chosen = new Set(); // customer ids, as the boxes' values

  function rowBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#table .select-row"));
  }

  function groupForm() {
    return document.getElementById("group-form");
  }

  function matchingButton() {
    return document.querySelector("#table [data-select-matching]");
  }

  function allMatching() {
    var form = groupForm();
    return Boolean(form && form.dataset.allMatching);
  }

  function plural(n) {
    return n + (n === 1 ? " customer" : " customers");
  }

  // "All matching" mode sends the filter (all_matching=1&q=..&tag=..&outstanding=..) instead of the chosen ids.
  function setAllMatching(on) {
    var form = groupForm();
    if (!form) return;
    form.dataset.allMatching = on ? "1" : "";
    form.querySelectorAll("[data-all-matching]").forEach(function (input) { input.disabled = !on; });
    var button = matchingButton();
    if (button) button.hidden = on;
  }

  // The rows shown take their ticks from `chosen`; the rest of `chosen` goes in hidden inputs.
  function sync() {
    var form = groupForm();
    if (!form) return;
    var shown = new Set();
    rowBoxes().forEach(function (box) {
      box.checked = chosen.has(box.value);
      shown.add(box.value);
    });
    form.querySelectorAll("input[data-chosen]").forEach(function (input) { input.remove(); });
    chosen.forEach(function (id) {
      if (shown.has(id)) return;
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "customer";
      input.value = id;
      input.setAttribute("data-chosen", "");
      form.appendChild(input);
    });
    update(shown);
  }

  function update(shown) {
    var boxes = rowBoxes();
    var ticked = boxes.filter(function (box) { return box.checked; });
    var allOnPage = boxes.length > 0 && ticked.length === boxes.length;
    boxes.forEach(function (box) { box.closest("tr").classList.toggle("selected", box.checked); });

    var pageBox = document.getElementById("select-page");
    if (pageBox) {
      pageBox.checked = allOnPage;
      pageBox.indeterminate = ticked.length > 0 && !allOnPage;
    }
    if (!allOnPage) setAllMatching(false);

    var status = document.getElementById("selection-status");
    var button = matchingButton();
    if (status) {
      var notShown = 0;
      chosen.forEach(function (id) { if (!shown.has(id)) notShown += 1; });
      if (allMatching() && button) {
        status.textContent = button.dataset.count + " customers selected";
      } else if (chosen.size) {
        status.textContent = plural(chosen.size) + " selected" + (notShown ? " (" + notShown + " not shown)" : "");
      } else {
        status.textContent = "No customers selected";
      }
    }
    var clear = document.querySelector("#table [data-clear-selection]");
    if (clear) clear.hidden = !chosen.size && !allMatching();

    var bar = document.getElementById("selection-bar");
    if (!bar) return;
    bar.hidden = !allOnPage;
    var message = document.getElementById("selection-message");
    if (allMatching() && button) {
      message.textContent = "All " + button.dataset.count + " matching customers are selected.";
    } else if (allOnPage) {
      message.textContent = "All " + boxes.length + " customers on this page are selected.";
      // Count the matching customers only now that someone may want them all.
      var matching = document.getElementById("matching");
      if (matching && matching.hasAttribute("hx-get") && !matching.dataset.asked && window.htmx) {
        matching.dataset.asked = "1";
        window.htmx.trigger(matching, "allOnPage");
      }
    }
  }

  function shownIds() {
    return new Set(rowBoxes().map(function (box) { return box.value; }));
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.id === "select-page") {
      rowBoxes().forEach(function (box) {
        if (target.checked) chosen.add(box.value); else chosen.delete(box.value);
      });
      sync();
    } else if (target.classList && target.classList.contains("select-row")) {
      if (target.checked) chosen.add(target.value); else chosen.delete(target.value);
      sync();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-select-matching]")) {
      setAllMatching(true);
      update(shownIds());
      var clear = document.querySelector("#table [data-clear-selection]");
      if (clear) clear.focus();
      return;
    }
    if (event.target.closest("[data-clear-selection]")) {
      chosen.clear();
      setAllMatching(false);
      sync();
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

  // In "all matching" mode only the filter is sent, not the chosen ids.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "group-form" || !form.dataset.allMatching) return;
    event.preventDefault();
    var params = new URLSearchParams();
    form.querySelectorAll("input[data-all-matching]:not([disabled])").forEach(function (input) {
      params.append(input.name, input.value);
    });
    var action = (event.submitter && event.submitter.getAttribute("formaction")) || form.action;
    window.location.assign(action + "?" + params.toString());
  });

  // A refreshed table (search, sort, page) comes without ticks: put them back before anyone sees it.
  document.addEventListener("htmx:afterSwap", sync);
  document.addEventListener("htmx:afterSettle", sync);
  window.addEventListener("pageshow", sync); // forms.js gives Create Credit back after Back from the bulk screen

  // Ticks the browser kept (a reload) count as chosen.
  rowBoxes().forEach(function (box) { if (box.checked) chosen.add(box.value); });
  sync();
})();
