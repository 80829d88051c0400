// The quality report panel (api/templates/_quality.html): a failing figure's "look at" button
// moves the panel's video player to that moment and plays it.  Its own file so the panel stays
// one include; no build step, like app.js.
(() => {
  "use strict";
  document.querySelectorAll("#quality-report").forEach((panel) => {
    const player = document.getElementById(panel.dataset.player || "");
    if (!player) return;
    panel.querySelectorAll("button.seek").forEach((button) => button.addEventListener("click", () => {
      const at = Number(button.dataset.seek);
      const go = () => {
        player.currentTime = at;
        player.play().catch(() => {}); // a browser may refuse to autoplay; the position still moved
      };
      // Before the metadata has loaded a seek is dropped: wait for it, and ask for it.
      if (player.readyState >= 1) go();
      else { player.addEventListener("loadedmetadata", go, { once: true }); player.load(); }
      player.scrollIntoView({ block: "nearest", behavior: "smooth" });
      panel.querySelectorAll(".figure.looking").forEach((f) => f.classList.remove("looking"));
      button.closest(".figure")?.classList.add("looking");
    }));
  });
})();
