/* Agora: small progressive enhancements. Every page works without this file.
 *
 * - a live character count under textareas that have a [data-charcount-for] counter
 * - reaction buttons that update in place instead of reloading the page
 * - a confirmation question for buttons with [data-confirm]
 * - forms with [data-submit-once] (composer, comments, replies) sent once per click
 */
(function () {
  "use strict";

  function setUpCharCounts() {
    document.querySelectorAll("[data-charcount-for]").forEach(function (counter) {
      var field = document.getElementById(counter.getAttribute("data-charcount-for"));
      var value = counter.querySelector("[data-charcount-value]");
      var alertRegion = counter.parentNode.querySelector("[data-charcount-alert]");
      var limit = parseInt(counter.getAttribute("data-limit"), 10);
      if (!field || !value || !limit) return;
      var wasOver = false;
      function update() {
        // Count line breaks as the server does (one character each).
        var length = field.value.replace(/\r\n/g, "\n").trim().length;
        var over = length > limit;
        value.textContent = String(length);
        counter.classList.toggle("char-count--over", over);
        if (over !== wasOver && alertRegion) {
          alertRegion.textContent = over ? alertRegion.getAttribute("data-charcount-alert") : "";
        }
        wasOver = over;
      }
      counter.hidden = false;
      field.addEventListener("input", update);
      update();
    });
  }

  function setUpReactions() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-reaction-form")) return;
      if (!window.fetch) return;
      event.preventDefault();
      var block = form.closest("[data-reactions]");
      var kind = form.querySelector("input[name=kind]").value;
      var button = form.querySelector("button");
      button.disabled = true;
      // getAttribute: the form has an input named "action", which shadows form.action.
      fetch(form.getAttribute("action"), {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-Agora-Partial": "reactions" },
      })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.querySelector("[data-reactions]");
          if (!fresh || !block) throw new Error("unexpected answer");
          block.replaceWith(fresh);
          var again = fresh.querySelector(
            "form[data-reaction-form] input[name=kind][value='" + kind + "']"
          );
          if (again) again.form.querySelector("button").focus();
        })
        .catch(function () {
          form.submit(); // fall back to the ordinary round trip
        });
    });
  }

  function setUpConfirmations() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
      if (button && !window.confirm(button.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  }

  // A random version 4 UUID, for forms rendered without a token (crypto.randomUUID exists
  // only on https and localhost pages; getRandomValues everywhere).
  function newToken() {
    if (!window.crypto) return "";
    if (window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map
      .call(bytes, function (b) {
        return (b + 0x100).toString(16).slice(1);
      })
      .join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)]
      .join("-");
  }

  // How long a form's buttons stay held when no new page arrives: a submission stopped by
  // the person (the browser's Stop button, Escape) or lost on the network tells the page
  // nothing, and the form would stay unusable until a reload. Sending it again is safe (the
  // same token). A form may say otherwise, in milliseconds: data-submit-once="5000".
  var HOLD_MS = 10000;

  function releaseForm(form) {
    form.agoraSubmission = null;
    form.removeAttribute("data-submitting");
    form.removeAttribute("aria-busy");
    form.querySelectorAll("button[data-submit-held]").forEach(function (button) {
      button.removeAttribute("aria-disabled");
      button.removeAttribute("data-submit-held");
    });
  }

  // After the first submit of a [data-submit-once] form, its buttons say they are unavailable
  // and further submits (a double click, Enter pressed again) are ignored. aria-disabled
  // rather than disabled: the button keeps its label and the keyboard focus, so a screen
  // reader is not thrown back to the top of the page. The page shown again from the
  // back/forward cache gets its buttons back, and so does a form still held after HOLD_MS
  // (its request stopped or lost). The real guarantee is the server's: the form's
  // one-time token (feeds.idempotency), filled in here when the form came without one (a
  // reply form delivered live, rendered once for everybody).
  function setUpSubmitOnce() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-submit-once")) return;
      if (event.defaultPrevented) return;
      if (form.hasAttribute("data-submitting")) {
        event.preventDefault();
        return;
      }
      var token = form.querySelector("input[name=form_token]");
      if (token && !token.value) token.value = newToken();
      form.setAttribute("data-submitting", "");
      form.setAttribute("aria-busy", "true");
      form.querySelectorAll("button:not([type]), button[type=submit]").forEach(function (button) {
        button.setAttribute("aria-disabled", "true");
        button.setAttribute("data-submit-held", "");
      });
      // A listener after this one may still have cancelled the submission: then nothing is
      // on its way, and the form must stay usable.
      window.setTimeout(function () {
        if (event.defaultPrevented) releaseForm(form);
      }, 0);
      var submission = {};
      var hold = parseInt(form.getAttribute("data-submit-once"), 10);
      form.agoraSubmission = submission;
      window.setTimeout(function () {
        if (form.agoraSubmission === submission) releaseForm(form);
      }, hold > 0 ? hold : HOLD_MS);
    });
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) return;
      document.querySelectorAll("form[data-submitting]").forEach(releaseForm);
    });
  }

  function start() {
    setUpCharCounts();
    setUpReactions();
    setUpConfirmations();
    setUpSubmitOnce();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
