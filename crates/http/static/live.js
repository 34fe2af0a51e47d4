// Live pages: an element with data-live names a server-sent event stream of case changes. On a
// change (of this page's case, when data-live-case names one), the page fetches a fresh copy of
// itself and swaps in its [data-live-region] parts by id; forms being typed in are left alone.
(function () {
  var root = document.querySelector("[data-live]");
  if (!root || !window.EventSource) return;
  var only = root.getAttribute("data-live-case") || "";
  var timer = null;
  function refresh() {
    timer = null;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-region]").forEach(function (el) {
          var next = fresh.getElementById(el.id);
          if (next) el.innerHTML = next.innerHTML;
        });
        document.documentElement.setAttribute("data-live-updated", String(Date.now()));
      })
      .catch(function () {});
  }
  var source = new EventSource(root.getAttribute("data-live"));
  source.addEventListener("change", function (e) {
    if (only && e.data !== only && e.data !== "*") return;
    if (!timer) timer = setTimeout(refresh, 200);
  });
  window.addEventListener("pagehide", function () { source.close(); });
})();
