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

// Gradio labels each chat message "bot's message: " + its raw content, which for our answers is HTML
// (citation links). Screen readers should hear what the page shows: the label is rewritten from the
// message's visible text whenever a message is added or changes.
(function () {
  var PREFIX = /^(.*?'s message: )/;
  function relabel(root) {
    var nodes = root.querySelectorAll ? root.querySelectorAll("#nd-chat [aria-label*=\"'s message: \"]") : [];
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var label = node.getAttribute("aria-label") || "";
      var prefix = label.match(PREFIX);
      if (!prefix) continue;
      var text = prefix[1] + (node.innerText || node.textContent || "").replace(/\s+/g, " ").trim();
      if (text !== label) node.setAttribute("aria-label", text); // unchanged: no new mutation, no loop
    }
  }
  var pending = false;
  function soon() { // at most once a frame, however many tokens a streaming answer adds
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () { pending = false; relabel(document); });
  }
  function start() {
    relabel(document);
    new MutationObserver(soon).observe(document.body, {
      subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ["aria-label"],
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
