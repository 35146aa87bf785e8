// Arkiter Live for Lever: console enhancements. Every page works without
// this file; it only turns the one-per-line "ATS settings" textarea into a
// tag list (type a title, Enter adds it, × removes it; the textarea stays
// the form's field, so the server sees the same thing either way),
// reloads the Health page every 30 seconds while it is visible, and keeps
// Lever · Live's setup checklist current (it fetches the page again and
// swaps in the new checklist only, so nothing typed in a form is lost).
(function () {
  "use strict";

  function lines(textarea) {
    return textarea.value.split("\n").map(function (s) { return s.trim(); })
      .filter(function (s) { return s.length > 0; });
  }

  function enhance(textarea) {
    var box = document.createElement("div");
    box.className = "tag-list";
    var list = document.createElement("ul");
    list.className = "tags";
    list.setAttribute("aria-live", "polite");
    var input = document.createElement("input");
    input.type = "text";
    input.className = "tag-input";
    input.id = textarea.id + "-input";
    // What one entry is ("a Lever job title or posting id", "a Lever
    // posting tag", ...), from the textarea's data-what.
    var what = textarea.getAttribute("data-what") || "a Lever job title or posting id";
    input.setAttribute("aria-label", "Add " + what + ", then press Enter");
    input.placeholder = "Type " + what + ", press Enter";

    function render() {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      lines(textarea).forEach(function (value, i) {
        var li = document.createElement("li");
        li.className = "tag";
        var text = document.createElement("span");
        text.textContent = value;
        var remove = document.createElement("button");
        remove.type = "button";
        remove.textContent = "\u00d7";
        remove.setAttribute("aria-label", "Remove " + value);
        remove.addEventListener("click", function () {
          var all = lines(textarea);
          all.splice(i, 1);
          textarea.value = all.join("\n");
          render();
          input.focus();
        });
        li.appendChild(text);
        li.appendChild(remove);
        list.appendChild(li);
      });
    }

    function add() {
      var value = input.value.trim();
      if (!value) { return; }
      var all = lines(textarea);
      all.push(value);
      textarea.value = all.join("\n");
      input.value = "";
      render();
    }

    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") {
        e.preventDefault();
        add();
      }
    });
    // Text typed but not yet added still counts when the form is sent.
    var form = textarea.form;
    if (form) { form.addEventListener("submit", add); }

    textarea.hidden = true;
    textarea.parentNode.insertBefore(box, textarea);
    box.appendChild(list);
    box.appendChild(input);
    var label = document.querySelector("label[for='" + textarea.id + "']");
    if (label) { label.setAttribute("for", input.id); }
    render();
  }

  // Health refreshes itself while it is open and visible.
  function autoRefresh(el) {
    var seconds = parseInt(el.getAttribute("data-refresh-seconds"), 10) || 30;
    setInterval(function () {
      if (document.visibilityState === "visible") { window.location.reload(); }
    }, seconds * 1000);
  }

  function liveFragment(el) {
    var seconds = parseInt(el.getAttribute("data-live-seconds"), 10) || 3;
    setInterval(function () {
      if (document.visibilityState !== "visible") { return; }
      fetch(window.location.pathname, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(el.id);
          var now = document.getElementById(el.id);
          if (fresh && now) { now.replaceWith(fresh); }
        })
        .catch(function () { /* the next tick tries again */ });
    }, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var areas = document.querySelectorAll("textarea[data-tag-list]");
    for (var i = 0; i < areas.length; i++) { enhance(areas[i]); }
    var refresh = document.querySelector("[data-refresh-seconds]");
    if (refresh) { autoRefresh(refresh); }
    var live = document.querySelectorAll("[data-live-seconds]");
    for (var j = 0; j < live.length; j++) { liveFragment(live[j]); }
  });
})();
