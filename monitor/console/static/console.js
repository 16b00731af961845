// The hall board refreshes itself: the server's event stream says when the hall changed, the board's
// fragment is fetched again. A poll every 30 s covers a stream that a proxy cut.
(function () {
  "use strict";
  function liveBoard(board) {
    var busy = false;
    function refresh() {
      if (busy) return;
      busy = true;
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
        .then(function () { busy = false; });
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
  document.addEventListener("DOMContentLoaded", function () {
    var board = document.getElementById("board");
    if (board && board.dataset.live) liveBoard(board);
    var issue = document.querySelector("form.issue");
    if (issue) docNumberYear(issue);
  });
})();
