/* Agora: the report dialog. Every page works without this file: a post's "Report" link
 * opens the report page (GET /posts/<id>/report/), which has the same form.
 *
 * With it, the link opens a native modal <dialog> instead: the form is fetched from that
 * page (X-Agora-Partial: report answers only the dialog's title and form, with a fresh CSRF
 * token), the dialog is labelled by its title, focus moves to the first choice, Escape or
 * "Cancel" closes it and focus returns to the link. Sending the form is an ordinary POST:
 * the server answers with the post and a message, or the report page with the errors.
 * Links are found by delegation, so posts inserted later (live updates) work too.
 */
(function () {
  "use strict";

  if (window.agoraReportDialog) return; // loaded once per page, whatever includes it
  window.agoraReportDialog = true;

  var dialog = null;
  var opener = null;

  function getDialog() {
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.className = "report-dialog";
    dialog.setAttribute("aria-labelledby", "report-dialog-title");
    dialog.addEventListener("close", function () {
      dialog.textContent = "";
      if (opener && document.contains(opener)) opener.focus();
      opener = null;
    });
    dialog.addEventListener("click", function (event) {
      var cancel = event.target.closest("[data-report-cancel]");
      if (cancel) {
        event.preventDefault();
        dialog.close();
      }
    });
    document.body.appendChild(dialog);
    return dialog;
  }

  function postAnchor(link) {
    var card = link.closest("[id^='post-']");
    return card ? "#" + card.id : "";
  }

  function open(link) {
    var url = new URL(link.href, window.location.href);
    var back = window.location.pathname + window.location.search + postAnchor(link);
    url.searchParams.set("next", back);
    return fetch(url.toString(), {
      credentials: "same-origin",
      headers: { "X-Agora-Partial": "report" },
    }).then(function (response) {
      if (!response.ok) throw new Error("report form: " + response.status);
      return response.text();
    }).then(function (html) {
      var box = getDialog();
      var parsed = new DOMParser().parseFromString(html, "text/html");
      box.textContent = "";
      Array.prototype.forEach.call(parsed.body.childNodes, function (node) {
        box.appendChild(document.importNode(node, true));
      });
      opener = link;
      box.showModal();
      var first = box.querySelector("input[type=radio], textarea, button");
      if (first) first.focus();
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-report-link]");
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (!window.fetch || !window.HTMLDialogElement || !window.DOMParser) return;
    event.preventDefault();
    open(link).catch(function () {
      window.location.href = link.href; // the page has the same form
    });
  });
})();
