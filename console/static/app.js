// Firebreak console: keyboard shortcuts, confirmations and partial page
// updates. No inline script anywhere: this file is the console's only
// JavaScript, served from 'self' under a strict Content-Security-Policy.
// Everything here enhances pages that already work without it.
"use strict";

(function () {
  var csrf = function () {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  };

  // Keyboard shortcuts: "g" then a letter follows a nav link with that
  // data-key; "/" focuses the search field; "?" shows the help.
  var pendingG = false;
  var typing = function (el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  };
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(document.activeElement)) {
      return;
    }
    if (pendingG) {
      pendingG = false;
      var link = document.querySelector('nav.main a[data-key="' + e.key + '"]');
      if (link) {
        e.preventDefault();
        window.location.assign(link.getAttribute("href"));
      }
      return;
    }
    switch (e.key) {
      case "g":
        pendingG = true;
        window.setTimeout(function () { pendingG = false; }, 1500);
        break;
      case "/":
        var field = document.querySelector("[data-search]") || document.querySelector("main input:not([type=hidden])");
        if (field) {
          e.preventDefault();
          field.focus();
        }
        break;
      case "?":
        var help = document.getElementById("help");
        if (help) {
          help.hidden = !help.hidden;
        }
        break;
      case "v": case "n": case "e": case "j": case "c":
        // The review desk: a button with data-shortcut decides, claims or
        // takes the next item.
        var button = document.querySelector('[data-shortcut="' + e.key + '"]');
        if (button) {
          e.preventDefault();
          button.click();
        }
        break;
      case "Escape":
        var h = document.getElementById("help");
        if (h) {
          h.hidden = true;
        }
        break;
    }
  });

  // Confirmations: a form with data-confirm asks before it submits.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      e.preventDefault();
      return;
    }
    // Partial updates: a GET form with data-partial="#id" fetches its
    // page and replaces only that element, keeping the URL in step.
    var target = form.getAttribute("data-partial");
    if (!target || (form.method || "get").toLowerCase() !== "get" || !window.fetch) {
      return;
    }
    e.preventDefault();
    var params = new URLSearchParams(new FormData(form));
    var url = form.getAttribute("action") + "?" + params.toString();
    refresh(url, target).then(function (ok) {
      if (ok) {
        window.history.replaceState(null, "", url);
      } else {
        window.location.assign(url);
      }
    });
  });

  // refresh loads url and swaps the element matching selector for the
  // one in the response; it reports whether it could.
  function refresh(url, selector) {
    return window.fetch(url, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrf() }
    }).then(function (resp) {
      if (!resp.ok && resp.status !== 400) {
        return false;
      }
      return resp.text().then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector(selector);
        var old = document.querySelector(selector);
        if (!fresh || !old) {
          return false;
        }
        old.replaceWith(document.importNode(fresh, true));
        return true;
      });
    }).catch(function () { return false; });
  }

  // Links with data-refresh="#id" reload that part of the page in place
  // (e.g. the next page of audit results).
  document.addEventListener("click", function (e) {
    var a = e.target.closest ? e.target.closest("a[data-refresh]") : null;
    if (!a) {
      return;
    }
    e.preventDefault();
    var href = a.getAttribute("href");
    refresh(href, a.getAttribute("data-refresh")).then(function (ok) {
      if (!ok) {
        window.location.assign(href);
      }
    });
  });
})();
