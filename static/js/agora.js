/* Agora: small progressive enhancements. Every page works without this file.
 *
 * - a live character count under textareas that have a [data-charcount-for] counter
 * - reaction buttons that update in place instead of reloading the page
 * - a confirmation question for buttons with [data-confirm]
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

  function start() {
    setUpCharCounts();
    setUpReactions();
    setUpConfirmations();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
