/* Agora notifications: keep the bell's unread count current without reloading.
 *
 * The count arrives two ways:
 * - pushed: a live-updates message {"kind": "notifications", "unread": n, "label": "..."}
 *   handed over as a DOM event `agora:notifications` (detail = that message);
 * - read: GET /notifications/count/ when the tab becomes visible again.
 * The count sits in a polite live region (templates/notifications/partials/bell.html), so a
 * change is announced once by screen readers.
 */
(function () {
  "use strict";

  var bell = document.querySelector("[data-notification-bell]");
  var region = bell && bell.querySelector("[data-notification-count]");
  if (!region || !window.fetch) return;
  var countUrl = bell.getAttribute("data-notification-count-url");
  var shown = region.getAttribute("data-unread");

  function show(unread, label) {
    unread = parseInt(unread, 10) || 0;
    if (String(unread) === shown) return;
    shown = String(unread);
    region.setAttribute("data-unread", shown);
    bell.classList.toggle("bell--unread", unread > 0);
    region.textContent = "";
    if (!unread) return;
    var number = document.createElement("span");
    number.setAttribute("aria-hidden", "true");
    number.textContent = String(unread);
    var words = document.createElement("span");
    words.className = "visually-hidden";
    words.textContent = label || String(unread);
    region.appendChild(number);
    region.appendChild(words);
  }

  function refresh() {
    if (!countUrl) return;
    fetch(countUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        show(data.unread, data.label);
      })
      .catch(function () {});
  }

  document.addEventListener("agora:notifications", function (event) {
    if (event.detail) show(event.detail.unread, event.detail.label);
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") refresh();
  });
})();
