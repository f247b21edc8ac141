// Appended to a copy of the tiny map page by run.sh: once the page is ready, drives the real
// controls (namespace and outcome checkboxes, the search box) and reports what the panels show.
(function wait() {
  if (document.body.dataset.ready !== "true") return setTimeout(wait, 50);
  const report = [];
  const openTitle = () => document.querySelector("#open-lists .g-title").textContent;
  report.push("open:" + openTitle());
  for (const box of document.querySelectorAll("#ns-filters input")) {
    if (box.closest("label").title === "shop") box.click();
  }
  report.push("hidden-shop:" + openTitle());
  document.getElementById("ns-all").click();
  report.push("all:" + openTitle());
  document.querySelectorAll("#outcome-filters input")[1].click();
  const search = document.getElementById("search");
  search.value = "shop/ap";
  search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
  report.push("search:" + document.querySelector("#details .d-title").textContent);
  document.body.dataset.interacted = report.join(";");
})();
