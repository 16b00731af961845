// The hall board (and the district overview's cards) refreshes itself: the server's event stream says when the
// hall changed, the board's fragment is fetched again (a change during a fetch fetches once more after it). A poll
// every 30 s covers a stream that a proxy cut.
(function () {
  "use strict";
  function liveBoard(board) {
    var busy = false, again = false;
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      again = false;
      fetch(board.dataset.fragment, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.redirected || response.status === 401 || response.status === 403) {
            window.location.reload(); // the login ended
            return null;
          }
          return response.ok ? response.text() : null;
        })
        .then(function (html) { if (html !== null) board.innerHTML = html; })
        .catch(function () { /* the next event or poll tries again */ })
        .then(function () { busy = false; if (again) refresh(); });
    }
    if (window.EventSource) {
      var events = new EventSource(board.dataset.live);
      events.onmessage = refresh;
    }
    window.setInterval(refresh, 30000);
  }
  // The confirmation step of 印发: the 文号's year follows the date entered (a number is per year of issue).
  function docNumberYear(form) {
    var date = form.querySelector("input[name='date']");
    var year = form.querySelector(".docno-year");
    if (!date || !year) return;
    date.addEventListener("change", function () {
      if (/^\d{4}-/.test(date.value)) year.textContent = date.value.slice(0, 4);
    });
  }
  // The review queue (违纪审核) by keyboard, as the page lists: J/↓ and K/↑ move a cursor over the rows, X ticks
  // the cursor's row, A the whole page, R marks the ticked rows reviewed (the cursor's row when none is ticked),
  // Enter opens the cursor's row, Esc clears the ticks. On an incident's page: J the next, K the previous,
  // R 标记已审核, Esc back to the list. Keys typed into a field are the field's.
  function typing(event) {
    var t = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || !t || t.isContentEditable) return true;
    if (t.tagName === "INPUT") return t.type !== "checkbox";
    return /^(SELECT|TEXTAREA|VIDEO)$/.test(t.tagName) ||
      (event.key === "Enter" && /^(A|BUTTON|SUMMARY)$/.test(t.tagName));
  }
  function reviewQueue(form) {
    var rows = Array.prototype.slice.call(form.querySelectorAll("tbody tr[data-href]"));
    var all = form.querySelector("[data-all]");
    var count = form.querySelector("[data-count]");
    var at = -1;
    function box(row) { return row.querySelector("input[name='incident']"); }
    function ticked() { return rows.filter(function (r) { var b = box(r); return b && b.checked; }); }
    function update() {
      var boxes = rows.filter(box).length, picked = ticked().length;
      rows.forEach(function (r) { var b = box(r); r.classList.toggle("picked", !!(b && b.checked)); });
      if (count) count.textContent = picked;
      if (all) { all.checked = boxes > 0 && picked === boxes; all.indeterminate = picked > 0 && picked < boxes; }
    }
    function move(to) {
      if (!rows.length) return;
      at = Math.max(0, Math.min(rows.length - 1, to));
      rows.forEach(function (r, i) { r.classList.toggle("cursor", i === at); });
      rows[at].scrollIntoView({ block: "nearest" });
    }
    function mark() {
      if (!form.querySelector("input[name='csrf']")) return;
      if (!ticked().length && at >= 0 && box(rows[at])) box(rows[at]).checked = true;
      if (!ticked().length) return;
      update();
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    }
    form.addEventListener("change", function (event) {
      if (event.target === all) rows.forEach(function (r) { var b = box(r); if (b) b.checked = all.checked; });
      update();
    });
    form.addEventListener("submit", function (event) { if (!ticked().length) event.preventDefault(); });
    document.addEventListener("keydown", function (event) {
      if (typing(event)) return;
      var b;
      switch (event.key) {
        case "j": case "J": case "ArrowDown": move(at + 1); break;
        case "k": case "K": case "ArrowUp": move(at < 0 ? 0 : at - 1); break;
        case "x": case "X":
          if (at < 0) move(0);
          b = rows.length ? box(rows[at]) : null;
          if (b) { b.checked = !b.checked; update(); }
          break;
        case "a": case "A":
          if (all) { all.checked = !all.checked; all.dispatchEvent(new Event("change", { bubbles: true })); }
          break;
        case "r": case "R": mark(); break;
        case "Enter": if (at < 0) return; window.location.href = rows[at].dataset.href; break;
        case "Escape": rows.forEach(function (r) { var c = box(r); if (c) c.checked = false; }); update(); break;
        default: return;
      }
      event.preventDefault();
    });
    update();
  }
  function incidentKeys(nav) {
    document.addEventListener("keydown", function (event) {
      if (typing(event)) return;
      var target = { j: "older", k: "newer", escape: "back" }[event.key.toLowerCase()];
      var link = target && nav.querySelector("a[data-key='" + target + "']");
      var review = document.querySelector("button[data-key='review']");
      if (link) window.location.href = link.href;
      else if (event.key.toLowerCase() === "r" && review) review.click();
      else return;
      event.preventDefault();
    });
  }
  // Period pickers (在岗率, 通报): only the fields of the span or kind chosen are shown and sent (a date for a day or
  // a week, a month for a month); without the script all are shown and the server takes the one of the kind.
  function periodSwitch(form) {
    var select = form.querySelector("select[data-switch]");
    function apply() {
      Array.prototype.forEach.call(form.querySelectorAll("[data-when]"), function (part) {
        var on = part.getAttribute("data-when").split(" ").indexOf(select.value) >= 0;
        part.hidden = !on;
        Array.prototype.forEach.call(part.querySelectorAll("input"), function (field) { field.disabled = !on; });
      });
    }
    select.addEventListener("change", apply);
    apply();
  }
  // A camera's picture that cannot be read (the server answers why, in words, but an <img> shows only a broken
  // icon): the picture's place says so instead.
  function unreadablePicture(img) {
    function say() {
      var note = document.createElement("p");
      note.className = "muted picture-missing";
      note.textContent = "暂时读不到这台摄像头的画面（摄像头离线或画面不可读），请稍后刷新";
      img.replaceWith(note);
    }
    img.addEventListener("error", say);
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form.filters"), function (form) {
      if (form.querySelector("select[data-switch]")) periodSwitch(form);
    });
    // The hall board, and the district overview's cards (区域总览), refresh themselves the same way.
    Array.prototype.forEach.call(document.querySelectorAll("#board[data-live], #district[data-live]"), liveBoard);
    var issue = document.querySelector("form.issue");
    if (issue) docNumberYear(issue);
    var queue = document.querySelector("form[data-queue]");
    if (queue) reviewQueue(queue);
    var incident = document.querySelector("nav[data-incident]");
    if (incident) incidentKeys(incident);
    Array.prototype.forEach.call(document.querySelectorAll("img.zones"), unreadablePicture);
  });
})();
