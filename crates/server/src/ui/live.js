// firebreak's one script: keeps the parts of a page marked `data-live` up to date without a
// reload. Every few seconds while the page is visible, and at once when it becomes visible again,
// each part asks its URL (`data-live`) for its HTML, sending the version it shows
// (`data-version`) as If-None-Match; the server answers 304 while nothing changed, or the new HTML
// with its version, which replaces the part. Nothing is asked while the tab is hidden. Without
// this script every page is as it was loaded, and works the same.
"use strict";
(function () {
  var PERIOD_MS = 3000;
  var regions = Array.prototype.slice.call(document.querySelectorAll("[data-live]"));
  if (regions.length === 0 || !window.fetch || !window.Promise) {
    return;
  }
  var timer = null;
  var busy = false;
  var stopped = false;

  function refresh(region) {
    var headers = {};
    var version = region.getAttribute("data-version");
    if (version) {
      headers["If-None-Match"] = version;
    }
    return fetch(region.getAttribute("data-live"), {
      headers: headers,
      credentials: "same-origin",
      cache: "no-store",
      redirect: "manual"
    }).then(function (response) {
      if (response.status === 304) {
        return;
      }
      if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
        // Logged out: the next reload shows the login page; until then the page stays as it is.
        stopped = true;
        return;
      }
      if (response.status !== 200) {
        return;
      }
      var next = response.headers.get("ETag");
      return response.text().then(function (html) {
        if (next && next === region.getAttribute("data-version")) {
          return;
        }
        region.innerHTML = html;
        if (next) {
          region.setAttribute("data-version", next);
        }
      });
    });
  }

  function schedule() {
    if (timer === null && !stopped && !document.hidden) {
      timer = setTimeout(poll, PERIOD_MS);
    }
  }

  function poll() {
    timer = null;
    if (stopped || document.hidden || busy) {
      schedule();
      return;
    }
    busy = true;
    Promise.all(regions.map(function (region) {
      return refresh(region).catch(function () {});
    })).then(function () {
      busy = false;
      schedule();
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (!document.hidden) {
      poll();
    }
  });
  schedule();
})();
