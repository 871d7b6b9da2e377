/* Agora live updates. The page works without this file; with it, what colleagues post,
 * comment and react appears without reloading.
 *
 * Every page of a signed-in person (<body data-live-user>) keeps one websocket open to /ws/.
 * A page marks its live part with [data-live]: "home", "group:<id>", "profile:<user id>"
 * (feeds: templates/feeds/partials/feed.html) or "post:<id>" (templates/feeds/post_detail.html).
 * This script:
 * - feeds: counts new posts in a polite live region ("3 new posts") and inserts them only
 *   when the reader presses the button, so nothing moves under their eyes;
 * - everywhere: updates reaction and comment counts, edits and deletions in place;
 * - the post page: appends new comments and replies at the end of their thread;
 * - reconnects with exponential backoff and jitter, and after every (re)connection, and when
 *   the server says so ("sync"), catches up by reading the feed since its cursor (the post
 *   page re-reads itself), so nothing posted meanwhile is missed.
 * The server sends each event as JSON: {kind, op, id, cursor, html, ...} (docs/events.md).
 * Kinds this script does not handle are handed to other scripts as a DOM event
 * `agora:<kind>` (detail = the message), e.g. `agora:notifications` for the bell; after every
 * (re)connection and "sync" it fires `agora:sync`, for them to catch up too.
 */
(function () {
  "use strict";

  var me = document.body.getAttribute("data-live-user");
  if (!me || !window.WebSocket || !window.fetch || !window.DOMParser) return;
  var root = document.querySelector("[data-live]") || document.body;

  var key = root.getAttribute("data-live") || ""; // "": a page without a feed
  var isPost = key.indexOf("post:") === 0;
  var isFeed = key !== "" && !isPost;
  var cursor = root.getAttribute("data-live-cursor");
  var fragmentUrl = root.getAttribute("data-live-url");
  var list = root.querySelector("[data-live-list]");
  var showButton = root.querySelector("[data-live-show]");
  var pending = []; // posts received and not shown yet: {id, html}
  var socket = null;
  var attempt = 0;
  var stopped = false;
  var catchingUp = false;
  var catchUpAgain = false;
  var MAX_DELAY = 30000;

  // --- helpers -------------------------------------------------------------------------------

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input && input.value) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content;
  }

  // A fragment rendered once for every reader lacks what is personal: fill it in.
  function prepare(node) {
    var token = csrfToken();
    node.querySelectorAll("form[method=post]").forEach(function (form) {
      if (!form.querySelector("input[name=csrfmiddlewaretoken]")) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "csrfmiddlewaretoken";
        input.value = token;
        form.insertBefore(input, form.firstChild);
      }
      var next = form.querySelector("input[name=next]");
      if (next) next.value = location.pathname + location.search;
    });
    node.querySelectorAll("[data-live-owner]").forEach(function (element) {
      if (element.getAttribute("data-live-owner") === me) element.hidden = false;
    });
    return node;
  }

  function postCard(id) {
    return document.getElementById("post-" + id);
  }

  function postIdsOnPage() {
    var ids = [];
    document.querySelectorAll("article.post-card[id^='post-']").forEach(function (card) {
      var id = parseInt(card.id.slice(5), 10);
      if (id) ids.push(id);
    });
    return ids;
  }

  function sendWatch() {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ watch: postIdsOnPage().slice(0, 500) }));
    }
  }

  // --- new posts: announced, inserted on request ------------------------------------------

  function remember(id, html) {
    if (!isFeed || postCard(id)) return;
    for (var i = 0; i < pending.length; i++) if (pending[i].id === id) return;
    pending.push({ id: id, html: html });
    updateNotice();
  }

  function updateNotice() {
    var n = pending.length;
    if (!showButton) return;
    if (!n) {
      showButton.hidden = true;
      showButton.textContent = "";
      return;
    }
    showButton.textContent =
      n === 1
        ? root.getAttribute("data-live-one")
        : root.getAttribute("data-live-many").replace("{n}", String(n));
    showButton.hidden = false;
  }

  function showPending() {
    if (!pending.length || !list) return;
    pending.sort(function (a, b) {
      return b.id - a.id;
    });
    var batch = document.createDocumentFragment();
    var first = null;
    pending.forEach(function (item) {
      if (postCard(item.id)) return;
      var li = document.createElement("li");
      li.className = "feed__item";
      li.appendChild(prepare(parse(item.html)));
      batch.appendChild(li);
      if (!first) first = li.querySelector(".post-card");
    });
    list.insertBefore(batch, list.firstChild);
    list.hidden = false;
    var empty = root.querySelector("[data-live-empty]");
    if (empty) empty.remove();
    pending = [];
    updateNotice();
    if (first) {
      first.setAttribute("tabindex", "-1");
      first.focus();
    }
    sendWatch();
  }

  // --- changes to what is on the page, in place --------------------------------------------

  function onPost(data) {
    if (data.op === "add") {
      remember(data.id, data.html);
      return;
    }
    if (data.op === "delete") {
      pending = pending.filter(function (item) {
        return item.id !== data.id;
      });
      updateNotice();
    }
    var card = postCard(data.id);
    if (!card) return;
    if (data.op === "update") {
      var fresh = parse(data.html).querySelector(".post-card");
      if (!fresh) return;
      ["post-card__body", "post-card__edited"].forEach(function (name) {
        var now = card.querySelector("." + name);
        var next = fresh.querySelector("." + name);
        if (now && next) now.innerHTML = next.innerHTML;
        else if (!now && next) {
          var time = card.querySelector(".post-card__time");
          if (time) time.parentNode.appendChild(next);
        }
      });
    } else if (data.op === "delete") {
      var body = card.querySelector(".post-card__body");
      if (body) body.textContent = root.getAttribute("data-live-deleted") || "";
      card.classList.add("post-card--deleted");
      card.querySelectorAll(".post-card__footer, .attachments").forEach(function (part) {
        part.remove();
      });
    }
  }

  function onReactions(data) {
    var block = document.getElementById("reactions-" + data.id);
    if (!block) return;
    block.querySelectorAll("form[data-reaction-form]").forEach(function (form) {
      var kind = form.querySelector("input[name=kind]").value;
      var n = data.counts[kind] || 0;
      var button = form.querySelector("button");
      var count = button.querySelector(".reaction__count");
      if (n) {
        if (!count) {
          count = document.createElement("span");
          count.className = "reaction__count";
          button.appendChild(count);
        }
        count.textContent = String(n);
      } else if (count) {
        count.remove();
      }
    });
  }

  function commentList() {
    var section = document.getElementById("comments");
    if (!section) return null;
    var found = section.querySelector("ol.comment-list");
    if (found) return found;
    var created = document.createElement("ol");
    created.className = "comment-list";
    created.setAttribute("role", "list");
    var empty = section.querySelector("[data-live-empty]");
    var heading = section.querySelector("h2");
    if (empty) empty.replaceWith(created);
    else if (heading) heading.after(created);
    else section.prepend(created);
    return created;
  }

  function insertComment(commentId, parentId, node) {
    if (document.getElementById("comment-" + commentId)) return;
    if (!parentId) {
      var top = commentList();
      if (top) top.appendChild(node);
      return;
    }
    var thread = document.querySelector("[data-comment-thread='" + parentId + "']");
    if (!thread) return;
    var replies = thread.querySelector(".comment-list--replies");
    if (!replies) {
      replies = document.createElement("ol");
      replies.className = "comment-list comment-list--replies";
      replies.setAttribute("role", "list");
      thread.insertBefore(replies, thread.querySelector("details.reply"));
    }
    replies.appendChild(node);
  }

  function onComment(data) {
    var card = postCard(data.post);
    if (card) {
      var link = card.querySelector("[data-comment-count]");
      if (link) link.textContent = data.count_label;
    }
    if (key !== "post:" + data.post) return;
    var heading = document.querySelector("#comments [data-comment-count]");
    if (heading) heading.textContent = data.count_label;
    if (data.op === "add") {
      insertComment(data.id, data.parent, prepare(parse(data.html)));
    } else if (data.op === "delete") {
      var comment = document.getElementById("comment-" + data.id);
      var item = comment && comment.closest("li");
      if (item) item.remove();
    }
  }

  // --- catching up -----------------------------------------------------------------------------

  function catchUpFeed() {
    if (catchingUp) {
      catchUpAgain = true;
      return;
    }
    catchingUp = true;
    var url =
      fragmentUrl + "?feed=" + encodeURIComponent(key) + "&since=" + encodeURIComponent(cursor);
    fetch(url, { credentials: "same-origin", headers: { "X-Agora-Partial": "feed" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var page = parse(html).querySelector("[data-live-page]");
        if (!page) throw new Error("unexpected answer");
        page.querySelectorAll("article.post-card[id^='post-']").forEach(function (card) {
          remember(parseInt(card.id.slice(5), 10), card.outerHTML);
        });
        var newest = page.getAttribute("data-newest-cursor");
        if (newest) cursor = newest;
        catchingUp = false;
        if (page.getAttribute("data-has-more") === "true" || catchUpAgain) {
          catchUpAgain = false;
          catchUpFeed();
        }
      })
      .catch(function () {
        catchingUp = false;
      });
  }

  function catchUpPost() {
    fetch(location.pathname, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var fetched = new DOMParser().parseFromString(html, "text/html");
        fetched.querySelectorAll("#comments article.comment").forEach(function (comment) {
          if (document.getElementById(comment.id)) return;
          var item = comment.closest("li");
          var thread = item && item.parentNode.closest("[data-comment-thread]");
          var parentId = thread ? thread.getAttribute("data-comment-thread") : null;
          if (!item) return;
          insertComment(comment.id.slice(8), parentId, document.importNode(item, true));
        });
        var heading = fetched.querySelector("#comments [data-comment-count]");
        var mine = document.querySelector("#comments [data-comment-count]");
        if (heading && mine) mine.textContent = heading.textContent;
        fetched.querySelectorAll("[data-reactions]").forEach(function (block) {
          var current = document.getElementById(block.id);
          if (current) current.replaceWith(document.importNode(block, true));
        });
      })
      .catch(function () {});
  }

  function catchUp() {
    if (isFeed) catchUpFeed();
    else if (isPost) catchUpPost();
    document.dispatchEvent(new CustomEvent("agora:sync"));
  }

  // --- the socket ------------------------------------------------------------------------------

  function onMessage(event) {
    var data;
    try {
      data = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (data.kind === "ready") {
      attempt = 0;
      root.setAttribute("data-live-state", "connected");
      document.querySelectorAll("[data-new-posts]").forEach(function (link) {
        link.hidden = true; // the no-script "Show newer posts" link: live does it now
      });
      sendWatch();
      catchUp();
    } else if (data.kind === "sync") {
      catchUp();
    } else if (data.kind === "post") {
      onPost(data);
    } else if (data.kind === "comment") {
      onComment(data);
    } else if (data.kind === "reactions") {
      onReactions(data);
    } else if (typeof data.kind === "string" && /^[a-z]+$/.test(data.kind)) {
      document.dispatchEvent(new CustomEvent("agora:" + data.kind, { detail: data }));
    }
  }

  function connect() {
    if (stopped || socket) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var url =
      scheme + location.host + "/ws/?lang=" + encodeURIComponent(document.documentElement.lang || "") +
      (key ? "&feed=" + encodeURIComponent(key) : "");
    try {
      socket = new WebSocket(url);
    } catch (error) {
      socket = null;
      reconnectLater();
      return;
    }
    socket.onmessage = onMessage;
    socket.onclose = function (event) {
      socket = null;
      root.setAttribute("data-live-state", "disconnected");
      if (event.code === 4403) {
        stopped = true; // signed out or deactivated: reloading the page will say so
        return;
      }
      reconnectLater();
    };
  }

  // Exponential backoff with jitter: 0.5-1 s, 1-2 s, 2-4 s, ... up to 15-30 s.
  function reconnectLater() {
    attempt += 1;
    var ceiling = Math.min(MAX_DELAY, 1000 * Math.pow(2, attempt - 1));
    setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
  }

  if (showButton) showButton.addEventListener("click", showPending);
  window.addEventListener("online", function () {
    if (!socket && !stopped) {
      attempt = 0;
      connect();
    }
  });
  connect();
})();
