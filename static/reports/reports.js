// Draws the response-time histogram whenever htmx brings its data block (a json_script: data, not code,
// so the Content-Security-Policy needs no inline script).
(function () {
  function draw(root) {
    var block = root.querySelector ? root.querySelector("#response-histogram-data") : null;
    var canvas = document.getElementById("response-histogram");
    if (!block || !canvas || typeof Chart === "undefined") return;
    var data = JSON.parse(block.textContent);
    if (canvas.chart) canvas.chart.destroy();
    canvas.chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "First response", data: data.first_response, backgroundColor: "#3b6fb6" },
          { label: "Reply time", data: data.reply_time, backgroundColor: "#9bb7dd" }
        ]
      },
      options: { animation: false, responsive: true, maintainAspectRatio: false,
                 scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.detail.elt.parentNode || document); });
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
})();
