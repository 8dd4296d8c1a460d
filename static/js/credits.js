// Credit screens: the "Remaining to assign" figure as you type, and "Fill oldest first".
// Works on the assignment panel whether it arrived with the page or was swapped in by htmx.
(function () {
  "use strict";

  // Amounts are handled in whole pence, never floats: "100.5" -> 10050; null when unreadable.
  function pence(text) {
    var value = String(text || "").trim().replace(/^£/, "").replace(/,/g, "");
    if (!/^[0-9]+(\.[0-9]{1,2})?$/.test(value)) return null;
    var parts = value.split(".");
    var cents = parts[1] ? parseInt((parts[1] + "0").slice(0, 2), 10) : 0;
    return parseInt(parts[0], 10) * 100 + cents;
  }

  function plain(p) {
    var cents = String(p % 100);
    return Math.floor(p / 100) + "." + (cents.length < 2 ? "0" + cents : cents);
  }

  function money(p, currency) {
    var sign = p < 0 ? "-" : "";
    var text = new Intl.NumberFormat("en-GB", { style: "currency", currency: currency || "GBP" }).format(Math.abs(p) / 100);
    return sign + text;
  }

  function boxes(form) {
    return Array.prototype.slice.call(form.querySelectorAll("input[data-outstanding]"));
  }

  function update(form) {
    var left = pence(form.dataset.remaining);
    boxes(form).forEach(function (box) {
      var typed = pence(box.value);
      if (typed !== null) left -= typed;
    });
    var output = form.querySelector("[data-to-assign]");
    if (!output) return;
    output.textContent = money(left, form.dataset.currency);
    output.closest(".to-assign").classList.toggle("over", left < 0);
  }

  document.addEventListener("input", function (event) {
    var form = event.target.closest("form[data-remaining]");
    if (form && event.target.matches("input[data-outstanding]")) update(form);
  });

  // Oldest first (the rows are in that order): each invoice's outstanding until the credit runs out.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-fill-oldest]");
    if (!button) return;
    var form = button.closest("form[data-remaining]");
    if (!form) return;
    event.preventDefault();
    var left = pence(form.dataset.remaining);
    boxes(form).forEach(function (box) {
      var part = Math.min(pence(box.dataset.outstanding), left);
      box.value = part > 0 ? plain(part) : "";
      box.dispatchEvent(new Event("change", { bubbles: true })); // a new value: its old error goes (app.js)
      left -= Math.max(part, 0);
    });
    update(form);
  });
})();
