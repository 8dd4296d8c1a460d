// Overview: draws the two charts with Chart.js from the figures the page carries (#overview-data's data-chart, the same figures
// as the tables beside the charts). Clicking a bar opens the list it summarises.
(function () {
  "use strict";

  var COLOURS = ["#2f6db5", "#d9822b", "#3d9970", "#8e5ea2", "#c0392b", "#6c7a89", "#b8a000"];

  var currency = "GBP";

  function money(value) {
    return new Intl.NumberFormat(document.documentElement.lang || "en-GB", {
      style: "currency", currency: currency
    }).format(value);
  }

  function openBar(urls) {
    return function (event, elements) {
      if (!elements.length) return;
      var element = elements[0];
      var url = urls(element.datasetIndex, element.index);
      if (url) window.location.href = url;
    };
  }

  function pointer(event, elements) {
    event.native.target.style.cursor = elements.length ? "pointer" : "default";
  }

  function draw() {
    var source = document.getElementById("overview-data");
    if (!source || typeof window.Chart === "undefined") return;
    var data = JSON.parse(source.dataset.chart);
    currency = data.currency;
    var axis = { ticks: { callback: function (value) { return money(value); } }, beginAtZero: true };
    var tooltip = { callbacks: { label: function (item) { return item.dataset.label + ": " + money(item.raw); } } };

    new window.Chart(document.getElementById("issued-chart"), {
      type: "bar",
      data: {
        labels: data.issued.labels,
        datasets: data.issued.datasets.map(function (set, i) {
          return { label: set.label, data: set.data.map(Number), backgroundColor: COLOURS[i % COLOURS.length] };
        })
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked: true }, y: Object.assign({ stacked: true }, axis) },
        plugins: { tooltip: tooltip },
        onClick: openBar(function (set, index) { return data.issued.datasets[set].urls[index]; }),
        onHover: pointer
      }
    });

    new window.Chart(document.getElementById("ages-chart"), {
      type: "bar",
      data: {
        labels: data.ages.labels,
        datasets: [{
          label: "Outstanding", data: data.ages.data.map(Number),
          backgroundColor: ["#3d9970", "#b8a000", "#d9822b", "#c0392b", "#7b241c"]
        }]
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: { y: axis },
        plugins: { legend: { display: false }, tooltip: tooltip },
        onClick: openBar(function (set, index) { return data.ages.urls[index]; }),
        onHover: pointer
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
