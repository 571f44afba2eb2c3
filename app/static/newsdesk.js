// Clicking a citation marker [n] in an answer brings source n into view in the sources panel.
// One delegated listener (capture phase), so it works for messages rendered at any time.
(function () {
  function reveal(id) {
    var card = document.getElementById(id);
    if (!card) return;
    var turn = card.closest("details");
    if (turn && !turn.open) turn.open = true;
    card.scrollIntoView({ behavior: "smooth", block: "center" });
    card.classList.remove("nd-flash");
    void card.offsetWidth; // restart the animation
    card.classList.add("nd-flash");
  }
  document.addEventListener("click", function (event) {
    var target = event.target;
    var anchor = target && target.closest ? target.closest('a[href^="#src-"]') : null;
    if (!anchor) return;
    event.preventDefault();
    event.stopPropagation();
    reveal(anchor.getAttribute("href").slice(1));
  }, true);
})();
